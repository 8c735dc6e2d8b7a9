"""`make proof`'s scorer, end to end on a fixture set (its figures are not asserted: they are
the report's business); and the held-out loss sees the images."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from trainer_helpers import mixed_rows, write_dataset  # noqa: E402


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("proof")
    return (write_dataset(root / "train", mixed_rows(16)),
            write_dataset(root / "heldout", mixed_rows(8)))


def test_proof_writes_a_point_per_checkpoint(sets, tmp_path):
    from ocr2synth.trainer.proof import run

    train_dir, heldout_dir = sets
    points = run(str(train_dir), str(heldout_dir), tmp_path / "report", steps=2,
                 eval_every=1, batch_size=2, heldout=8, readings=2, max_new_tokens=8,
                 num_workers=0)
    assert [p.step for p in points] == [1, 2]  # step-0000001/ and final/
    report = (tmp_path / "report" / "report.md").read_text()
    assert report.count("\n| ") == 1 + len(points)  # header + one row per checkpoint
    assert (tmp_path / "report" / "proof.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "report" / "points.json").read_text())
    assert all(p["blank_loss"] > 0 and p["loss"] > 0 for p in saved)


def test_blanked_images_change_the_held_out_loss(sets):
    from ocr2synth.trainer.formatting import GotFormatter
    from ocr2synth.trainer.model import load_model
    from ocr2synth.trainer.presets import get_preset
    from ocr2synth.trainer.proof import heldout_loss, heldout_rows
    from ocr2synth.trainer.tokenizer import train_bpe

    rows = heldout_rows(sets[1], 8)
    tokenizer = train_bpe([r["target"] for r in rows], 400)
    torch.manual_seed(0)
    model = load_model(get_preset("tiny"), 2, tokenizer).eval()
    formatter = GotFormatter(tokenizer, max_length=6000)
    real = heldout_loss(model, formatter, rows, blank=False)
    blank = heldout_loss(model, formatter, rows, blank=True)
    assert real != pytest.approx(blank, rel=1e-6)  # a constant vision tower gives equal ones
