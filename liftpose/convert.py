"""Convert an official StridedTransformer-Pose3D checkpoint (a plain ``state_dict`` .pth) into
liftpose's ``model.safetensors`` + ``config.json`` (written by :func:`liftpose.serialization.save_pretrained`).

Key mapping (the table is :func:`liftpose.model.official_keys`, next to the modules it names): the
official q/k/v projections (``self_attn.linears.0-2``) are concatenated into
one ``attn.qkv``, the per-layer STE positional embeddings ``pos_embedding_1..n`` are stacked into
``ste_pos``, 1x1 convolutions become linear weights, and the final encoder norms (which the
official forward pass never applies) and the BatchNorm step counters are dropped.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .config import ModelConfig
from .errors import WeightsError
from .model import StridedTransformer, official_keys
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


def official_model(state: dict[str, torch.Tensor], cfg: ModelConfig) -> StridedTransformer:
    """A :class:`StridedTransformer` (eval mode) holding the weights of an official state_dict
    (as returned by :func:`read_official`).

    Raises :class:`CheckpointError` naming every missing, unexpected or mis-shaped key.
    """
    names = official_keys(cfg)
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
