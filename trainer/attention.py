"""The vision tower's attention through `scaled_dot_product_attention`.

transformers runs GotOcr2's SAM-style attention eagerly: for a global layer that is a
4096x4096 score matrix per head in float32 (softmax), plus the decomposed relative-position
term (`rel_h[..., :, None] + rel_w[..., None, :]`) as another one, all kept for backward.

Here that term is an additive bias, but never materialised: it is folded into the dot
product. With q' = [scale * q, rel_h(q), rel_w(q)] and k' = [k, onehot(row(k)),
onehot(col(k))], q' . k' = scale * q . k + rel_h[q, row(k)] + rel_w[q, col(k)], exactly
the eager score. SDPA then runs with no mask at all (head dim 64 + 64 + 64 for a global
layer), so the flash and memory-efficient kernels stay eligible. `mode="bias"` passes the
same term as an explicit float `attn_mask` instead (kept for comparison).

The switch changes the modules' class only, never a parameter: a saved checkpoint is the
same as eager's and loads in plain transformers.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from transformers.models.got_ocr2.modeling_got_ocr2 import GotOcr2VisionAttention

Mode = Literal["fold", "bias"]


def _rel_terms(attn: GotOcr2VisionAttention, q: torch.Tensor, height: int, width: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """rel_h (B, n, HW, H) and rel_w (B, n, HW, W): eager's decomposed terms, per head."""
    rh = attn.get_rel_pos(height, height, attn.rel_pos_h)  # (H, H, d)
    rw = attn.get_rel_pos(width, width, attn.rel_pos_w)  # (W, W, d)
    b, n, _, d = q.shape
    grid = q.reshape(b, n, height, width, d)
    rel_h = torch.einsum("bnhwc,hkc->bnhwk", grid, rh).reshape(b, n, height * width, height)
    rel_w = torch.einsum("bnhwc,wkc->bnhwk", grid, rw).reshape(b, n, height * width, width)
    return rel_h, rel_w


def _pad_last(x: torch.Tensor, size: int) -> torch.Tensor:
    return x if x.shape[-1] == size else F.pad(x, (0, size - x.shape[-1]))


def _folded(attn: GotOcr2VisionAttention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
            height: int, width: int, dropout: float) -> torch.Tensor:
    rel_h, rel_w = _rel_terms(attn, q, height, width)
    rows = torch.eye(height, dtype=k.dtype, device=k.device).repeat_interleave(width, dim=0)
    cols = torch.eye(width, dtype=k.dtype, device=k.device).repeat(height, 1)
    keys_pos = torch.cat([rows, cols], dim=-1).expand(*k.shape[:2], -1, -1)  # (B, n, HW, H+W)
    q2 = torch.cat([q * attn.scale, rel_h.to(q.dtype), rel_w.to(q.dtype)], dim=-1)
    k2 = torch.cat([k, keys_pos], dim=-1)
    # One head dim for q, k and v, a multiple of 8: what the flash kernels want.
    dim = -(-q2.shape[-1] // 8) * 8
    out = F.scaled_dot_product_attention(_pad_last(q2, dim), _pad_last(k2, dim),
                                         _pad_last(v, dim), dropout_p=dropout, scale=1.0)
    return out[..., : v.shape[-1]]


def _biased(attn: GotOcr2VisionAttention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
            height: int, width: int, dropout: float) -> torch.Tensor:
    rel_h, rel_w = _rel_terms(attn, q, height, width)
    b, n, hw, _ = q.shape
    bias = (rel_h[..., :, None] + rel_w[..., None, :]).reshape(b, n, hw, hw).to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout,
                                          scale=attn.scale)


class SdpaVisionAttention(GotOcr2VisionAttention):
    """GotOcr2VisionAttention's parameters and maths; SDPA's kernels. Returns no weights."""

    sdpa_mode: Mode = "fold"

    def forward(self, hidden_states: torch.Tensor, output_attentions: bool | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if output_attentions:  # only eager has weights to return
            return super().forward(hidden_states, output_attentions)
        b, height, width, _ = hidden_states.shape
        n = self.num_attention_heads
        qkv = self.qkv(hidden_states).reshape(b, height * width, 3, n, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # (B, n, HW, d) each
        dropout = self.dropout if self.training else 0.0
        if not self.use_rel_pos:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=self.scale)
        elif self.sdpa_mode == "bias":
            out = _biased(self, q, k, v, height, width, dropout)
        else:
            out = _folded(self, q, k, v, height, width, dropout)
        out = out.permute(0, 2, 1, 3).reshape(b, height, width, -1)
        return self.proj(out), None


class BiasSdpaVisionAttention(SdpaVisionAttention):
    sdpa_mode: Mode = "bias"


def use_sdpa_vision(model: torch.nn.Module, mode: Mode = "fold") -> int:
    """Switch every vision attention module of `model` to SDPA; returns how many changed."""
    cls = SdpaVisionAttention if mode == "fold" else BiasSdpaVisionAttention
    changed = 0
    for module in model.modules():
        if isinstance(module, GotOcr2VisionAttention) and type(module) is not cls:
            module.__class__ = cls
            changed += 1
    return changed


def use_eager_vision(model: torch.nn.Module) -> int:
    """Back to transformers' own forward (for comparisons); returns how many changed."""
    changed = 0
    for module in model.modules():
        if isinstance(module, SdpaVisionAttention):
            module.__class__ = GotOcr2VisionAttention
            changed += 1
    return changed
