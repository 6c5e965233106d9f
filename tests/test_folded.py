"""The folded inference net (what Lifter and PoseStream run) computes the model's ``encode``.

``StridedTransformer.fold`` is built from each module's own ``fold``; this is the test that fails
when a module and its folded form disagree, for every configuration in the manifest (named models
whether trained or planned) and for shapes the manifest does not use. The weights are random but
not trivial: LayerNorm gains and biases, BatchNorm statistics and positional embeddings all differ
from their initial values, so a fold that forgot one of them would show.
"""

import pytest
import torch

from liftpose.config import ModelConfig
from liftpose.model import StridedTransformer
from liftpose.registry import load_manifest

#: float32 agreement asked of the fold (it reorders sums; the two agree to about 1e-6 in practice).
ATOL = 1e-5

MANIFEST_CONFIGS = {entry.name: entry.config for entry in load_manifest().values()}
OTHER_CONFIGS = {
    "two-layer-wide-kernel": ModelConfig(frames=9, strides=(3, 3), d_model=32, d_ff=48, heads=4, ste_kernel=5),
    "stride-1-layer": ModelConfig(frames=15, strides=(1, 3, 5), d_model=16, d_ff=24, heads=2, vte_layers=1),
}


def randomised(cfg: ModelConfig, seed: int) -> StridedTransformer:
    """A model in eval mode with PyTorch's initial weights, and every norm's gain, bias and running
    statistics drawn at random around their initial values (a fold that ignored one would show)."""
    torch.manual_seed(seed)
    model = StridedTransformer(cfg)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif name.endswith(("norm.weight", "norm1.weight", "norm2.weight")):
                t.copy_(1 + 0.3 * torch.randn_like(t))
            elif name.endswith(("norm.bias", "norm1.bias", "norm2.bias", "running_mean")):
                t.copy_(0.3 * torch.randn_like(t))
    return model.eval()


@pytest.mark.parametrize(
    "cfg", [*MANIFEST_CONFIGS.values(), *OTHER_CONFIGS.values()], ids=[*MANIFEST_CONFIGS, *OTHER_CONFIGS]
)
def test_folded_net_equals_the_model(cfg):
    model = randomised(cfg, seed=cfg.frames)
    windows = torch.randn(3, cfg.frames, cfg.joints, 2)
    with torch.no_grad():
        centre, window = model(windows)
        net = model.fold(torch.float32)
        tokens = net.embed(windows)
        torch.testing.assert_close(net.centre(tokens), centre, atol=ATOL, rtol=0)
        torch.testing.assert_close(net.window(tokens), window, atol=ATOL, rtol=0)
    assert centre.abs().mean() > 0.1  # the outputs compared are not near zero


def test_manifest_configs_are_all_covered():
    """Every manifest entry is tested above, including the T = 243 headline model."""
    assert {27, 81, 243} <= {cfg.frames for cfg in MANIFEST_CONFIGS.values()}


def test_a_wrong_fold_is_caught():
    """The tolerance is tight enough to see a fold that is off by a small term (1e-3 on the STE
    head's bias)."""
    cfg = MANIFEST_CONFIGS["h36m-27"]
    model = randomised(cfg, seed=1)
    windows = torch.randn(2, cfg.frames, cfg.joints, 2)
    with torch.no_grad():
        centre, _ = model(windows)
        net = model.fold(torch.float32)
        w, b = net.ste_head
        net.ste_head = (w, b + 1e-3 * torch.randn_like(b))
        assert (net.centre(net.embed(windows)) - centre).abs().max() > ATOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fold_is_a_snapshot(dtype):
    """Training after folding does not change the folded encoder: it holds copies, also of the
    tensors it takes over unchanged (biases, positional embeddings) in the model's own dtype.
    (``embed`` is the model's own embedding, live by design.)"""
    model = randomised(MANIFEST_CONFIGS["h36m-27"], seed=2)
    with torch.no_grad():
        net = model.fold(dtype)
        tokens = net.embed(torch.randn(2, 27, 17, 2))
        before = net.centre(tokens.clone())
        for p in model.parameters():
            p.add_(0.1)
        after = net.centre(tokens.clone())
    assert net.vte[0].qkv_w.dtype == dtype and torch.equal(before, after)
