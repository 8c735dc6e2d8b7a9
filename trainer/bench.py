"""`ocr2synth bench --trainer`: loader throughput, step rate, tokens/s and (on CUDA) MFU.

The loader and the model are measured apart: the loader over real shards with its worker
processes, the model on batches taken from that loader once and replayed, so one does
not hide the other. MFU counts 6 x parameters x tokens (forward and backward matmuls),
with the vision tower's parameters applied to its 4096 patches per image; attention's
own FLOPs are left out, so the figure is a lower bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from trainer import dist
from trainer.config import TrainConfig
from trainer.data import Source, make_loader, read_texts
from trainer.formatting import GotFormatter
from trainer.model import load_model
from trainer.presets import get_preset
from trainer.tokenizer import train_bpe
from trainer.train import token_loss_sum

# Dense bf16 peak of one H100 SXM; other GPUs get no MFU figure.
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12}
PATCHES_PER_IMAGE = 4096


@dataclass
class BenchResult:
    loader_samples_s: float
    step_s: float
    samples_s: float
    tokens_s: float
    mfu: float | None
    device: str

    def text(self) -> str:
        mfu = f"{self.mfu:.1%}" if self.mfu is not None else "n/a (no CUDA peak known)"
        return (f"device {self.device}\n"
                f"loader        {self.loader_samples_s:8.1f} samples/s\n"
                f"model step    {self.step_s * 1000:8.1f} ms\n"
                f"model         {self.samples_s:8.1f} samples/s {self.tokens_s:10.0f} tokens/s\n"
                f"loader / model {self.loader_samples_s / self.samples_s:7.2f}x\n"
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

    model = load_model(get_preset(preset), 2, tokenizer, None).to(d.device).train()
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
    for i in range(steps):
        step(i + 1)
    if d.device.type == "cuda":
        torch.cuda.synchronize()
    step_s = (time.perf_counter() - t0) / steps

    used = [batches[(i + 1) % len(batches)] for i in range(steps)]
    tokens = sum(int(b["attention_mask"].sum()) for b in used) / steps
    images = sum(int(b["pixels"].shape[0]) for b in used) / steps
    vision = sum(p.numel() for n, p in model.named_parameters() if "vision_tower" in n)
    rest = sum(p.numel() for p in model.parameters()) - vision
    flops = 6 * (vision * PATCHES_PER_IMAGE * images + rest * tokens)
    name = torch.cuda.get_device_name() if d.device.type == "cuda" else "cpu"
    peak = next((v for k, v in PEAK_FLOPS.items() if k in name), None)
    return BenchResult(loader_rate, step_s, batch_size / step_s, tokens / step_s,
                       flops / step_s / peak if peak else None, name)
