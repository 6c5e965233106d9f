"""Saving and loading liftpose weights (safetensors + config.json)."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import save_file

from .model import StridedTransformer


def save_pretrained(model: StridedTransformer, out_dir: str | Path) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    model.cfg.save(out / "config.json")
    return out
