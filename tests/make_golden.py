"""Write the golden outputs of every bundled model (tests/golden/NAME.npz), which test_golden.py
compares against. Run it only when a model's weights change on purpose, and say so in the commit:

    python tests/make_golden.py
"""

from pathlib import Path

import numpy as np

from liftpose import Lifter
from liftpose.formats import load_keypoints
from liftpose.hub import resolve_weights
from liftpose.registry import load_manifest

ROOT = Path(__file__).resolve().parent
INPUT = ROOT.parent / "examples" / "data" / "walk_coco17.json"  # committed, synthetic: no dataset involved


def golden_poses(name: str) -> np.ndarray:
    """(T, 17, 3) poses of the committed synthetic walk, window mode with flip, on the CPU."""
    data = load_keypoints(INPUT)
    return Lifter.from_pretrained(name, device="cpu").predict(
        data.keypoints, data.image_size, layout=data.layout, fps=data.fps
    )


def bundled_models() -> list[str]:
    return [n for n, e in load_manifest().items() if e.status == "available" and e.sha256]


def main() -> None:
    for name in bundled_models():
        out = ROOT / "golden" / f"{name}.npz"
        np.savez_compressed(out, poses=golden_poses(name).astype(np.float32), sha256=load_manifest()[name].sha256)
        print(f"wrote {out} ({resolve_weights(name)})")


if __name__ == "__main__":
    main()
