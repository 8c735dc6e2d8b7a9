"""One GOT stage, top to bottom: tokenizer, model, data, optimizer, loop, checkpoints.

Run on one process (CPU or one GPU) or under `torchrun` (DDP). Re-running the same
command on the same `--out` resumes from the newest checkpoint there, data position
included, and continues the same loss curve.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from ocr2synth.trainer import checkpoint, dist
from ocr2synth.trainer.attention import use_sdpa_vision
from ocr2synth.trainer.config import TrainConfig
from ocr2synth.trainer.data import LoaderState, make_loader, read_texts
from ocr2synth.trainer.formatting import IGNORE, GotFormatter
from ocr2synth.trainer.loss import token_loss_sum
from ocr2synth.trainer.model import freeze_encoder, from_checkpoint, load_model
from ocr2synth.trainer.presets import get_preset
from ocr2synth.trainer.prompts import SYSTEM
from ocr2synth.trainer.tokenizer import load_tokenizer, train_bpe
from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

# Called after every optimizer step with (step, loss); tests and callers watch the curve.
StepHook = Callable[[int, float], None]


def resolve_tokenizer(cfg: TrainConfig, d: dist.Dist) -> PreTrainedTokenizerBase:
    """--tokenizer, else the --decoder's (its ids are what its weights know), else the
    --init-from checkpoint's, else a BPE trained on the shards."""
    if cfg.tokenizer:
        return load_tokenizer(cfg.tokenizer)
    if cfg.decoder:
        return load_tokenizer(cfg.decoder)
    if cfg.init_from and (Path(cfg.init_from) / "tokenizer_config.json").exists():
        return load_tokenizer(cfg.init_from)
    # Rank 0 trains and saves it; the others load the same file rather than retrain.
    path = Path(cfg.out) / "tokenizer"
    if d.main and not (path / "tokenizer_config.json").exists():
        roots = [cfg.data] + ([cfg.replay] if cfg.replay else [])
        fixed = [SYSTEM, "user\n", "assistant\n", " OCR with format across multi pages: "]
        tokenizer = train_bpe([*read_texts(roots, cfg.tokenizer_texts), *fixed],
                              cfg.tokenizer_vocab)
        tokenizer.save_pretrained(path)
    dist.barrier(d)
    return load_tokenizer(path)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to zero at max_steps (GOT's schedule)."""
    peak, warmup = cfg.resolved_lr(), cfg.resolved_warmup()
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, cfg.max_steps - warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def compile_blocks(model: torch.nn.Module, backend: str = "inductor") -> int:
    """torch.compile every vision block and decoder layer in place (parameter names, hence
    checkpoints, unchanged); returns how many. Blocks rather than the whole model: the
    model's forward has data-dependent steps (image scatter, masks) that break graphs."""
    units = dist.shard_units(model)
    for unit in units:
        unit.compile(backend=backend)
    return len(units)


def train(cfg: TrainConfig, on_step: StepHook | None = None) -> Path:
    """Runs the stage to `max_steps`; returns the final checkpoint's folder."""
    cfg.validate()
    d = dist.init()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    dtype = torch.bfloat16 if (cfg.precision == "bf16" or (
        cfg.precision == "auto" and d.device.type == "cuda")) else torch.float32

    # --- model and tokenizer: a checkpoint of this run, or the stage's starting point
    resume_from = checkpoint.latest(out) if cfg.resume else None
    torch.manual_seed(cfg.seed)
    if resume_from is not None:
        log.info("resuming from %s", resume_from)
        tokenizer = load_tokenizer(resume_from)
        model = from_checkpoint(resume_from)
        state = checkpoint.load_state(resume_from)
    else:
        tokenizer = resolve_tokenizer(cfg, d)
        model = load_model(get_preset(cfg.preset), cfg.stage, tokenizer, cfg.init_from,
                           decoder=cfg.decoder, vision=cfg.vision,
                           encoder_width=cfg.encoder_width)
        state = None
    if cfg.sdpa_vision:
        log.info("vision attention through SDPA: %d modules", use_sdpa_vision(model))
    if cfg.spec.freeze_encoder:
        log.info("encoder frozen (vision tower, both convolutions): %d parameters",
                 freeze_encoder(model))
    if cfg.grad_checkpointing:
        model.gradient_checkpointing_enable({"use_reentrant": False})
    model.to(d.device)
    model.train()
    wrapped = dist.wrap(model, d, cfg.parallel, dtype)
    if cfg.compile:
        log.info("torch.compile: %d blocks", compile_blocks(model))

    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim >= 2]  # no decay on norms and biases
    rest = [p for p in trainable if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest,
                                                                "weight_decay": 0.0}],
        lr=cfg.resolved_lr(), betas=cfg.betas, fused=d.device.type == "cuda")
    step = 0
    loader_state = LoaderState()
    if state is not None:
        dist.load_optimizer(wrapped, optimizer, state["optimizer"])
        step = state["step"]
        loaders = state["loader"]
        if len(loaders) != d.world or state.get("num_workers") != cfg.num_workers:
            raise ValueError(f"{resume_from} was written by {len(loaders)} ranks with "
                             f"{state.get('num_workers')} loader workers; resume with the same")
        loader_state = LoaderState.from_dict(loaders[d.rank])
    if d.main:
        log.info("stage %d, %s: %.1fM parameters (%.1fM trainable), %s on %s x %d",
                 cfg.stage, cfg.preset, sum(p.numel() for p in model.parameters()) / 1e6,
                 sum(p.numel() for p in trainable) / 1e6, dtype, d.device, d.world)

    # --- data
    max_length = cfg.resolved_max_length()
    positions = getattr(model.config.text_config, "max_position_embeddings", None)
    if positions and positions < max_length:
        log.warning("max length %d capped at the decoder's %d positions", max_length, positions)
        max_length = positions
    formatter = GotFormatter(tokenizer, max_length=max_length,
                             max_tiles=cfg.max_tiles, style=cfg.prompt_style)
    loader = make_loader(cfg.sources(), formatter, cfg.batch_size, cfg.seed, d.rank, d.world,
                         cfg.num_workers, loader_state, cfg.group_by_length)
    batches = iter(loader)

    def summary() -> dict[str, Any]:
        return {"config": asdict(cfg), "step": step, "skipped": loader_state.skipped(),
                "world": d.world}

    def save(path: Path) -> None:
        loaders = dist.gather(loader_state.to_dict(), d)
        weights, optim = dist.full_state(wrapped, optimizer)  # FSDP: a collective
        if d.main:
            checkpoint.save(path, model, tokenizer, {
                "step": step, "optimizer": optim, "loader": loaders,
                "num_workers": cfg.num_workers, "config": asdict(cfg)}, summary(),
                weights=weights)
        dist.barrier(d)

    # --- the loop
    t0, first_step, tokens_seen = time.perf_counter(), step, 0
    while step < cfg.max_steps:
        micro = [next(batches) for _ in range(cfg.grad_accum)]
        for batch in micro:
            loader_state.update(batch)
        # Normalise by the answer tokens of the whole step on every rank, so accumulation
        # and data parallelism give the gradient of one big batch. Counted on the loader's
        # CPU tensors: no wait for the GPU.
        local_tokens = sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in micro)
        n_tokens: float | torch.Tensor = float(local_tokens)
        if d.world > 1:
            n_tokens = dist.all_sum(torch.tensor(local_tokens, dtype=torch.float64,
                                                 device=d.device), d)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss_total = torch.zeros((), dtype=torch.float64, device=d.device)
        for i, batch in enumerate(micro):
            with dist.no_sync(wrapped, skip=i < len(micro) - 1):
                loss_sum = token_loss_sum(wrapped, batch, dtype, d.device)
                # DDP averages gradients over ranks; scale back up to a global token mean.
                (loss_sum * d.world / n_tokens).backward()
            loss_total += loss_sum.detach().double()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens_seen += sum(int(b["attention_mask"].sum()) for b in micro)  # CPU tensors
        # The loss stays on the device unless someone reads it: a float() every step would
        # make the host wait for the GPU to finish the step. Every rank takes the same branch
        # (the all_sum is a collective).
        logging_step = step % cfg.log_every == 0 or step == 1
        loss = math.nan
        if logging_step or on_step is not None:
            loss = float(dist.all_sum(loss_total, d) / n_tokens)

        if d.main and logging_step:
            elapsed = time.perf_counter() - t0
            log.info("step %d/%d loss %.4f lr %.2e | %.2f steps/s %.0f tok/s | skipped %s",
                     step, cfg.max_steps, loss, lr_at(step - 1, cfg),
                     (step - first_step) / elapsed, tokens_seen / elapsed,
                     loader_state.skipped() or "none")
        if on_step is not None:
            on_step(step, loss)
        if step % cfg.save_every == 0 and step < cfg.max_steps:
            save(checkpoint.step_dir(out, step))
            if d.main:
                checkpoint.prune(out, cfg.keep_last)

    final = out / "final"
    save(final)
    if d.main:
        log.info("done: %d steps; skipped samples %s; final checkpoint %s", step,
                 loader_state.skipped() or "none", final)
    dist.shutdown(d)
    return final
