"""Every ```python and ```bash block of README.md and docs/*.md runs as written.

Blocks of one file run in order in one namespace (a later block may use an earlier one's
``lifter``), in a temporary folder that holds small inputs under the names the docs use
(``detections.npz``, ``official.pth``, ``examples/``, ...), and with small arrays predefined for the
names the docs leave to the reader (``keypoints_2d``, ``coco_kps``, ``poses``, ...; see ``_namespace``).
Shell lines run in-process: ``liftpose ARGS`` as ``liftpose.cli.main(ARGS)``, ``python SCRIPT ARGS``
with ``runpy`` (no new interpreter: a torch import per line would cost seconds); ``pip install``
lines are checked rather than run (the package and extras they name exist in pyproject.toml).

A block that cannot run in CI says so just before it in the markdown:
``<!-- docs-test: skip (needs the Human3.6M data) -->``; ``<!-- docs-test: slow (...) -->`` blocks
run with ``-m slow`` only. A block that fails without such a note fails the test.
"""

import contextlib
import json
import os
import re
import runpy
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tomllib
from conftest import REFERENCE, REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: Files whose blocks are not run, and why (their owners keep markers out of them for now).
NOT_RUN: dict[str, str] = {}
_FENCE = re.compile(
    r"(?:<!-- docs-test: (skip|slow) \(([^)]*)\) -->\n)?```(python|bash)\n(.*?)^```", re.DOTALL | re.MULTILINE
)
_SHELL_LINE = re.compile(r"^(liftpose|python|pip) ")


def blocks(path: Path) -> list[tuple[str | None, str, str, str, int]]:
    """(marker, reason, language, code, line) of every python / bash block of a markdown file."""
    text = path.read_text(encoding="utf-8")
    return [
        (m.group(1), m.group(2) or "", m.group(3), m.group(4), text[: m.start(3)].count("\n") + 1)
        for m in _FENCE.finditer(text)
    ]


def _name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _inputs(folder: Path) -> None:
    """The small files the docs' commands name, in ``folder``."""
    walk = json.loads((REPO / "examples" / "data" / "walk_coco17.json").read_text())
    coco = np.array(walk["keypoints"], np.float32)[:6]  # COCO-17 pixels + confidence; few frames: quick GIFs
    np.savez(folder / "detections.npz", keypoints=coco)
    (folder / "examples").symlink_to(REPO / "examples")
    (folder / "docs" / "images").mkdir(parents=True)
    (folder / "path" / "to").mkdir(parents=True)
    (folder / "path" / "to" / "official.pth").symlink_to(REFERENCE / "official_T243.pth")  # T read from the file
    (folder / "official.pth").symlink_to(REFERENCE / "official_T27.pth")
    (folder / "official_T243.pth").symlink_to(REFERENCE / "official_T243.pth")
    meta = {"layout_name": "coco", "num_joints": 17, "video_metadata": {"walk.mp4": {"w": 640, "h": 480}}}
    np.savez(
        folder / "data_2d_custom_myvideos.npz", positions_2d={"walk.mp4": {"custom": [coco[..., :2]]}}, metadata=meta
    )


def _namespace() -> dict:
    """Names the docs use without defining them: small versions of the reader's own data."""
    from liftpose import Lifter, fill_gaps, to_h36m

    walk = json.loads((REPO / "examples" / "data" / "walk_coco17.json").read_text())
    coco = np.array(walk["keypoints"], np.float32)[:24]  # (24, 17, 3) COCO-17 pixels + confidence
    lifter = Lifter.from_pretrained("h36m-27", device="cpu")
    h36m = np.asarray(fill_gaps(to_h36m(coco, "coco17")), np.float32)  # (24, 17, 2) Human3.6M pixels
    poses = lifter.predict(h36m, (1920, 1080), flip=False)
    rng = np.random.default_rng(0)
    return {
        "np": np,
        "lifter": lifter,
        "keypoints_2d": h36m,
        "coco_kps": coco,
        "coco_keypoints": coco,
        "keypoints": coco,
        "w": 1920,
        "h": 1080,
        "poses": poses,
        "ground_truth": poses + rng.normal(0, 0.02, poses.shape).astype(np.float32),
        "camera": list(coco),
        "detector": list(coco),
    }


