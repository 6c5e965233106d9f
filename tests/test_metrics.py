import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.optimize import minimize_scalar
from scipy.spatial import procrustes
from scipy.spatial.transform import Rotation

from liftpose.metrics import Similarity, joint_errors, mpjpe, mpjve, n_mpjpe, p_mpjpe, procrustes_align


def random_poses(shape, seed=0):
    return np.random.default_rng(seed).normal(size=(*shape, 17, 3))


def random_similarity(batch, seed=1):
    rng = np.random.default_rng(seed)
    n = int(np.prod(batch))
    rotation = Rotation.random(n, random_state=seed).as_matrix().reshape(*batch, 3, 3)
    return Similarity(rotation, rng.uniform(0.2, 5.0, batch), rng.normal(scale=3.0, size=(*batch, 3)))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_recovers_random_similarity_exactly(backend):
    pred = random_poses((4, 5))
    truth = random_similarity((4, 5))
    target = truth.apply(pred)
    if backend == "torch":
        pred, target = torch.from_numpy(pred), torch.from_numpy(target)
    aligned, found = procrustes_align(pred, target)
    assert type(aligned) is type(pred)
    found = Similarity(*(np.asarray(a) for a in found))
    np.testing.assert_allclose(found.rotation, truth.rotation, atol=1e-10)
    np.testing.assert_allclose(found.scale, truth.scale, rtol=1e-10)
    np.testing.assert_allclose(found.translation, truth.translation, atol=1e-9)
    np.testing.assert_allclose(np.asarray(aligned), np.asarray(target), atol=1e-9)
    assert np.asarray(p_mpjpe(pred, target)).max() < 1e-9


def test_rigid_alignment_keeps_unit_scale():
    pred = random_poses((3,))
    truth = random_similarity((3,))
    target = Similarity(truth.rotation, np.ones(3), truth.translation).apply(pred)
    aligned, found = procrustes_align(pred, target, scale=False)
    np.testing.assert_array_equal(found.scale, 1.0)
    np.testing.assert_allclose(found.rotation, truth.rotation, atol=1e-10)
    np.testing.assert_allclose(aligned, target, atol=1e-9)


def test_matches_scipy_procrustes_on_noisy_poses():
    rng = np.random.default_rng(2)
    for seed in range(5):
        pred = random_poses((), seed)
        target = random_similarity((), seed).apply(pred) + rng.normal(scale=0.3, size=pred.shape)
        aligned, _ = procrustes_align(pred, target)
        # scipy standardises both (centred, unit Frobenius norm) and aligns data2 onto data1.
        std_target, std_aligned, disparity = procrustes(target, pred)
        t0 = target - target.mean(0)
        np.testing.assert_allclose((aligned - target.mean(0)) / np.linalg.norm(t0), std_aligned, atol=1e-10)
        np.testing.assert_allclose(np.sum((aligned - target) ** 2) / np.sum(t0**2), disparity, rtol=1e-9)


def test_matches_scipy_orthogonal_procrustes_when_no_reflection_is_needed():
    pred = random_poses((), 3)
    target = random_similarity((), 3).apply(pred) + np.random.default_rng(30).normal(scale=0.2, size=pred.shape)
    p0, t0 = pred - pred.mean(0), target - target.mean(0)
    expected, _ = orthogonal_procrustes(p0, t0)
    assert np.linalg.det(expected) > 0
    _, found = procrustes_align(pred, target, scale=False)
    np.testing.assert_allclose(found.rotation, expected, atol=1e-10)


def test_never_returns_a_reflection():
    pred = random_poses((), 4)
    mirrored = pred * np.array([-1.0, 1.0, 1.0])
    reflection, _ = orthogonal_procrustes(pred - pred.mean(0), mirrored - mirrored.mean(0))
    assert np.linalg.det(reflection) < 0  # the unconstrained optimum is a mirror...
    aligned, found = procrustes_align(pred, mirrored)
    np.testing.assert_allclose(np.linalg.det(found.rotation), 1.0, atol=1e-12)  # ...which we exclude
    assert p_mpjpe(pred, mirrored) > 0.1


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_degenerate_poses_give_finite_results(backend):
    to = torch.from_numpy if backend == "torch" else np.asarray
    pose = random_poses((), 5)
    point = np.broadcast_to(np.array([0.3, -1.2, 4.0]), pose.shape).copy()
    zeros = np.zeros_like(pose)
    for pred, target in [(point, pose), (pose, point), (zeros, pose), (point, zeros), (zeros, zeros)]:
        aligned, found = procrustes_align(to(pred), to(target))
        for value in (aligned, *found, p_mpjpe(to(pred), to(target)), n_mpjpe(to(pred), to(target))):
            assert np.isfinite(np.asarray(value)).all()
        np.testing.assert_allclose(np.asarray(aligned), np.broadcast_to(target.mean(0), pose.shape), atol=1e-12)
        np.testing.assert_allclose(np.asarray(found.scale), 0.0)
        np.testing.assert_allclose(np.asarray(found.rotation), np.eye(3))


