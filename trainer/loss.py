"""Next-token cross-entropy at the labelled positions only, the LM head applied in chunks.

The model's forward would project every position onto the vocabulary: for an 8K-token
batch over a 152K vocabulary that is 1.2G logits (5 GB in float32, and as much again for
log-softmax and its gradient), almost all of them on prompt and image tokens whose label
is IGNORE. Here the wrapped model runs (so DDP's and FSDP's hooks fire) with
`logits_to_keep` selecting no position at all; its last hidden state is taken with a
forward hook, the answer positions are gathered, and the head plus cross-entropy run
`chunk` rows at a time. Each chunk is checkpointed, so backward recomputes one chunk's
logits at a time instead of keeping them all.

The positions are found on the CPU copy of the labels the loader made, so nothing here
waits for the GPU.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from ocr2synth.trainer import dist
from ocr2synth.trainer.formatting import IGNORE
from ocr2synth.trainer.images import normalize
from torch.utils.checkpoint import checkpoint

CHUNK = 2048  # rows of logits at once: 2048 x 152K float32 is 1.2 GB


def _to(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    # Pinned memory makes the copy asynchronous; a pageable one would sync the stream.
    if device.type == "cuda" and not t.is_pinned():
        t = t.pin_memory()
    return t.to(device, non_blocking=True)


def answer_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(flat indices into (B*T) of the positions that predict a label, those labels)."""
    targets = labels[:, 1:]
    keep = F.pad(targets != IGNORE, (0, 1), value=False)  # position t predicts label t+1
    index = keep.flatten().nonzero().squeeze(1)
    return index, targets[targets != IGNORE]


def _inputs(batch: dict[str, Any], dtype: torch.dtype, device: torch.device
            ) -> dict[str, Any]:
    return {"input_ids": batch["input_ids"].to(device, non_blocking=True),
            "attention_mask": batch["attention_mask"].to(device, non_blocking=True),
            "pixel_values": normalize(batch["pixels"].to(device, non_blocking=True), dtype),
            "use_cache": False}


def last_hidden_state(model: torch.nn.Module, inputs: dict[str, Any]) -> torch.Tensor:
    """The decoder's final hidden states (B, T, H), through the wrapper's own forward."""
    inner = dist.unwrap(model)
    captured: list[torch.Tensor] = []
    handle = inner.model.register_forward_hook(
        lambda module, args, output: captured.append(output.last_hidden_state))
    # No position at all: transformers projects nothing onto the vocabulary. An empty index
    # (not an all-False mask, whose boolean indexing would wait for the GPU).
    none = torch.zeros(0, dtype=torch.long, device=inputs["input_ids"].device)
    try:
        model(**inputs, logits_to_keep=none)
    finally:
        handle.remove()
    return captured[-1]


def _chunk_loss(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                targets: torch.Tensor) -> torch.Tensor:
    logits = F.linear(hidden, weight, bias)
    return F.cross_entropy(logits.float(), targets, reduction="sum")


def chunked_cross_entropy(hidden: torch.Tensor, head: torch.nn.Linear, targets: torch.Tensor,
                          chunk: int = CHUNK, recompute: bool = True) -> torch.Tensor:
    """Summed cross-entropy of head(hidden) (N, H) against targets (N,), `chunk` rows at a
    time; with `recompute`, backward rebuilds each chunk's logits rather than keeping them."""
    # Starts from the graph (not a constant) so that backward works even with no rows.
    total = hidden.sum().float() * 0.0
    for start in range(0, hidden.shape[0], chunk):
        args = (hidden[start:start + chunk], head.weight, head.bias,
                targets[start:start + chunk])
        if recompute and torch.is_grad_enabled():
            total = total + checkpoint(_chunk_loss, *args, use_reentrant=False)
        else:
            total = total + _chunk_loss(*args)
    return total


def token_loss_sum(model: torch.nn.Module, batch: dict[str, Any], dtype: torch.dtype,
                   device: torch.device, chunk: int = CHUNK) -> torch.Tensor:
    """Summed next-token cross-entropy over answer tokens (the prompt is labelled IGNORE)."""
    index, targets = answer_positions(batch["labels"])
    index, targets = _to(index, device), _to(targets, device)
    with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        hidden = last_hidden_state(model, _inputs(batch, dtype, device))
        picked = hidden.flatten(0, 1).index_select(0, index)
        head = dist.unwrap(model).get_output_embeddings()
        return chunked_cross_entropy(picked, head, targets, chunk)


def full_logits_loss_sum(model: torch.nn.Module, batch: dict[str, Any], dtype: torch.dtype,
                         device: torch.device) -> torch.Tensor:
    """The reference: every position's logits, then cross-entropy (what transformers does)."""
    labels = batch["labels"].to(device, non_blocking=True)
    with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        logits = model(**_inputs(batch, dtype, device)).logits
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(),
                           ignore_index=IGNORE, reduction="sum")
