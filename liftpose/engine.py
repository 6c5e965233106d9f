"""The inference engine behind :class:`liftpose.Lifter` and :class:`liftpose.stream.PoseStream`.

:class:`FoldedNet` is ``StridedTransformer.encode`` rearranged for inference (same numbers to
about 1e-6, fewer operations): the official LayerNorms' affine parts, the heads' BatchNorms and the
attention scale are folded into the linear maps that follow them, attention is
``scaled_dot_product_attention``, and each strided convolution is one matrix product over its taps.
:class:`WindowEncoder` embeds each frame once and encodes every window of T frames as soon as it is
complete (the windows are strided views of the embeddings, not copies). :func:`mirror_average` is
flip test-time augmentation around any such call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model import EncoderLayer, OfficialLayerNorm, StridedTransformer
from .skeleton import average_mirrored, flip_poses


def mirror_average(run: Callable[[torch.Tensor], torch.Tensor], frames: torch.Tensor, flip: bool) -> torch.Tensor:
    """``run`` on 2D ``frames`` (S, ...) -> 3D; with ``flip`` also on the mirrored frames (one call,
    2S streams) and the mirrored-back result averaged in."""
    if not flip:
        return run(frames).float()
    s = frames.shape[0]
    out = run(torch.cat([frames, flip_poses(frames)])).float()
    return average_mirrored(out[:s], out[s:])


@dataclass
class _Layer:
    """One encoder layer with the LayerNorm gains/biases and the attention scale folded into the
    linear maps that follow them. Weights are stored transposed, ready for ``torch.addmm``."""

    eps: float
    heads: int
    qkv_w: torch.Tensor  # (d, 3d)
    qkv_b: torch.Tensor
    proj_w: torch.Tensor  # (d, d)
    proj_b: torch.Tensor
    fc1_w: torch.Tensor  # (d, hidden)
    fc1_b: torch.Tensor
    out_w: torch.Tensor  # (hidden, d) for the VTE; (kernel * hidden, d), the strided conv's taps, for the STE
    out_b: torch.Tensor
    stride: int = 1
    kernel: int = 1


class FoldedNet:
    """``StridedTransformer.encode`` for inference, rearranged for speed (same numbers to ~1e-6).

    Folded at construction (a snapshot of the model's current weights, cast to ``dtype``): the
    affine parts of the official LayerNorms, the heads' BatchNorms and the attention scale go into
    the next linear map; the strided convolution becomes one matrix product over its taps. Each
    output is computed only when asked for: :meth:`centre` skips the VTE head, :meth:`window` the
    STE. ``embed`` is the model's own per-frame embedding (cast to ``dtype``).
    """

    def __init__(self, model: StridedTransformer, dtype: torch.dtype) -> None:
        with torch.no_grad():
            self.model = model
            self.dtype = dtype
            self.frames = model.cfg.frames
            self.joints = model.cfg.joints

            def cast(t: torch.Tensor) -> torch.Tensor:
                return t.detach().to(dtype).contiguous()

            self.vte = [self._fold_layer(layer, cast) for layer in model.vte]
            self.ste = [self._fold_layer(layer, cast) for layer in model.ste]
            self.vte_pos = cast(model.vte_pos[0])
            self.ste_pos = cast(model.ste_pos)
            self.vte_head = tuple(cast(t) for t in _fold_batch_norm(model.vte_head.norm, model.vte_head.linear))
            self.ste_head = tuple(cast(t) for t in _fold_batch_norm(model.ste_head.norm, model.ste_head.linear))

    @staticmethod
    def _fold_layer(layer: EncoderLayer, cast: Callable[[torch.Tensor], torch.Tensor]) -> _Layer:
        d = layer.attn.proj.weight.shape[0]
        scale = torch.ones(3 * d, dtype=layer.attn.qkv.weight.dtype, device=layer.attn.qkv.weight.device)
        scale[:d] = (d // layer.attn.heads) ** -0.5  # softmax(q k^T / sqrt(head_dim)): scale q's rows
        qkv_w, qkv_b = _fold_layer_norm(layer.norm1, layer.attn.qkv)
        fc1_w, fc1_b = _fold_layer_norm(layer.norm2, layer.ffn.fc1)
        if layer.stride == 1:
            out_w, out_b, kernel = layer.ffn.fc2.weight.T, layer.ffn.fc2.bias, 1
        else:
            conv = layer.ffn.conv  # weight (d, hidden, kernel) -> (kernel * hidden, d), tap-major
            out_w, out_b, kernel = conv.weight.permute(2, 1, 0).flatten(0, 1), conv.bias, conv.kernel_size[0]
        return _Layer(
            layer.norm1.eps,
            layer.attn.heads,
            cast(qkv_w.T * scale),
            cast(qkv_b * scale),
            cast(layer.attn.proj.weight.T),
            cast(layer.attn.proj.bias),
            cast(fc1_w.T),
            cast(fc1_b),
            cast(out_w),
            cast(out_b),
            layer.stride,
            kernel,
        )

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Normalised 2D frames (..., J, 2) -> tokens (..., d)."""
        return self.model.embed_frames(frames).to(self.dtype)

    def centre(self, tokens: torch.Tensor) -> torch.Tensor:
        """Windows of tokens (..., T, d) (any strides) -> the STE's centre poses (..., J, 3)."""
        x = self._vte(tokens)
        for pos, layer in zip(self.ste_pos, self.ste, strict=True):
            x = self._layer(x + pos[: x.shape[1]], layer)
        w, b = self.ste_head
        return torch.addmm(b, x[:, 0], w).view(*tokens.shape[:-2], self.joints, 3)

    def window(self, tokens: torch.Tensor) -> torch.Tensor:
        """Windows of tokens (..., T, d) -> the VTE's full-window poses (..., T, J, 3)."""
        x = self._vte(tokens)
        w, b = self.vte_head
        return torch.addmm(b, x.flatten(0, 1), w).view(*tokens.shape[:-1], self.joints, 3)

    def _vte(self, tokens: torch.Tensor) -> torch.Tensor:
        x = tokens.new_empty(tokens.shape)  # contiguous: the one copy of the (strided) windows
        x = torch.add(tokens, self.vte_pos, out=x).view(-1, self.frames, tokens.shape[-1])
        for layer in self.vte:
            x = self._layer(x, layer)
        return x

    def _layer(self, x: torch.Tensor, p: _Layer) -> torch.Tensor:
        """(B, t, d) -> (B, (t - 1) // stride + 1, d); updates ``x`` in place."""
        b, t, d = x.shape
        flat = x.view(b * t, d)
        q, k, v = (
            torch.addmm(p.qkv_b, _standardise(flat, p.eps), p.qkv_w)
            .view(b, t, 3, p.heads, d // p.heads)
            .permute(2, 0, 3, 1, 4)
        )
        attn = F.scaled_dot_product_attention(q, k, v, scale=1.0).transpose(1, 2).reshape(b * t, d)
        flat.addmm_(attn, p.proj_w).add_(p.proj_b)
        hidden = torch.addmm(p.fc1_b, _standardise(flat, p.eps), p.fc1_w).relu_()
        if p.stride == 1:
            return flat.addmm_(hidden, p.out_w).add_(p.out_b).view(b, t, d)
        # Conv1d(kernel, stride, padding kernel // 2) as one product: gather each output's taps.
        pad = p.kernel // 2
        hidden = F.pad(hidden.view(b, t, -1), (0, 0, pad, pad))
        taps = hidden.unfold(1, p.kernel, p.stride).transpose(2, 3)  # (B, t_out, kernel, hidden)
        t_out = taps.shape[1]
        out = torch.addmm(p.out_b, taps.reshape(b * t_out, -1), p.out_w).view(b, t_out, d)
        return out.add_(x[:, :: p.stride])


def _standardise(x: torch.Tensor, eps: float) -> torch.Tensor:
    """The official LayerNorm without its affine part: ``(x - mean) / (unbiased std + eps)``."""
    centred = x - x.mean(-1, keepdim=True)
    std = torch.linalg.vector_norm(centred, dim=-1, keepdim=True).mul_(1 / math.sqrt(x.shape[-1] - 1))
    return centred.div_(std.add_(eps))


def _fold_layer_norm(norm: OfficialLayerNorm, linear: torch.nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    """``linear(norm(x)) = W' standardise(x) + b'``: (W', b')."""
    return linear.weight * norm.weight, linear.bias + linear.weight @ norm.bias


def _fold_batch_norm(norm: torch.nn.BatchNorm1d, linear: torch.nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode ``linear(norm(x)) = x W + b``: (W (d, out), b)."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    shift = norm.bias - norm.running_mean * scale
    return (linear.weight * scale).T, linear.bias + linear.weight @ shift


class WindowEncoder:
    """Embeds frames as they arrive (each frame once) and encodes every window of T frames as soon
    as it is complete. Works on S parallel streams (sequences, mirrored copies) at once."""

    def __init__(self, net: FoldedNet, batch_size: int) -> None:
        self.net = net
        self.batch_size = batch_size
        self.frames = net.frames
        #: Called after every forward pass as ``on_batch(fraction, windows)``: the fraction of this
        #: push's windows encoded so far and the number of windows (per stream) it completes.
        self.on_batch: Callable[[float, int], None] | None = None
        self._tail: torch.Tensor | None = None  # the last T-1 embeddings: the start of the next windows

    def push(self, frames: torch.Tensor) -> torch.Tensor:
        """Next frames (S, k, J, 2) -> centre predictions (S, m, J, 3) of the m windows they complete."""
        emb = self.net.embed(frames)
        if self._tail is not None:
            emb = torch.cat([self._tail, emb], dim=1)
        self._tail = emb[:, max(0, emb.shape[1] - self.frames + 1) :]
        if emb.shape[1] < self.frames:
            return emb.new_empty(emb.shape[0], 0, self.net.joints, 3)
        windows = emb.unfold(1, self.frames, 1).transpose(2, 3)  # (S, m, T, d): a view, no copy
        return self._encode(windows)

    def reset(self) -> None:
        """Forget the carried-over frames (the next push starts a new sequence)."""
        self._tail = None

    def _encode(self, windows: torch.Tensor) -> torch.Tensor:
        """(S, m, T, d) -> (S, m, J, 3), about ``batch_size`` windows per forward pass."""
        s, m = windows.shape[:2]
        out = windows.new_empty(s, m, self.net.joints, 3)
        streams = min(s, self.batch_size)
        per_stream = max(1, self.batch_size // streams)
        for i in range(0, s, streams):
            for j in range(0, m, per_stream):
                out[i : i + streams, j : j + per_stream] = self.net.centre(windows[i : i + streams, j : j + per_stream])
                if self.on_batch is not None:
                    self.on_batch((i * m + min(j + per_stream, m) * min(streams, s - i)) / (s * m), m)
        return out
