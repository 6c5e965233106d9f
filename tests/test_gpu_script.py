"""tools/gpu_train_243.sh end to end on the CPU with a synthetic pack: unpack, train, resume,
export (marked ``slow``: four Python start-ups, about half a minute)."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO
from synthetic_h36m import write_synthetic_h36m

from liftpose.datasets.compact import pack
from liftpose.serialization import load_model

SCRIPT = REPO / "tools" / "gpu_train_243.sh"


def _run(tmp_path, out, **env):
    settings = {
        "DEVICE": "cpu",
        "FRAMES": "27",
        "BATCH": "4",
        "THREADS": "1",
        "EVAL_EVERY": "0",
        "LOG_EVERY": "1",
        "INIT": "",
        "EXTRA": "--subjects S1",
        "PYTHON": sys.executable,
        "PACK": str(tmp_path / "pack.npz"),
        "WORK": str(tmp_path / "work"),
        "OUT": str(out),
        **env,
    }
    return subprocess.run(["bash", str(SCRIPT)], env={**os.environ, **settings}, capture_output=True, text=True)


@pytest.mark.slow
def test_script_unpacks_trains_resumes_and_writes_the_model_to_out(tmp_path):
    pack(write_synthetic_h36m(tmp_path / "h36m", subjects=("S1", "S9"), frames=(30, 40)), tmp_path / "pack.npz")
    first = _run(tmp_path, tmp_path / "out1", STEPS="2")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "unpacking" in first.stdout and "step 2 " in first.stdout
    second = _run(tmp_path, tmp_path / "out2", STEPS="3")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already unpacked" in second.stdout and "resumed from" in second.stdout and "step 3 " in second.stdout
    half = load_model(tmp_path / "out2" / "h36m-27")
    full = load_model(tmp_path / "out2" / "run")
    assert (tmp_path / "out2" / "train.log").read_text().count("step 2 ") >= 1  # the log spans both commands
    for (name, a), b in zip(half.state_dict().items(), full.state_dict().values(), strict=True):
        if a.is_floating_point():  # the float16 copy is the float32 model rounded, nothing else
            torch.testing.assert_close(a, b.half().float(), rtol=0, atol=0, msg=name)


@pytest.mark.slow
def test_script_refuses_cuda_without_a_gpu_and_says_what_to_do(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = _run(tmp_path, tmp_path / "out", DEVICE="cuda", STEPS="1")
    assert result.returncode != 0 and "sees no GPU: run with DEVICE=cpu" in result.stdout + result.stderr
