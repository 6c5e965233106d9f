"""segment_lengths: the one joint-pair distance of the library, numpy and torch alike."""

import numpy as np
import torch

from liftpose.bones import LIMB_BONES, bone_lengths, segment_lengths
from liftpose.skeleton import BONES


def _poses(seed=0):
    return np.random.default_rng(seed).normal(size=(3, 5, 17, 3))


def test_segment_lengths_are_the_distances_of_each_pair():
    poses = _poses()
    lengths = segment_lengths(poses, BONES)
    assert isinstance(lengths, np.ndarray) and lengths.shape == (3, 5, len(BONES))
    for k, (a, b) in enumerate(BONES):  # written out per bone, independently of the indexing
        np.testing.assert_allclose(lengths[..., k], np.sqrt(((poses[..., a, :] - poses[..., b, :]) ** 2).sum(-1)))


def test_segment_lengths_keep_torch_and_its_gradient():
    poses = torch.from_numpy(_poses(1)).requires_grad_()
    lengths = segment_lengths(poses, BONES)
    assert isinstance(lengths, torch.Tensor)
    np.testing.assert_allclose(lengths.detach().numpy(), segment_lengths(_poses(1), BONES), rtol=1e-12)
    lengths.sum().backward()
    # d|c - p|/dc is the unit vector from parent to child: the right foot (3) has one bone, the knee (2)
    unit = (poses[..., 3, :] - poses[..., 2, :]) / lengths[..., 2:3]
    torch.testing.assert_close(poses.grad[..., 3, :], unit.detach())


def test_bone_lengths_are_the_named_segment_lengths_in_numpy():
    poses = torch.from_numpy(_poses(2))
    lengths = bone_lengths(poses)
    assert isinstance(lengths, np.ndarray)
    np.testing.assert_array_equal(lengths, segment_lengths(poses.numpy(), LIMB_BONES.values()))
