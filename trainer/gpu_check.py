"""`make gpu-check`: the trainer's figures on one GPU, in one prepared run (under 8 minutes
on an H100/H200).

1. GOT's shapes: the `got` preset in stage 2 (ViTDet-base + Qwen-0.5B, Qwen's 151,936-row
   vocabulary), bf16 autocast over fp32 master weights, fused AdamW, SDPA vision attention
   and the label-only loss, as `ocr2synth train` runs them; synthetic batches of one page
   and `--seq-len` tokens per sample at batch 1, 2 and 4. Per batch size: step time,
   tokens/s, MFU and peak memory. A batch that does not fit is reported as such and the
   rest go on.
2. `--proof-steps` steps of `make proof` (trainer.proof) on the sets under `--proof-train`
   and `--proof-heldout`, when they exist (render them first with `make proof`, or carry
   them to a machine that cannot render).

Everything is printed and written to `OUT/gpu_check.json` and `OUT/gpu_check.md` (OUT:
`--out`, else `$OUT` where the device runner sets it, else out/gpu-check). On a CPU the
same code runs with the tiny preset and short sequences, which is how the tests check it.

MFU counts 6 x parameters x tokens for the matmuls (the vision tower's parameters over its
4096 patches per image) plus the attention scores and values (decoder: causal, half of
T^2 per layer; vision: 14x14 windows and the global layers' 4096^2), against the dense
bf16 peak of the GPU (H100/H200 SXM: 989 TFLOP/s).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from ocr2synth.trainer.bench import PATCHES_PER_IMAGE as PATCHES
from ocr2synth.trainer.bench import PEAK_FLOPS

log = logging.getLogger(__name__)

QWEN_VOCAB = 151_936


@dataclass
class StepFigure:
    batch_size: int
    seq_len: int
    step_ms: float | None = None
    tokens_s: float | None = None
    mfu: float | None = None
    peak_mib: float | None = None
    error: str | None = None


def model_flops(model: torch.nn.Module, batch_size: int, seq_len: int) -> float:
    """FLOPs of one forward + backward (3x the forward) for `batch_size` pages of
    `seq_len` tokens: matmuls from the parameter counts, attention from the shapes."""
    config = model.config
    vision = sum(p.numel() for n, p in model.named_parameters() if "vision_tower" in n)
    rest = sum(p.numel() for p in model.parameters()) - vision
    text, vis = config.text_config, config.vision_config
    tokens = batch_size * seq_len
    matmul = 2 * (vision * PATCHES * batch_size + rest * tokens)
    # QK^T and AV: 2 x 2 x d per query-key pair; causal decoder sees half of T^2.
    decoder_attn = 4 * text.hidden_size * text.num_hidden_layers * batch_size * seq_len ** 2 / 2
    n_global = len(vis.global_attn_indexes)
    window = vis.window_size ** 2
    vision_attn = 4 * vis.hidden_size * batch_size * PATCHES * (
        n_global * PATCHES + (vis.num_hidden_layers - n_global) * window)
    return 3 * (matmul + decoder_attn + vision_attn)


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_FLOPS.items() if k in name), None)


def _train_step(loss_sum: Any, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                batch: dict[str, torch.Tensor], n_labels: float, dtype: torch.dtype,
                device: torch.device) -> None:
    (loss_sum(model, batch, dtype, device) / n_labels).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def step_figures(preset: str, seq_len: int, batch_sizes: list[int], steps: int,
                 vocab: int, device: torch.device, compile_blocks: bool = False
                 ) -> list[StepFigure]:
    from ocr2synth.trainer.bench import synthetic_batch, synthetic_model
    from ocr2synth.trainer.loss import token_loss_sum
    from ocr2synth.trainer.memory import PeakMemory

    model = synthetic_model(preset, 2, vocab)
    vocab = model.config.text_config.vocab_size
    model.to(device).train()
    if compile_blocks:
        from ocr2synth.trainer.train import compile_blocks as compile_units

        compile_units(model)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")
    image_token = model.config.image_token_index
    peak = peak_flops(device)
    figures = []
    for batch_size in batch_sizes:
        figure = StepFigure(batch_size, seq_len)
        batch = synthetic_batch(seq_len, batch_size, vocab, image_token)
        n = float((batch["labels"][:, 1:] != -100).sum())
        try:
            # The first step warms the kernels, the allocator and the optimizer state.
            _train_step(token_loss_sum, model, optimizer, batch, n, dtype, device)
            with PeakMemory(device) as memory:
                t0 = time.perf_counter()
                for _ in range(steps):
                    _train_step(token_loss_sum, model, optimizer, batch, n, dtype, device)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                seconds = (time.perf_counter() - t0) / steps
        except torch.OutOfMemoryError as exc:
            figure.error = f"out of memory: {str(exc).splitlines()[0]}"
            optimizer.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            figures.append(figure)
            log.warning("batch %d: %s", batch_size, figure.error)
            continue
        figure.step_ms = seconds * 1000
        figure.tokens_s = batch_size * seq_len / seconds
        figure.peak_mib = memory.peak / 2 ** 20
        if peak:
            figure.mfu = model_flops(model, batch_size, seq_len) / seconds / peak
        figures.append(figure)
        log.info("batch %d x %d tokens: %.1f ms/step, %.0f tokens/s, MFU %s, peak %.0f MiB",
                 batch_size, seq_len, figure.step_ms, figure.tokens_s,
                 f"{figure.mfu:.1%}" if figure.mfu is not None else "n/a", figure.peak_mib)
    return figures


def markdown(report: dict[str, Any]) -> str:
    lines = [f"## gpu-check on {report['device']} ({report['date']})", "",
             f"`got` preset ({report['preset']}), stage 2, bf16 autocast, "
             f"{report['seq_len']} tokens per sample, vocabulary {report['vocab']:,}, "
             f"torch {report['torch']}, transformers {report['transformers']}", "",
             "| batch | step (ms) | tokens/s | MFU | peak memory (MiB) |",
             "|---:|---:|---:|---:|---:|"]
    for f in report["steps"]:
        if f["error"]:
            lines.append(f"| {f['batch_size']} | {f['error']} | | | |")
            continue
        mfu = f"{f['mfu']:.1%}" if f["mfu"] is not None else "n/a"
        lines.append(f"| {f['batch_size']} | {f['step_ms']:.1f} | {f['tokens_s']:,.0f} | "
                     f"{mfu} | {f['peak_mib']:,.0f} |")
    proof = report.get("proof")
    if proof:
        lines += ["", f"Proof, {proof['steps']} steps ({proof['preset']} preset, "
                  f"{proof['seconds']:.0f} s):", "",
                  "| step | held-out loss | blanked | gap | edit distance |",
                  "|---:|---:|---:|---:|---:|"]
        for p in proof["points"]:
            lines.append(f"| {p['step']} | {p['loss']:.3f} | {p['blank_loss']:.3f} | "
                         f"{p['blank_loss'] - p['loss']:.4f} | {p['edit_distance']:.3f} |")
    elif report.get("proof_skipped"):
        lines += ["", f"Proof: skipped ({report['proof_skipped']})"]
    lines.append(f"\nwall time {report['seconds']:.0f} s")
    return "\n".join(lines) + "\n"


def run(out: Path, preset: str, seq_len: int, batch_sizes: list[int], steps: int, vocab: int,
        proof_train: str | None, proof_heldout: str | None, proof_steps: int,
        proof_preset: str, proof_batch_size: int, num_workers: int,
        compile_blocks: bool = False) -> dict[str, Any]:
    import transformers

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "date": time.strftime("%Y-%m-%d"), "preset": preset, "seq_len": seq_len,
        "vocab": vocab, "torch": torch.__version__, "transformers": transformers.__version__}
    report["steps"] = [asdict(f) for f in step_figures(preset, seq_len, batch_sizes, steps,
                                                        vocab, device, compile_blocks)]
    _write(out, report, t0)  # the step figures survive a proof that dies
    if proof_train and proof_heldout and Path(proof_train, "shards").is_dir() and Path(
            proof_heldout, "shards").is_dir():
        from ocr2synth.trainer.proof import run as proof

        p0 = time.perf_counter()
        points = proof(proof_train, proof_heldout, out / "proof", proof_steps,
                       max(1, proof_steps // 3), proof_preset, proof_batch_size,
                       lr=1e-3 if proof_preset == "tiny" else 1e-4, num_workers=num_workers)
        report["proof"] = {"steps": proof_steps, "preset": proof_preset,
                           "seconds": time.perf_counter() - p0,
                           "points": [{**asdict(p), "gap": p.gap} for p in points]}
    else:
        report["proof_skipped"] = f"no rendered sets at {proof_train} and {proof_heldout}"
    _write(out, report, t0)
    return report


def _write(out: Path, report: dict[str, Any], t0: float) -> None:
    report["seconds"] = time.perf_counter() - t0
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    (out / "gpu_check.md").write_text(markdown(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocr2synth.trainer.gpu_check",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT") or "out/gpu-check")
    parser.add_argument("--preset", default="got")
    parser.add_argument("--seq-len", type=int, default=8192)
    parser.add_argument("--batch-sizes", default="1,2,4")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per batch size")
    parser.add_argument("--vocab", type=int, default=QWEN_VOCAB)
    parser.add_argument("--compile", action="store_true", help="torch.compile the blocks")
    parser.add_argument("--proof-train", default="out/proof/train")
    parser.add_argument("--proof-heldout", default="out/proof/heldout")
    parser.add_argument("--proof-steps", type=int, default=300)
    parser.add_argument("--proof-preset", default="tiny")
    parser.add_argument("--proof-batch-size", type=int, default=8)
    parser.add_argument("--num-workers", type=int, default=4, help="proof loader processes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    report = run(Path(args.out), args.preset, args.seq_len,
                 [int(b) for b in args.batch_sizes.split(",")], args.steps, args.vocab,
                 args.proof_train, args.proof_heldout, args.proof_steps, args.proof_preset,
                 args.proof_batch_size, args.num_workers, args.compile)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
