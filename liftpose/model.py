"""The Strided Transformer (Li et al. 2021): a vanilla Transformer encoder (VTE) over the
whole window, then a strided Transformer encoder (STE) that shrinks the window to its centre.

Numerically the same network as the official release (see ``liftpose.convert`` for the key
mapping); the layout here is (batch, time, channels) throughout, with the official 1x1
convolutions written as ``nn.Linear`` and the attention as ``scaled_dot_product_attention``.
"""

from __future__ import annotations

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
