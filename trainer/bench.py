"""`ocr2synth bench --trainer`: loader throughput, step rate, tokens/s, peak memory, MFU.

The loader and the model are measured apart: the loader over real shards with its worker
processes, the model on batches taken from that loader once and replayed, so one does
not hide the other. MFU counts 6 x parameters x tokens (forward and backward matmuls),
with the vision tower's parameters applied to its 4096 patches per image; attention's
own FLOPs are left out, so the figure is a lower bound.

`--seq-len N` measures one forward and backward of a synthetic batch instead (one page
and N tokens per sample, every answer token labelled), no data needed: the shapes GOT
trains at. `--baseline` runs it as transformers would (eager vision attention, logits at
every position) for the before/after comparison.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from ocr2synth.trainer import dist
from ocr2synth.trainer.attention import use_sdpa_vision
from ocr2synth.trainer.config import TrainConfig
from ocr2synth.trainer.data import Source, make_loader, padding_share, read_texts
from ocr2synth.trainer.formatting import IGNORE, GotFormatter
from ocr2synth.trainer.loss import full_logits_loss_sum, token_loss_sum
from ocr2synth.trainer.memory import PeakMemory
from ocr2synth.trainer.model import GotOcr2ForConditionalGeneration, load_model, preset_config
from ocr2synth.trainer.presets import IMAGE_SIZE, IMAGE_TOKENS, get_preset, padded_vocab
from ocr2synth.trainer.tokenizer import train_bpe

# Dense bf16 peaks (SXM parts); other GPUs get no MFU figure.
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}
PATCHES_PER_IMAGE = 4096


@dataclass
class BenchResult:
    loader_samples_s: float
    step_s: float
    samples_s: float
    tokens_s: float
    mfu: float | None
    device: str
    memory: str = ""
    padding: float = 0.0

    def text(self) -> str:
        mfu = f"{self.mfu:.1%}" if self.mfu is not None else "n/a (no CUDA peak known)"
        return (f"device {self.device}\n"
                f"loader        {self.loader_samples_s:8.1f} samples/s, "
                f"{self.padding:.1%} of batch positions padding\n"
                f"model step    {self.step_s * 1000:8.1f} ms\n"
                f"model         {self.samples_s:8.1f} samples/s {self.tokens_s:10.0f} tokens/s\n"
                f"loader / model {self.loader_samples_s / self.samples_s:7.2f}x\n"
                f"memory        {self.memory}\n"
                f"MFU           {mfu}")


def run(data: str, preset: str = "tiny", batch_size: int = 2, steps: int = 5,
        num_workers: int = 2, loader_batches: int = 20) -> BenchResult:
    d = dist.init()
    tokenizer = train_bpe(read_texts([data], 20_000), 8000)
    cfg = TrainConfig(stage=2, data=data, out="", preset=preset, batch_size=batch_size)
    formatter = GotFormatter(tokenizer, max_length=cfg.resolved_max_length())
    sources = [Source("all", data, None, 1.0)]

    loader = iter(make_loader(sources, formatter, batch_size, 0, 0, 1, num_workers))
    next(loader)  # workers started and warm
    t0 = time.perf_counter()
    batches = [next(loader) for _ in range(loader_batches)]
    loader_rate = loader_batches * batch_size / (time.perf_counter() - t0)

    model = load_model(get_preset(preset), 2, tokenizer, None)
    use_sdpa_vision(model)
    model.to(d.device).train()
    dtype = torch.bfloat16 if d.device.type == "cuda" else torch.float32
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=d.device.type == "cuda")

    def step(i: int) -> None:
        batch = batches[i % len(batches)]
        n = max(1, int((batch["labels"] != -100).sum()))
        (token_loss_sum(model, batch, dtype, d.device) / n).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(0)  # allocator and kernels warm
    if d.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with PeakMemory(d.device) as memory:
        for i in range(steps):
            step(i + 1)
    step_s = (time.perf_counter() - t0) / steps  # PeakMemory synchronised CUDA

    used = [batches[(i + 1) % len(batches)] for i in range(steps)]
    tokens = sum(int(b["attention_mask"].sum()) for b in used) / steps
    images = sum(int(b["pixels"].shape[0]) for b in used) / steps
    vision = sum(p.numel() for n, p in model.named_parameters() if "vision_tower" in n)
    rest = sum(p.numel() for p in model.parameters()) - vision
    flops = 6 * (vision * PATCHES_PER_IMAGE * images + rest * tokens)
    name = torch.cuda.get_device_name() if d.device.type == "cuda" else "cpu"
    peak = next((v for k, v in PEAK_FLOPS.items() if k in name), None)
    return BenchResult(loader_rate, step_s, batch_size / step_s, tokens / step_s,
                       flops / step_s / peak if peak else None, name, memory.text(),
                       padding_share(batches))


@dataclass
class ForwardBackward:
    seq_len: int
    batch_size: int
    vocab: int
    seconds: float
    memory: str
    loss: float
    mode: str
    device: str

    def text(self) -> str:
        return (f"device {self.device}: {self.mode}\n"
                f"batch {self.batch_size} x {self.seq_len} tokens, vocabulary {self.vocab:,}\n"
                f"forward + backward {self.seconds:8.1f} s (loss {self.loss:.3f})\n"
                f"memory        {self.memory}")


def synthetic_batch(seq_len: int, batch_size: int, vocab: int, image_token: int,
                    prompt: int = 16, seed: int = 0) -> dict[str, torch.Tensor]:
    """One page per sample: its image tokens, a few prompt tokens, then answer tokens to
    `seq_len`, all labelled; random pixels."""
    if seq_len <= IMAGE_TOKENS + prompt + 1:
        raise ValueError(f"--seq-len must exceed {IMAGE_TOKENS + prompt + 1}")
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch_size, seq_len), generator=g)
    ids[ids == image_token] = (image_token + 1) % vocab
    ids[:, :IMAGE_TOKENS] = image_token
    labels = ids.clone()
    labels[:, :IMAGE_TOKENS + prompt] = IGNORE
    pixels = torch.randint(0, 256, (batch_size, 3, IMAGE_SIZE, IMAGE_SIZE), generator=g,
                           dtype=torch.uint8)
    return {"input_ids": ids, "labels": labels, "pixels": pixels,
            "attention_mask": torch.ones_like(ids)}


def synthetic_model(preset: str, stage: int, vocab: int, sdpa_vision: bool = True
                    ) -> GotOcr2ForConditionalGeneration:
    """The preset's model from scratch (seed 0) with a vocabulary of `vocab` rows (rounded
    up as the trainer rounds), for measurements on synthetic batches."""
    tokenizer = train_bpe(["alpha beta gamma delta"] * 4, 300)
    config = preset_config(get_preset(preset), stage, tokenizer)
    config.text_config.vocab_size = padded_vocab(vocab)
    torch.manual_seed(0)
    model = GotOcr2ForConditionalGeneration(config)
    if sdpa_vision:
        use_sdpa_vision(model)
    return model


def forward_backward(preset: str = "got", seq_len: int = 8192, batch_size: int = 1,
                     vocab: int = 16_000, baseline: bool = False,
                     grad_checkpointing: bool = False, stage: int = 2) -> ForwardBackward:
    """Peak memory and time of one forward + backward at GOT's shapes (synthetic data).
    `vocab`: the trainer's default BPE size; the released GOT's (Qwen's) is 151,860."""
    d = dist.init()
    model = synthetic_model(preset, stage, vocab, sdpa_vision=not baseline)
    config = model.config
    if grad_checkpointing:
        model.gradient_checkpointing_enable({"use_reentrant": False})
    model.to(d.device).train()
    dtype = torch.bfloat16 if d.device.type == "cuda" else torch.float32
    batch = synthetic_batch(seq_len, batch_size, config.text_config.vocab_size,
                            config.image_token_index)
    loss_fn = full_logits_loss_sum if baseline else token_loss_sum
    t0 = time.perf_counter()
    with PeakMemory(d.device) as memory:
        loss = loss_fn(model, batch, dtype, d.device)
        loss.backward()
    seconds = time.perf_counter() - t0
    name = torch.cuda.get_device_name() if d.device.type == "cuda" else "cpu"
    mode = ("eager vision attention, full logits" if baseline
            else "SDPA vision attention, label-only chunked loss")
    if grad_checkpointing:
        mode += ", gradient checkpointing"
    n = int((batch["labels"][:, 1:] != IGNORE).sum())
    return ForwardBackward(seq_len, batch_size, config.text_config.vocab_size, seconds,
                           memory.text(), float(loss.detach()) / n, mode, name)
