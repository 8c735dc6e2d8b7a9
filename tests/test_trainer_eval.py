"""`ocr2synth eval` and `ocr2synth generate` on a tiny checkpoint, on CPU."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("torch")
pytest.importorskip("transformers")

from trainer_helpers import TASKS, mixed_rows, png, write_dataset  # noqa: E402

from trainer.config import TrainConfig  # noqa: E402
from trainer.train import train  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("corpus"), mixed_rows(24))


@pytest.fixture(scope="module")
def checkpoint(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    return train(TrainConfig(stage=1, data=str(corpus), out=str(out), preset="tiny",
                             batch_size=1, max_steps=1, num_workers=0, lr=1e-3,
                             tokenizer_vocab=600))


def test_eval_scores_every_task_through_the_processor(corpus, checkpoint, tmp_path, capsys):
    from pipelines.cli import main

    report_file = tmp_path / "eval.json"
    assert main(["eval", "--model", str(checkpoint), "--data", str(corpus),
                 "--max-samples", "1", "--max-new-tokens", "3",
                 "--json", str(report_file)]) == 0
    out = capsys.readouterr().out
    assert "bleu" in out and "meteor" in out
    report = json.loads(report_file.read_text())
    # An untrained model may say nothing: GOT drops such pairs from the means.
    assert sum(report["counts"].get(t, 0) for t, _ in TASKS) + report["skipped"].get(
        "empty", 0) == len(TASKS)
    for metrics in report["per_task"].values():
        assert 0.0 <= metrics["edit_distance"] <= 1.0
        assert 0.0 <= metrics["f1"] <= 1.0
    assert report["examples"][0]["target"]


def test_eval_is_perfect_when_the_model_says_the_target(corpus, checkpoint, monkeypatch):
    """The scoring path, with generation replaced by an oracle: every metric at its best."""
    from trainer import evaluate as ev

    rows = {r["id"]: r["target"] for r in mixed_rows(24)}
    current: dict[str, str] = {}
    real_rows = ev.held_out_rows

    def spy_rows(*args, **kwargs):
        for row in real_rows(*args, **kwargs):
            current["target"] = rows[row["id"]]
            yield row

    monkeypatch.setattr(ev, "held_out_rows", spy_rows)
    monkeypatch.setattr(ev.Reader, "read", lambda self, images, query: current["target"])
    report = ev.evaluate(checkpoint, corpus, max_samples=2, tasks=("ocr", "box"))
    assert report.counts == {"ocr": 2, "box": 2, "all": 4}
    assert report.per_task["all"]["edit_distance"] == 0.0
    assert report.per_task["all"]["f1"] == 1.0 and report.per_task["all"]["recall"] == 1.0
    # Three-word targets have no 4-gram: unsmoothed BLEU-4 is ~0 even for a perfect
    # reading, as in GOT's scripts.
    assert report.per_task["all"]["bleu"] < 1e-70


def test_generate_prints_a_reading_per_image(checkpoint, tmp_path, capsys):
    from pipelines.cli import main

    images = []
    for i, word in enumerate(["alpha", "beta"]):
        path = tmp_path / f"img{i}.png"
        path.write_bytes(png(word))
        images.append(str(path))
    assert main(["generate", "--model", str(checkpoint), *images, "--color", "red",
                 "--max-new-tokens", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("== ") == 2 and images[1] in out
    assert main(["generate", "--model", str(checkpoint), *images, "--multi-page",
                 "--format", "--max-new-tokens", "2"]) == 0
    assert "== " not in capsys.readouterr().out  # one reading of one two-page document
    assert main(["generate", "--model", str(checkpoint), images[0], "--box", "10,20,500,600",
                 "--prompt", "not a GOT prompt"]) == 2  # a prompt the processor cannot write
