"""Convert an official StridedTransformer-Pose3D checkpoint (a plain ``state_dict`` .pth) into
liftpose's ``model.safetensors`` + ``config.json`` (written by :func:`liftpose.serialization.save_pretrained`).

Key mapping: the official q/k/v projections (``self_attn.linears.0-2``) are concatenated into
one ``attn.qkv``, the per-layer STE positional embeddings ``pos_embedding_1..n`` are stacked into
``ste_pos``, 1x1 convolutions become linear weights, and the final encoder norms (which the
official forward pass never applies) and the BatchNorm step counters are dropped.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .config import ModelConfig
from .errors import WeightsError
from .model import StridedTransformer
from .serialization import describe_keys, save_pretrained, state_dict_problems

#: Official keys that the official forward pass never uses: accepted and dropped.
_UNUSED_PREFIXES = ("Transformer.model.norm.", "Transformer_reduce.model.norm.")
_UNUSED_SUFFIX = "num_batches_tracked"


class CheckpointError(WeightsError):
    """An official checkpoint that cannot be read or does not match the official layout."""


def read_official(checkpoint: str | Path) -> dict[str, torch.Tensor]:
    """The state_dict of an official ``.pth`` (loaded with ``weights_only=True``), without any ``module.`` prefix."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # unpickling arbitrary bytes fails with many exception types
        raise CheckpointError(
            f"cannot read {checkpoint} as a PyTorch checkpoint ({type(e).__name__}: {e}); "
            "pass an official .pth state_dict"
        ) from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{checkpoint} holds a {type(state).__name__}, not a state_dict of tensors; "
            "pass an official .pth state_dict"
        )
    return {k.removeprefix("module."): v for k, v in state.items()}


def infer_frames(state: dict[str, torch.Tensor]) -> int:
    """Receptive field T of an official state_dict (as returned by :func:`read_official`), read from
    its positional embedding (1, T, 256)."""
    if "Transformer.pos_embedding" in state:
        return int(state["Transformer.pos_embedding"].shape[1])
    if any(k.startswith("post_refine.") for k in state):
        raise CheckpointError(
            "this is the official optional refine module (post_refine.* keys), not the lifting network, and liftpose "
            "has no refine stage; convert the Strided Transformer checkpoint (Transformer.* keys) instead"
        )
    if "vte_pos" in state:
        raise CheckpointError(
            "this state_dict is already in liftpose's layout; load it with liftpose.serialization.load_model instead"
        )
    raise CheckpointError(
        "no 'Transformer.pos_embedding' key, so this is not an official Strided Transformer checkpoint; "
        "pass the lifting network's state_dict"
    )


def _official_names(cfg: ModelConfig) -> dict[str, tuple[str, ...]]:
    """liftpose key -> the official keys it is made of (several are concatenated along dim 0)."""
    names: dict[str, tuple[str, ...]] = {
        "embed.weight": ("encoder.0.weight",),
        "embed.bias": ("encoder.0.bias",),
        "vte_pos": ("Transformer.pos_embedding",),
        "ste_pos": tuple(f"Transformer_reduce.model.pos_embedding_{i + 1}" for i in range(cfg.ste_layers)),
    }
    for off, ours in (("encoder.1", "embed_norm"), ("fcn_1.0", "vte_head.norm"), ("fcn.0", "ste_head.norm")):
        names.update({f"{ours}.{p}": (f"{off}.{p}",) for p in ("weight", "bias", "running_mean", "running_var")})
    for off, ours in (("fcn_1.1", "vte_head.linear"), ("fcn.1", "ste_head.linear")):
        names.update({f"{ours}.{p}": (f"{off}.{p}",) for p in ("weight", "bias")})
    encoders = (("Transformer", "vte", cfg.vte_layers, "fc2"), ("Transformer_reduce", "ste", cfg.ste_layers, "conv"))
    for encoder, ours, n_layers, second in encoders:
        for i in range(n_layers):
            off, me = f"{encoder}.model.layers.{i}", f"{ours}.{i}"
            for s in (0, 1):
                names[f"{me}.norm{s + 1}.weight"] = (f"{off}.sublayer.{s}.norm.a_2",)
                names[f"{me}.norm{s + 1}.bias"] = (f"{off}.sublayer.{s}.norm.b_2",)
            for p in ("weight", "bias"):
                names[f"{me}.attn.qkv.{p}"] = tuple(f"{off}.self_attn.linears.{j}.{p}" for j in range(3))
                names[f"{me}.attn.proj.{p}"] = (f"{off}.self_attn.linears.3.{p}",)
                names[f"{me}.ffn.fc1.{p}"] = (f"{off}.feed_forward.w_1.{p}",)
                names[f"{me}.ffn.{second}.{p}"] = (f"{off}.feed_forward.w_2.{p}",)
    return names


def official_model(state: dict[str, torch.Tensor], cfg: ModelConfig) -> StridedTransformer:
    """A :class:`StridedTransformer` (eval mode) holding the weights of an official state_dict
    (as returned by :func:`read_official`).

    Raises :class:`CheckpointError` naming every missing, unexpected or mis-shaped key.
    """
    names = _official_names(cfg)
    expected = {k for keys in names.values() for k in keys}
    present = {k for k in state if not k.startswith(_UNUSED_PREFIXES) and not k.endswith(_UNUSED_SUFFIX)}
    missing, unexpected = sorted(expected - present), sorted(present - expected)
    layout = f"the official Strided Transformer layout for frames={cfg.frames}, strides={cfg.strides}"
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint does not match {layout}: "
            f"{describe_keys({'missing keys': missing, 'unexpected keys': unexpected})}; "
            "check the strides or pass an unmodified official checkpoint"
        )

    model = StridedTransformer(cfg)
    want = model.state_dict()
    tensors = {}
    for ours, keys in names.items():
        t = torch.cat([state[k] for k in keys]) if len(keys) > 1 else state[keys[0]]
        if t.dim() == 3 and want[ours].dim() == 2 and t.shape[-1] == 1:  # 1x1 Conv1d -> Linear
            t = t[..., 0]
        tensors[ours] = t
    problems = state_dict_problems(model, tensors, origin={ours: ", ".join(keys) for ours, keys in names.items()})
    if problems:
        raise CheckpointError(f"checkpoint does not match {layout}: {problems}; pass an unmodified official checkpoint")
    model.load_state_dict(tensors, strict=True)  # only num_batches_tracked is not loaded
    return model.eval()


def convert_official(
    checkpoint: str | Path,
    out_dir: str | Path,
    frames: int | None = None,
    strides: tuple[int, ...] | None = None,
) -> Path:
    """Convert an official ``.pth`` state_dict into ``out_dir/model.safetensors`` + ``config.json``.

    ``frames`` (optional) must equal the length of the checkpoint's positional embedding;
    ``strides`` defaults to :data:`liftpose.config.DEFAULT_STRIDES`. Returns ``out_dir``.
    """
    state = read_official(checkpoint)
    t = infer_frames(state)
    if frames is not None and frames != t:
        raise CheckpointError(
            f"frames={frames} was requested but the checkpoint's positional embedding has {t} frames; "
            f"pass {t} or omit it"
        )
    model = official_model(state, ModelConfig.for_frames(t, strides))
    return save_pretrained(model, out_dir, metadata={"source": Path(checkpoint).name})
