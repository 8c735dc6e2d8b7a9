"""`make proof`: does the data teach? Train on one rendered set, measure on another.

The model is trained from scratch on `--train` (a stage-2-like mix), a checkpoint every
`--eval-every` steps. Each checkpoint is scored on `--heldout` (the same mix rendered with
another seed): the answer tokens' mean loss with the real images, the same loss with every
image blanked to white, and the normalised edit distance of greedy readings of a few
samples. A model that reads the image has a lower loss with it than without: the gap is
the figure. Written to `OUT/report.md` (a table) and `OUT/proof.png` (the curves); nothing
here asserts a number.

This module knows shards and checkpoints, not how the sets were rendered.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from ocr2synth.trainer import checkpoint
from ocr2synth.trainer.config import TrainConfig
from ocr2synth.trainer.data import COLUMNS, shard_files
from ocr2synth.trainer.formatting import IGNORE, GotFormatter, SampleError, collate
from ocr2synth.trainer.images import decode
from ocr2synth.trainer.loss import token_loss_sum
from ocr2synth.trainer.metrics import normalized_edit_distance
from ocr2synth.trainer.model import from_checkpoint
from ocr2synth.trainer.prompts import Query
from ocr2synth.trainer.tokenizer import load_tokenizer
from ocr2synth.trainer.train import train

log = logging.getLogger(__name__)


@dataclass
class Point:
    step: int
    loss: float  # held-out answer-token loss, real images
    blank_loss: float  # the same samples, every image white
    edit_distance: float  # greedy readings, mean normalised edit distance
    train_loss: float | None = None

    @property
    def gap(self) -> float:
        return self.blank_loss - self.loss


def heldout_rows(root: str | Path, limit: int) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for path in shard_files(root):
        rows.extend(pq.read_table(path, columns=COLUMNS).to_pylist())
        if len(rows) >= limit:
            break
    return rows[:limit]


@torch.inference_mode()
def heldout_loss(model: torch.nn.Module, formatter: GotFormatter, rows: list[dict[str, Any]],
                 blank: bool, batch_size: int = 8) -> float:
    encoded = []
    for row in rows:
        try:
            encoded.append(formatter.encode(row))
        except SampleError:
            continue
    device = next(model.parameters()).device
    total, tokens = 0.0, 0
    for i in range(0, len(encoded), batch_size):
        batch = collate(encoded[i:i + batch_size], formatter.tokenizer.pad_token_id)
        if blank:
            batch["pixels"] = torch.full_like(batch["pixels"], 255)
        total += float(token_loss_sum(model, batch, torch.float32, device))
        tokens += int((batch["labels"][:, 1:] != IGNORE).sum())
    return total / max(1, tokens)


def reading_distance(path: Path, rows: list[dict[str, Any]], max_new_tokens: int) -> float:
    """Greedy readings of the held-out rows whose whole answer fits in `max_new_tokens`,
    each scored against its full target."""
    from ocr2synth.trainer.infer import Reader

    reader = Reader.load(path, max_new_tokens=max_new_tokens)
    tokenizer = reader.processor.tokenizer
    distances = []
    for row in rows:
        query = Query.parse(row["prompt"])
        if (not query.parsed or query.multi_page or query.crop
                or len(tokenizer(row["target"])["input_ids"]) >= max_new_tokens):
            continue
        pred = reader.read([decode(row["image"]["bytes"])], query)
        distances.append(normalized_edit_distance(pred, row["target"]))
    return sum(distances) / len(distances) if distances else float("nan")


def run(train_dir: str, heldout_dir: str, out: Path, steps: int, eval_every: int,
        preset: str = "tiny", batch_size: int = 8, lr: float = 1e-3, heldout: int = 96,
        readings: int = 16, max_new_tokens: int = 96, num_workers: int = 2,
        seed: int = 0) -> list[Point]:
    out.mkdir(parents=True, exist_ok=True)
    train_losses: dict[int, float] = {}
    t0 = time.perf_counter()
    cfg = TrainConfig(stage=2, data=train_dir, out=str(out / "run"), preset=preset,
                      max_steps=steps, batch_size=batch_size, lr=lr,
                      warmup_steps=max(1, steps // 20), save_every=eval_every,
                      keep_last=steps // eval_every + 1, log_every=max(1, eval_every // 2),
                      num_workers=num_workers, tokenizer_vocab=4000, replay_share=0.0,
                      seed=seed)
    final = train(cfg, on_step=lambda s, loss: train_losses.__setitem__(s, loss))
    train_s = time.perf_counter() - t0

    rows = heldout_rows(heldout_dir, heldout)
    tokenizer = load_tokenizer(final)
    formatter = GotFormatter(tokenizer, max_length=cfg.resolved_max_length())
    short = [r for r in rows if len(tokenizer(r["target"])["input_ids"]) < max_new_tokens]
    points = []
    for path in [*sorted((out / "run").glob(f"{checkpoint.STEP_PREFIX}*")), final]:
        step = checkpoint.saved_step(path)
        model = from_checkpoint(path).eval()
        points.append(Point(step, heldout_loss(model, formatter, rows, blank=False),
                            heldout_loss(model, formatter, rows, blank=True),
                            reading_distance(path, short[:readings], max_new_tokens),
                            train_losses.get(step)))
        log.info("step %d: held-out loss %.3f, blanked %.3f, edit distance %.3f", step,
                 points[-1].loss, points[-1].blank_loss, points[-1].edit_distance)
    write_report(out, points, {"train": train_dir, "heldout": heldout_dir, "preset": preset,
                               "steps": steps, "batch_size": batch_size, "lr": lr,
                               "heldout_samples": len(rows), "readings": readings,
                               "train_seconds": round(train_s, 1),
                               "total_seconds": round(time.perf_counter() - t0, 1)})
    return points


def write_report(out: Path, points: list[Point], settings: dict[str, Any]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6))
    left, right = fig.subplots(1, 2)
    steps = [p.step for p in points]
    left.plot(steps, [p.loss for p in points], "o-", label="held-out, images")
    left.plot(steps, [p.blank_loss for p in points], "s--", label="held-out, images blanked")
    left.set(xlabel="step", ylabel="answer-token loss")
    left.legend()
    right.plot(steps, [p.edit_distance for p in points], "o-", color="C2")
    right.set(xlabel="step", ylabel="normalised edit distance", ylim=(0, 1.05))
    fig.tight_layout()
    FigureCanvasAgg(fig).print_png(str(out / "proof.png"))

    lines = ["# Proof that the data teaches", "",
             "Trained from scratch on one rendered set, scored on another rendered with "
             "another seed. `gap` = loss with blank images - loss with the real ones.", "",
             "| step | train loss | held-out loss | blanked loss | gap | edit distance |",
             "|---:|---:|---:|---:|---:|---:|"]
    for p in points:
        train_loss = f"{p.train_loss:.3f}" if p.train_loss is not None else ""
        lines.append(f"| {p.step} | {train_loss} | {p.loss:.3f} | {p.blank_loss:.3f} | "
                     f"{p.gap:.4f} | {p.edit_distance:.3f} |")
    lines += ["", "![curves](proof.png)", "", "```json", json.dumps(settings, indent=2), "```"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "points.json").write_text(json.dumps([asdict(p) for p in points], indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocr2synth.trainer.proof", description=__doc__)
    parser.add_argument("--train", required=True, help="rendered training set")
    parser.add_argument("--heldout", required=True, help="rendered held-out set")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--heldout-samples", type=int, default=96)
    parser.add_argument("--readings", type=int, default=16)
    parser.add_argument("--num-workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    points = run(args.train, args.heldout, Path(args.out), args.steps, args.eval_every,
                 args.preset, args.batch_size, args.lr, args.heldout_samples, args.readings,
                 num_workers=args.num_workers)
    print((Path(args.out) / "report.md").read_text())
    return 0 if points else 1


if __name__ == "__main__":
    raise SystemExit(main())
