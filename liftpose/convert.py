"""Convert an official StridedTransformer-Pose3D checkpoint to liftpose's safetensors layout."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from .config import ModelConfig

#: Official keys that the official forward pass never uses (final encoder norms, BN counters).
_UNUSED = ("Transformer.model.norm.", "Transformer_reduce.model.norm.", "num_batches_tracked")


class CheckpointError(ValueError):
    """An official checkpoint that does not match the expected layout."""


def _layer_map(off: str, ours: str, strided: bool) -> dict[str, str]:
    m = {
        f"{off}.sublayer.0.norm.a_2": f"{ours}.norm1.weight",
        f"{off}.sublayer.0.norm.b_2": f"{ours}.norm1.bias",
        f"{off}.sublayer.1.norm.a_2": f"{ours}.norm2.weight",
        f"{off}.sublayer.1.norm.b_2": f"{ours}.norm2.bias",
        f"{off}.self_attn.linears.3.weight": f"{ours}.attn.proj.weight",
        f"{off}.self_attn.linears.3.bias": f"{ours}.attn.proj.bias",
        f"{off}.feed_forward.w_1.weight": f"{ours}.ffn.fc1.weight",
        f"{off}.feed_forward.w_1.bias": f"{ours}.ffn.fc1.bias",
        f"{off}.feed_forward.w_2.weight": f"{ours}.ffn.{'conv' if strided else 'fc2'}.weight",
        f"{off}.feed_forward.w_2.bias": f"{ours}.ffn.{'conv' if strided else 'fc2'}.bias",
    }
    return m


def _head_map(off: str, ours: str) -> dict[str, str]:
    m = {f"{off}.0.{p}": f"{ours}.norm.{p}" for p in ("weight", "bias", "running_mean", "running_var")}
    m.update({f"{off}.1.weight": f"{ours}.linear.weight", f"{off}.1.bias": f"{ours}.linear.bias"})
    return m


def official_to_liftpose(state: dict[str, torch.Tensor], cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Map an official ``state_dict`` onto liftpose's parameter names.

    Raises :class:`CheckpointError` naming every missing, unexpected or mis-shaped key.
    """
    from .model import StridedTransformer

    state = {k.removeprefix("module."): v for k, v in state.items()}
    simple = {
        "encoder.0.weight": "embed.weight",
        "encoder.0.bias": "embed.bias",
        **{f"encoder.1.{p}": f"embed_norm.{p}" for p in ("weight", "bias", "running_mean", "running_var")},
        **_head_map("fcn_1", "vte_head"),
        **_head_map("fcn", "ste_head"),
    }
    qkv: dict[str, tuple[str, str]] = {}
    for i in range(cfg.vte_layers):
        simple.update(_layer_map(f"Transformer.model.layers.{i}", f"vte.{i}", strided=False))
        qkv[f"vte.{i}.attn.qkv"] = (f"Transformer.model.layers.{i}.self_attn.linears", f"vte.{i}")
    for i in range(cfg.ste_layers):
        simple.update(_layer_map(f"Transformer_reduce.model.layers.{i}", f"ste.{i}", strided=True))
        qkv[f"ste.{i}.attn.qkv"] = (f"Transformer_reduce.model.layers.{i}.self_attn.linears", f"ste.{i}")

    expected = set(simple) | {"Transformer.pos_embedding"}
    expected |= {f"Transformer_reduce.model.pos_embedding_{i + 1}" for i in range(cfg.ste_layers)}
    expected |= {f"{off}.{j}.{p}" for off, _ in qkv.values() for j in range(3) for p in ("weight", "bias")}
    present = {k for k in state if not any(u in k for u in _UNUSED)}
    missing, unexpected = sorted(expected - present), sorted(present - expected)
    if missing or unexpected:
        raise CheckpointError(
            "checkpoint does not match the official Strided Transformer layout for "
            f"frames={cfg.frames}, strides={cfg.strides}: missing keys {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}, unexpected keys {unexpected[:8]}"
            f"{' ...' if len(unexpected) > 8 else ''}"
        )

    out = {ours: state[off] for off, ours in simple.items()}
    for ours, (off, _) in qkv.items():
        out[f"{ours}.weight"] = torch.cat([state[f"{off}.{j}.weight"] for j in range(3)])
        out[f"{ours}.bias"] = torch.cat([state[f"{off}.{j}.bias"] for j in range(3)])
    out["vte_pos"] = state["Transformer.pos_embedding"]
    out["ste_pos"] = torch.cat(
        [state[f"Transformer_reduce.model.pos_embedding_{i + 1}"] for i in range(cfg.ste_layers)]
    )

    reference = StridedTransformer(cfg).state_dict()
    wrong = []
    for name, ref in reference.items():
        if name.endswith("num_batches_tracked"):
            continue
        t = out[name]
        if t.dim() == 3 and ref.dim() == 2 and t.shape[-1] == 1:  # 1x1 Conv1d -> Linear
            t = t[..., 0]
        if tuple(t.shape) != tuple(ref.shape):
            wrong.append(f"{name}: {tuple(t.shape)} (expected {tuple(ref.shape)})")
        out[name] = t.float().contiguous()
    if wrong:
        raise CheckpointError(f"mis-shaped tensors for frames={cfg.frames}, strides={cfg.strides}: {wrong}")
    return out


def infer_frames(state: dict[str, torch.Tensor]) -> int:
    """Receptive field T of an official checkpoint, read from its positional embedding."""
    for key in ("Transformer.pos_embedding", "module.Transformer.pos_embedding"):
        if key in state:
            return int(state[key].shape[1])
    raise CheckpointError("no 'Transformer.pos_embedding' key: this is not an official Strided Transformer checkpoint")


def convert_official(
    checkpoint: str | Path,
    out_dir: str | Path,
    frames: int | None = None,
    strides: tuple[int, ...] | None = None,
) -> Path:
    """Convert an official ``.pth`` state_dict into ``out_dir/model.safetensors`` + ``config.json``.

    ``frames`` defaults to the length of the positional embedding, ``strides`` to
    :data:`liftpose.config.DEFAULT_STRIDES`. Returns ``out_dir``.
    """
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{checkpoint} holds a {type(state).__name__}, not a state_dict")
    t_ckpt = infer_frames(state)
    if frames is not None and frames != t_ckpt:
        raise CheckpointError(f"--frames {frames} given, but the checkpoint's positional embedding has {t_ckpt} frames")
    cfg = ModelConfig.for_frames(t_ckpt, strides)
    tensors = official_to_liftpose(state, cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt", "source": Path(checkpoint).name})
    cfg.save(out / "config.json")
    return out
