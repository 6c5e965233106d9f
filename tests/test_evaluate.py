"""Human3.6M evaluation: aggregation as in the paper's tables, flip from one pass, the command."""

import dataclasses
import json

import numpy as np
import pytest
from synthetic_h36m import write_synthetic_h36m

from liftpose import Lifter, LiftposeError
from liftpose.datasets.h36m import load_h36m
from liftpose.errors import LiftposeWarning
from liftpose.evaluate import action_means, evaluate_h36m, format_table, lift
from liftpose.evaluate import main as evaluate_main
from liftpose.metrics import mpjpe


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_h36m(tmp_path_factory.mktemp("h36m"), subjects=("S9", "S11"), frames=(20, 30))


@pytest.fixture(scope="module")
def lifter(converted_27):
    return Lifter.from_pretrained(converted_27, device="cpu")


def test_action_means_pool_recordings_and_average_actions():
    means, counts = action_means(
        ["Walking 1", "Walking", "Eating", "Custom"], [np.full(2, 10.0), np.full(6, 20.0), np.full(4, 4.0), np.ones(1)]
    )
    assert list(means) == ["Eating", "Walking", "Custom", "Avg"]  # paper order, then others
    assert means["Walking"] == pytest.approx(17.5)  # frames of both recordings pooled
    assert means["Avg"] == pytest.approx((17.5 + 4 + 1) / 3)
    assert counts == {"Eating": 4, "Walking": 8, "Custom": 1}


def test_flip_from_one_pass_equals_predict_with_flip(lifter, data):
    seq = load_h36m(data, ("S9",), "gt")[0]
    both = lift(lifter, seq, (False, True))
    size = (seq.width, seq.height)
    np.testing.assert_allclose(both[True], lifter.predict(seq.keypoints_2d, size, flip=True), atol=1e-5)
    np.testing.assert_allclose(both[False], lifter.predict(seq.keypoints_2d, size, flip=False), atol=1e-5)


def test_warnings_of_a_sequence_name_it_and_its_mirror_image(lifter, data):
    seq = load_h36m(data, ("S9",), "gt")[0]
    centre = np.array([seq.width, seq.height]) / 2
    lying = dataclasses.replace(seq, keypoints_2d=(seq.keypoints_2d - centre) @ np.array([[0.0, 1], [-1, 0]]) + centre)
    with pytest.warns(LiftposeWarning) as caught:  # the body is not upright
        lift(lifter, lying, (False, True))
    name = f"{seq.subject}/{seq.action}/{seq.camera}"
    assert {str(w.message).split(": ")[0] for w in caught} == {name, f"{name} (mirrored)"}


def test_evaluation_is_the_mean_error_per_action(lifter, data):
    evals, notes = evaluate_h36m(lifter, data, subjects=("S9", "S11"), inputs=("gt",), flips=(False,))
    (ev,) = evals
    seqs = load_h36m(data, ("S9", "S11"), "gt")
    walking = [s for s in seqs if s.action.startswith("Walking")]
    errs = np.concatenate([mpjpe(lift(lifter, s, (False,))[False], s.poses_3d) for s in walking])
    assert ev.mpjpe["Walking"] == pytest.approx(1000 * errs.mean(), rel=1e-5)
    assert ev.p_mpjpe["Avg"] < ev.mpjpe["Avg"]
    assert any("has no sequence of" in n for n in notes)  # the synthetic set lacks most actions
    assert "#1 MPJPE" in format_table(evals) and "Walk" in format_table(evals)


def test_every_scores_a_subset_of_frames(lifter, data):
    """--every n scores frames 0, n, 2n, ... of each sequence with the same windows as the full run."""
    full, _ = evaluate_h36m(lifter, data, subjects=("S9",), inputs=("gt",), flips=(True,))
    sub, notes = evaluate_h36m(lifter, data, subjects=("S9",), inputs=("gt",), flips=(True,), options={"every": 4})
    seqs = load_h36m(data, ("S9",), "gt")
    assert sum(sub[0].frames.values()) == sum(-(-len(s.poses_3d) // 4) for s in seqs) < sum(full[0].frames.values())
    walking = [s for s in seqs if s.action.startswith("Walking")]
    errs = np.concatenate([mpjpe(lift(lifter, s, (True,))[True][::4], s.poses_3d[::4]) for s in walking])
    assert sub[0].mpjpe["Walking"] == pytest.approx(1000 * errs.mean(), rel=1e-5)
    assert any("frames 0, 4, 8, ... of each sequence only" in n for n in notes)
    with pytest.raises(LiftposeError, match="every must be a positive integer"):
        evaluate_h36m(lifter, data, subjects=("S9",), inputs=("gt",), options={"every": 0})
    with pytest.raises(SystemExit) as exit_:
        evaluate_main([str(data), "--data", str(data), "--every", "0"])
    assert exit_.value.code == 2


def test_options_are_keyword_only(lifter, data):
    with pytest.raises(TypeError, match="positional"):
        evaluate_h36m(lifter, data, ("S9",), ("gt",), (False,))


def test_command_writes_the_table_as_json(converted_27, data, tmp_path, capsys):
    out = tmp_path / "eval.json"
    evaluate_main(
        [
            str(converted_27),
            "--data",
            str(data),
            "--input",
            "gt",
            "--cameras",
            "54138969",
            "--json",
            str(out),
            "--device",
            "cpu",
        ]
    )
    result = json.loads(out.read_text())
    assert result["cameras"] == ["54138969"] and result["unit"] == "mm" and result["precision"] == "float32"
    assert [(r["input"], r["flip"]) for r in result["results"]] == [("gt", False), ("gt", True)]
    frames = sum(s.poses_3d.shape[0] for s in load_h36m(data, ("S9", "S11"), "gt") if s.camera == "54138969")
    assert sum(result["results"][0]["frames"].values()) == frames
    assert "Protocol" in capsys.readouterr().out
