"""The Strided Transformer (Li et al. 2021): a vanilla Transformer encoder (VTE) over the
whole window, then a strided Transformer encoder (STE) that shrinks the window to its centre.

Numerically the same network as the official release; the layout here is (batch, time, channels)
throughout, with the official 1x1 convolutions written as ``nn.Linear`` and the attention as
``scaled_dot_product_attention``.

This module is the one description of the network. Next to each module stands

- its *folded* inference form (``fold``): the official LayerNorms' affine parts, the heads'
  BatchNorms and the attention scale go into the linear maps that follow them, and a strided
  convolution becomes one matrix product over its taps. :meth:`StridedTransformer.fold` assembles
  them into a :class:`FoldedNet`, what :class:`liftpose.Lifter` runs: the same numbers as
  :meth:`StridedTransformer.encode` to about 1e-6, with fewer operations (``tests/test_folded.py``
  checks this for every configuration in the manifest);
- :func:`official_keys`, at the bottom, the official checkpoint's name of every parameter, which
  :mod:`liftpose.convert` reads.

A new layer type or a changed shape is an edit here (module, ``fold``, key table) and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


class OfficialLayerNorm(nn.Module):
    """``weight * (x - mean) / (std + eps) + bias`` with the *unbiased* std and eps outside the
    root, as in the official code (this is not ``torch.nn.LayerNorm``)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std, mean = torch.std_mean(x, dim=-1, keepdim=True)
        return torch.addcmul(self.bias, self.weight, (x - mean) / (std + self.eps))

    @staticmethod
    def standardise(x: torch.Tensor, eps: float) -> torch.Tensor:
        """The norm without its affine part, ``(x - mean) / (unbiased std + eps)``, for inference (it
        overwrites a temporary, not ``x``)."""
        centred = x - x.mean(-1, keepdim=True)
        std = torch.linalg.vector_norm(centred, dim=-1, keepdim=True).mul_(1 / math.sqrt(x.shape[-1] - 1))
        return centred.div_(std.add_(eps))

    def fold_into(self, linear: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
        """``linear(self(x)) == standardise(x) @ W.T + b``: ``(W (out, in), b (out,))``."""
        return linear.weight * self.weight, linear.bias + linear.weight @ self.bias


class Attention(nn.Module):
    """Multi-head self-attention with a fused q/k/v projection."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(x.transpose(1, 2).reshape(b, t, c))


class FeedForward(nn.Module):
    """VTE feed-forward: Linear -> ReLU -> Dropout -> Linear."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(F.relu(self.fc1(x))))

    def fold_output(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """The second map as ``(W (hidden, d), b, taps=1)`` for :class:`FoldedLayer`."""
        return self.fc2.weight.T, self.fc2.bias, 1


class StridedFeedForward(nn.Module):
    """STE feed-forward: 1x1 projection -> ReLU -> Dropout -> temporal Conv1d with stride ``stride``
    (kernel 3, padding 1), which shortens the sequence from T to ``(T - 1) // stride + 1``."""

    def __init__(self, dim: int, hidden: int, dropout: float, stride: int, kernel: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.conv = nn.Conv1d(hidden, dim, kernel_size=kernel, stride=stride, padding=kernel // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(F.relu(self.fc1(x)))
        return self.conv(x.transpose(1, 2)).transpose(1, 2)

    def fold_output(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """The convolution as one map over its taps, ``(W (kernel * hidden, d), b, taps=kernel)``:
        the weight (d, hidden, kernel) rearranged tap-major for :class:`FoldedLayer`."""
        return self.conv.weight.permute(2, 1, 0).flatten(0, 1), self.conv.bias, self.conv.kernel_size[0]


class EncoderLayer(nn.Module):
    """Pre-norm Transformer layer. With ``stride > 1`` the FFN is strided and the residual keeps
    every ``stride``-th frame starting at frame 0 (the official max-pool of kernel 1)."""

    def __init__(self, cfg: ModelConfig, stride: int | None = None) -> None:
        super().__init__()
        self.stride = stride or 1
        self.norm1 = OfficialLayerNorm(cfg.d_model)
        self.attn = Attention(cfg.d_model, cfg.heads, cfg.dropout)
        self.norm2 = OfficialLayerNorm(cfg.d_model)
        if stride is None:
            self.ffn = FeedForward(cfg.d_model, cfg.d_ff, cfg.dropout)
        else:
            self.ffn = StridedFeedForward(cfg.d_model, cfg.d_ff, cfg.dropout, stride, cfg.ste_kernel)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x)))
        return x[:, :: self.stride] + self.drop(self.ffn(self.norm2(x)))

    def fold(self, cast: Callable[[torch.Tensor], torch.Tensor]) -> FoldedLayer:
        """This layer for inference (:class:`FoldedLayer`), its tensors passed through ``cast``."""
        d = self.attn.proj.weight.shape[0]
        scale = torch.ones(3 * d, dtype=self.attn.qkv.weight.dtype, device=self.attn.qkv.weight.device)
        scale[:d] = (d // self.attn.heads) ** -0.5  # softmax(q k^T / sqrt(head_dim)): scale q's rows
        qkv_w, qkv_b = self.norm1.fold_into(self.attn.qkv)
        fc1_w, fc1_b = self.norm2.fold_into(self.ffn.fc1)
        out_w, out_b, taps = self.ffn.fold_output()
        return FoldedLayer(
            eps=self.norm1.eps,
            heads=self.attn.heads,
            qkv_w=cast(qkv_w.T * scale),
            qkv_b=cast(qkv_b * scale),
            proj_w=cast(self.attn.proj.weight.T),
            proj_b=cast(self.attn.proj.bias),
            fc1_w=cast(fc1_w.T),
            fc1_b=cast(fc1_b),
            out_w=cast(out_w),
            out_b=cast(out_b),
            stride=self.stride,
            taps=taps,
        )


@dataclass
class FoldedLayer:
    """:class:`EncoderLayer` for inference: LayerNorm gains/biases and the attention scale folded
    into the linear maps that follow them; weights stored transposed, ready for ``torch.addmm``."""

    eps: float
    heads: int
    qkv_w: torch.Tensor  # (d, 3d)
    qkv_b: torch.Tensor
    proj_w: torch.Tensor  # (d, d)
    proj_b: torch.Tensor
    fc1_w: torch.Tensor  # (d, hidden)
    fc1_b: torch.Tensor
    out_w: torch.Tensor  # (hidden, d) for the VTE; (taps * hidden, d), the strided conv's taps, for the STE
    out_b: torch.Tensor
    stride: int = 1
    taps: int = 1

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, t, d) -> (B, (t - 1) // stride + 1, d); overwrites ``x``."""
        b, t, d = x.shape
        flat = x.view(b * t, d)
        q, k, v = (
            torch.addmm(self.qkv_b, OfficialLayerNorm.standardise(flat, self.eps), self.qkv_w)
            .view(b, t, 3, self.heads, d // self.heads)
            .permute(2, 0, 3, 1, 4)
        )
        attn = F.scaled_dot_product_attention(q, k, v, scale=1.0).transpose(1, 2).reshape(b * t, d)
        flat.addmm_(attn, self.proj_w).add_(self.proj_b)
        hidden = torch.addmm(self.fc1_b, OfficialLayerNorm.standardise(flat, self.eps), self.fc1_w).relu_()
        if self.taps == 1 and self.stride == 1:  # a pointwise map (the VTE's FFN): in place
            return flat.addmm_(hidden, self.out_w).add_(self.out_b).view(b, t, d)
        # Conv1d(kernel, stride, padding kernel // 2) as one product: gather each output's taps.
        pad = self.taps // 2
        hidden = F.pad(hidden.view(b, t, -1), (0, 0, pad, pad))
        taps = hidden.unfold(1, self.taps, self.stride).transpose(2, 3)  # (B, t_out, taps, hidden)
        t_out = taps.shape[1]
        out = torch.addmm(self.out_b, taps.reshape(b * t_out, -1), self.out_w).view(b, t_out, d)
        return out.add_(x[:, :: self.stride])


class PoseHead(nn.Module):
    """BatchNorm over channels, then a linear map to ``joints * 3`` coordinates."""

    def __init__(self, dim: int, joints: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(dim)
        self.linear = nn.Linear(dim, joints * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        x = self.linear(self.norm(x.reshape(b * t, c)))
        return x.view(b, t, -1, 3)

    def fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The eval-mode head as one map, ``head(x) == x @ W + b``: ``(W (d, joints * 3), b)``."""
        scale = self.norm.weight / torch.sqrt(self.norm.running_var + self.norm.eps)
        shift = self.norm.bias - self.norm.running_mean * scale
        return (self.linear.weight * scale).T, self.linear.bias + self.linear.weight @ shift


class StridedTransformer(nn.Module):
    """2D keypoint window (B, T, J, 2) -> 3D poses.

    ``forward`` returns ``(centre, window)``: the STE's prediction for the centre frame,
    (B, J, 3), and the VTE's prediction for every frame of the window, (B, T, J, 3), both
    root-relative camera coordinates in metres (the units of the training targets).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = nn.Linear(cfg.joints * 2, d)
        self.embed_norm = nn.BatchNorm1d(d)
        self.embed_drop = nn.Dropout(cfg.embed_dropout)
        self.vte_pos = nn.Parameter(torch.zeros(1, cfg.frames, d))
        self.vte = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.vte_layers))
        self.ste_pos = nn.Parameter(torch.zeros(cfg.ste_layers, cfg.frames, d))
        self.ste = nn.ModuleList(EncoderLayer(cfg, stride=s) for s in cfg.strides)
        self.vte_head = PoseHead(d, cfg.joints)
        self.ste_head = PoseHead(d, cfg.joints)
        nn.init.normal_(self.vte_pos)
        nn.init.normal_(self.ste_pos)

    def embed_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame embedding (..., J, 2) -> (..., d_model). Depends on one frame only, so a
        runner may embed a sequence once and share the result between overlapping windows."""
        lead = x.shape[:-2]
        x = self.embed(x.reshape(-1, self.cfg.joints * 2))
        x = self.embed_drop(F.relu(self.embed_norm(x)))
        return x.view(*lead, -1)

    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embedded windows (B, T, d_model) -> ``(centre (B, J, 3), window (B, T, J, 3))``."""
        if tokens.shape[1] != self.cfg.frames:
            raise ValueError(f"expected windows of {self.cfg.frames} frames, got {tokens.shape[1]}")
        x = tokens + self.vte_pos
        for layer in self.vte:
            x = layer(x)
        window = self.vte_head(x)
        for pos, layer in zip(self.ste_pos, self.ste, strict=True):
            x = layer(x + pos[: x.shape[1]])
        centre = self.ste_head(x)[:, 0]
        return centre, window

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised 2D windows (B, T, J, 2) -> ``(centre (B, J, 3), window (B, T, J, 3))``."""
        return self.encode(self.embed_frames(x))

    def fold(self, dtype: torch.dtype = torch.float32) -> FoldedNet:
        """A snapshot of the current weights in the folded inference form (:class:`FoldedNet`)."""
        return FoldedNet(self, dtype)


class FoldedNet:
    """:meth:`StridedTransformer.encode` for inference, from each module's ``fold`` (same numbers to
    ~1e-6, fewer operations). A snapshot of the model's weights at construction, cast to ``dtype``.

    Each output is computed only when asked for: :meth:`centre` skips the VTE head, :meth:`window`
    the STE. :meth:`embed` is the model's own per-frame embedding, cast to ``dtype``.
    """

    def __init__(self, model: StridedTransformer, dtype: torch.dtype) -> None:
        def cast(t: torch.Tensor) -> torch.Tensor:  # a copy even where dtype and layout already fit
            return t.detach().to(dtype, copy=True).contiguous()

        with torch.no_grad():
            self.model = model
            self.dtype = dtype
            self.frames = model.cfg.frames
            self.joints = model.cfg.joints
            self.vte = [layer.fold(cast) for layer in model.vte]
            self.ste = [layer.fold(cast) for layer in model.ste]
            self.vte_pos = cast(model.vte_pos[0])
            self.ste_pos = cast(model.ste_pos)
            self.vte_head = tuple(cast(t) for t in model.vte_head.fold())
            self.ste_head = tuple(cast(t) for t in model.ste_head.fold())

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Normalised 2D frames (..., J, 2) -> tokens (..., d_model)."""
        return self.model.embed_frames(frames).to(self.dtype)

    def centre(self, tokens: torch.Tensor) -> torch.Tensor:
        """Windows of tokens (..., T, d_model) (any strides) -> the STE's centre poses (..., J, 3)."""
        x = self._vte(tokens)
        for pos, layer in zip(self.ste_pos, self.ste, strict=True):
            x = layer(x + pos[: x.shape[1]])
        w, b = self.ste_head
        return torch.addmm(b, x[:, 0], w).view(*tokens.shape[:-2], self.joints, 3)

    def window(self, tokens: torch.Tensor) -> torch.Tensor:
        """Windows of tokens (..., T, d_model) -> the VTE's full-window poses (..., T, J, 3)."""
        x = self._vte(tokens)
        w, b = self.vte_head
        return torch.addmm(b, x.flatten(0, 1), w).view(*tokens.shape[:-1], self.joints, 3)

    def _vte(self, tokens: torch.Tensor) -> torch.Tensor:
        x = tokens.new_empty(tokens.shape)  # contiguous: the one copy of the (strided) windows
        x = torch.add(tokens, self.vte_pos, out=x).view(-1, self.frames, tokens.shape[-1])
        for layer in self.vte:
            x = layer(x)
        return x


def official_keys(cfg: ModelConfig) -> dict[str, tuple[str, ...]]:
    """The official StridedTransformer-Pose3D name of every parameter and buffer: liftpose key ->
    the official keys it is made of (several are concatenated along dim 0; 1x1 convolutions there
    are the linear maps here). Read by :func:`liftpose.convert.official_model`."""
    names: dict[str, tuple[str, ...]] = {
        "embed.weight": ("encoder.0.weight",),
        "embed.bias": ("encoder.0.bias",),
        "vte_pos": ("Transformer.pos_embedding",),
        "ste_pos": tuple(f"Transformer_reduce.model.pos_embedding_{i + 1}" for i in range(cfg.ste_layers)),
    }
    for off, ours in (("encoder.1", "embed_norm"), ("fcn_1.0", "vte_head.norm"), ("fcn.0", "ste_head.norm")):
        names.update({f"{ours}.{p}": (f"{off}.{p}",) for p in ("weight", "bias", "running_mean", "running_var")})
    for off, ours in (("fcn_1.1", "vte_head.linear"), ("fcn.1", "ste_head.linear")):
        names.update({f"{ours}.{p}": (f"{off}.{p}",) for p in ("weight", "bias")})
    encoders = (("Transformer", "vte", cfg.vte_layers, "fc2"), ("Transformer_reduce", "ste", cfg.ste_layers, "conv"))
    for encoder, ours, n_layers, second in encoders:
        for i in range(n_layers):
            off, me = f"{encoder}.model.layers.{i}", f"{ours}.{i}"
            for s in (0, 1):
                names[f"{me}.norm{s + 1}.weight"] = (f"{off}.sublayer.{s}.norm.a_2",)
                names[f"{me}.norm{s + 1}.bias"] = (f"{off}.sublayer.{s}.norm.b_2",)
            for p in ("weight", "bias"):
                names[f"{me}.attn.qkv.{p}"] = tuple(f"{off}.self_attn.linears.{j}.{p}" for j in range(3))
                names[f"{me}.attn.proj.{p}"] = (f"{off}.self_attn.linears.3.{p}",)
                names[f"{me}.ffn.fc1.{p}"] = (f"{off}.feed_forward.w_1.{p}",)
                names[f"{me}.ffn.{second}.{p}"] = (f"{off}.feed_forward.w_2.{p}",)
    return names