def _extras() -> set[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return set(pyproject["project"]["optional-dependencies"])


def run_shell(code: str) -> None:
    for raw in code.replace("\\\n", " ").splitlines():
        line = raw.split(" #")[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        for command in line.split("&&"):
            _run_command(command.strip())


def _run_command(command: str) -> None:
    words = shlex.split(command)
    if words[:2] == ["pip", "install"]:
        for spec in words[2:]:
            if spec.startswith(("-", "torch")):
                continue
            name, extras = re.fullmatch(r"([\w.\-]+)(?:\[([\w,]+)\])?", spec).groups()
            assert name == ".", (
                f"{command!r}: {name} is not on the package index; install from the clone: pip install -e ."
            )
            assert set((extras or "").split(",")) - {""} <= _extras(), f"{command!r}: no such extra in pyproject.toml"
        return
    if words[0] == "liftpose":
        from liftpose.cli import main

        argv = words[1:]
    elif words[0] == "python" and words[1].endswith(".py"):
        script, argv = words[1], words[2:]

        def main(argv):
            old = sys.argv
            sys.argv = [script, *argv]
            try:
                runpy.run_path(script, run_name="__main__")
            finally:
                sys.argv = old
    else:
        raise AssertionError(f"the docs test does not know how to run {command!r}; mark the block")
    try:
        main(argv)
    except SystemExit as e:
        assert e.code in (0, None), f"{command!r} exited with {e.code}"


def _run_file(path: Path, tmp_path: Path, monkeypatch, *, slow: bool) -> tuple[int, list[str]]:
    import matplotlib

    matplotlib.use("Agg")
    _inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace, ran, skipped = _namespace(), 0, []
    for marker, reason, language, code, line in blocks(path):
        if marker == "skip" or (marker == "slow" and not slow):
            skipped.append(f"{_name(path)}:{line} ({reason})")
            continue
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(open(os.devnull, "w")):
                warnings.simplefilter("error", category=__import__("liftpose").LiftposeWarning)
                if language == "python":
                    exec(compile(code, f"{_name(path)}:{line}", "exec"), namespace)  # noqa: S102 (the docs' own code)
                else:
                    run_shell(code)
        except Exception as e:
            raise AssertionError(
                f"{_name(path)}, the {language} block at line {line} fails as written: {type(e).__name__}: {e}. "
                "Fix the block, or mark it <!-- docs-test: skip (why) --> if it needs data or extras CI lacks"
            ) from e
        ran += 1
    return ran, skipped


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_doc_blocks_run_as_written(path, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason='the docs draw pictures: pip install -e ".[viz]"')
    if _name(path) in NOT_RUN:
        pytest.skip(f"{_name(path)}: {NOT_RUN[_name(path)]}")
    if not blocks(path):
        return
    ran, skipped = _run_file(path, tmp_path, monkeypatch, slow=False)
    for s in skipped:
        print(f"skipped {s}")
    assert ran + len(skipped) == len(blocks(path))


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in DOCS if any(b[0] == "slow" for b in blocks(p))], ids=_name)
def test_slow_doc_blocks_run_as_written(path, tmp_path, monkeypatch):
    ran, skipped = _run_file(path, tmp_path, monkeypatch, slow=True)
    assert not any("slow" in s for s in skipped) and ran >= 1


def test_no_doc_names_a_model_that_does_not_load():
    """A runnable block names only models whose weights load; prose that mentions another says so."""
    from liftpose.registry import load_manifest

    unavailable = [name for name, entry in load_manifest().items() if entry.status != "available"]
    for path in DOCS:
        if _name(path) in NOT_RUN:
            continue
        for marker, _, _language, code, line in blocks(path):
            for name in unavailable:
                assert marker == "skip" or name not in code, f"{_name(path)}:{line} uses {name}, which does not load"
        for name in unavailable:
            if f"`{name}` is not trained yet" in path.read_text():
                continue  # the page says so once, at the top (docs/gpu-training.md is about training it)
            for hit in re.finditer(re.escape(name), path.read_text()):
                around = path.read_text()[max(0, hit.start() - 300) : hit.end() + 300]
                assert re.search(r"not trained|planned|not available", around), f"{_name(path)} names {name} as usable"