def test_degenerate_pose_in_float32_batch_does_not_spoil_the_others():
    poses = random_poses((3,), 6).astype(np.float32)
    pred = poses.copy()
    pred[1] = np.float32(123.456)  # one collapsed prediction, rounding noise after centring
    target = poses * 2 + 1
    errors = p_mpjpe(pred, target)
    assert errors.dtype == np.float32 and np.isfinite(errors).all()
    assert errors[0] < 1e-5 and errors[2] < 1e-5
    centroid = np.broadcast_to(target[1].mean(0), target[1].shape)
    np.testing.assert_allclose(errors[1], mpjpe(centroid, target[1]), rtol=1e-5)


def test_mpjpe_is_mean_euclidean_distance_per_pose():
    target = random_poses((2, 7))
    pred = target + np.array([3.0, 4.0, 0.0])
    pred[..., 0, :] += np.array([0.0, 0.0, 17.0])  # one joint off by |(3, 4, 17)| instead of 5
    errors = mpjpe(pred, target)
    assert errors.shape == (2, 7)
    np.testing.assert_allclose(errors, (16 * 5 + np.sqrt(9 + 16 + 17**2)) / 17)


def test_joint_errors_are_the_distances_whose_mean_is_mpjpe():
    target = random_poses((2, 7))
    pred = target + np.array([3.0, 4.0, 0.0])
    pred[..., 5, :] += np.array([0.0, 0.0, 12.0])  # joint 5 off by |(3, 4, 12)| = 13
    errors = joint_errors(torch.from_numpy(pred), torch.from_numpy(target))
    assert isinstance(errors, torch.Tensor) and errors.shape == (2, 7, 17)
    np.testing.assert_allclose(errors[..., 5].numpy(), 13.0)
    np.testing.assert_allclose(errors[..., :5].numpy(), 5.0)
    np.testing.assert_allclose(errors.mean(-1).numpy(), mpjpe(pred, target))


def test_n_mpjpe_uses_the_least_squares_scale():
    pred = random_poses((4,), 7)
    target = pred * 1.7 + np.random.default_rng(70).normal(scale=0.3, size=pred.shape)
    np.testing.assert_allclose(n_mpjpe(pred, pred * 2.5), 0, atol=1e-12)
    for p, t, err in zip(pred, target, n_mpjpe(pred, target), strict=True):
        best = minimize_scalar(
            lambda s, p=p, t=t: np.sum((s * p - t) ** 2), bounds=(0, 10), method="bounded", options={"xatol": 1e-12}
        )
        np.testing.assert_allclose(err, mpjpe(best.x * p, t), rtol=1e-6)


def test_mpjve_ignores_constant_offsets_and_measures_velocity():
    target = random_poses((10, 2), 8)  # (T, N, J, 3)
    offset = target + np.array([1.0, 2.0, 2.0])
    assert np.all(mpjpe(offset, target) > 2.9)
    errors = mpjve(offset, target, axis=0)
    assert errors.shape == (9, 2)
    np.testing.assert_allclose(errors, 0, atol=1e-12)
    drift = target + np.arange(10)[:, None, None, None] * np.array([0.0, 0.0, 0.5])
    np.testing.assert_allclose(mpjve(drift, target, axis=0), 0.5)
    np.testing.assert_allclose(mpjve(drift.swapaxes(0, 1), target.swapaxes(0, 1)), 0.5)  # default axis -3
    with pytest.raises(ValueError, match="time axis"):
        mpjve(drift, target, axis=-2)


def test_numpy_and_torch_agree_and_keep_their_type():
    pred, target = random_poses((6,), 9), random_poses((6,), 10)
    for metric in (mpjpe, p_mpjpe, n_mpjpe, mpjve):
        a = metric(pred, target)
        b = metric(torch.from_numpy(pred), torch.from_numpy(target))
        assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
        np.testing.assert_allclose(b.numpy(), a, rtol=1e-10)


def test_torch_gradient_through_p_mpjpe_is_finite():
    pred = torch.tensor(random_poses((3,), 11), requires_grad=True)
    target = torch.from_numpy(random_poses((3,), 12))
    p_mpjpe(pred, target).sum().backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="same J"):
        mpjpe(np.zeros((17, 3)), np.zeros((16, 3)))
    with pytest.raises(TypeError, match="numpy arrays and torch tensors"):
        mpjpe(np.zeros((17, 3)), torch.zeros(17, 3))
