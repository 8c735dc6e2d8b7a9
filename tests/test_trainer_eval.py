"""`ocr2synth eval` and `ocr2synth generate` on a tiny checkpoint, on CPU."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("torch")
pytest.importorskip("transformers")

from ocr2synth.trainer.config import TrainConfig  # noqa: E402
from ocr2synth.trainer.train import train  # noqa: E402
from trainer_helpers import TASKS, mixed_rows, png, write_dataset  # noqa: E402


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
    from ocr2synth.pipelines.cli import main

    report_file = tmp_path / "eval.json"
    assert main(["eval", "--model", str(checkpoint), "--data", str(corpus),
                 "--max-samples", "1", "--max-new-tokens", "3",
                 "--json", str(report_file)]) == 0
    out = capsys.readouterr().out
    for task, _ in TASKS:  # box, colour, multi-crop and multi-page prompts all ran
        assert f"\n{task} " in out
    assert "bleu" in out and "meteor" in out
    report = json.loads(report_file.read_text())
    # An untrained model may say nothing: GOT drops such pairs from the means.
    seen = {t: report["counts"].get(t, 0) + report["dropped"].get(t, 0) for t, _ in TASKS}
    assert seen == {t: 1 for t, _ in TASKS}
    assert report["counts"]["all"] == len(TASKS) - sum(report["dropped"].values())
    for task, metrics in report["per_task"].items():
        if report["counts"][task]:
            assert 0.0 <= metrics["edit_distance"] <= 1.0
            assert 0.0 <= metrics["f1"] <= 1.0
    assert report["examples"][0]["target"]


def test_eval_is_perfect_when_the_model_says_the_target(corpus, checkpoint, monkeypatch):
    """The scoring path, with generation replaced by an oracle: every metric at its best."""
    from ocr2synth.trainer import evaluate as ev

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
    # reading, as in GOT's scripts (the JSON test below scores longer texts).
    assert report.per_task["all"]["bleu"] < 1e-70


def test_generate_prints_a_reading_per_image(checkpoint, tmp_path, capsys):
    from ocr2synth.pipelines.cli import main

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


# A GOT evaluation JSON, as GOT's eval scripts and the Fox benchmark ship them.
GOT_JSON = [
    ("<image>\nOCR: ", "alpha beta gamma delta", "ocr"),
    ("<image>\nOCR: ", "sum page red box", "ocr"),
    ("OCR with format: ", r"Let \(x^2\) be \[ \frac{a}{b} \] so sum page", "format"),
    ("[100, 200, 600, 400] OCR: ", "gamma delta alpha beta", "box"),
    ("[red] OCR:", "red box red page box", "color"),  # no space after the colon
    ("OCR with format upon the patch reference: ", "page one page two page", "multi-crop"),
    ("OCR with format across multi pages: ", "first page then second page", "multi-page"),
    ("OCR: ", "", "ocr"),  # an empty truth: dropped, as GOT drops it
    ("Describe the image.", "not a GOT prompt at all", None),  # skipped
]


def write_got_json(root: Path) -> tuple[Path, Path]:
    images = root / "images"
    images.mkdir()
    entries = []
    for i, (prompt, truth, task) in enumerate(GOT_JSON):
        size = (300, 100) if task == "multi-crop" else (96, 64)
        names = [f"{i}_{k}.png" for k in range(2 if task == "multi-page" else 1)]
        for name in names:
            (images / name).write_bytes(png(truth or "blank", size))
        entries.append({"image": names if task == "multi-page" else names[0],
                        "conversations": [{"from": "human", "value": prompt},
                                          {"from": "gpt", "value": truth}]})
    entries.append({"image": "missing.png", "conversations": [{"value": "OCR: "},
                                                              {"value": "gone"}]})
    path = root / "bench.json"
    path.write_text(json.dumps(entries, ensure_ascii=False))
    return path, images


@pytest.fixture
def oracle(monkeypatch):
    """Generation replaced by a reader that says each sample's truth (plus `extra`)."""
    from ocr2synth.trainer import evaluate as ev

    current = {"target": "", "extra": ""}
    real = ev.got_json_samples

    def spy(*args, **kwargs):
        for sample in real(*args, **kwargs):
            current["target"] = sample.target
            yield sample

    monkeypatch.setattr(ev, "got_json_samples", spy)
    monkeypatch.setattr(ev.Reader, "read",
                        lambda self, images, query: current["target"] + current["extra"])
    return current


def test_eval_reads_gots_json_per_task_and_scores_the_truth_perfectly(
        checkpoint, tmp_path, oracle, capsys):
    from ocr2synth.pipelines.cli import main

    data, images = write_got_json(tmp_path)
    report_file = tmp_path / "eval.json"
    assert main(["eval", "--model", str(checkpoint), "--data", str(data),
                 "--image-root", str(images), "--format-parts",
                 "--json", str(report_file)]) == 0
    report = json.loads(report_file.read_text())
    expected = {"ocr": 2, "format": 1, "box": 1, "color": 1, "multi-crop": 1, "multi-page": 1}
    # GOT's format script's parts, for prompts asking for format: no table anywhere, math
    # in the one truth that has some.
    parts = {"format/text": 1, "format/math": 1, "multi-crop/text": 1, "multi-page/text": 1}
    assert report["counts"] == {**expected, "all": 7, **parts}
    assert report["dropped"] == {"ocr": 1}
    assert report["skipped"] == {"unknown_prompt": 1, "bad_image": 1}
    for task, metrics in report["per_task"].items():
        assert metrics["edit_distance"] == 0.0, task
        assert (metrics["f1"], metrics["precision"], metrics["recall"]) == (1.0, 1.0, 1.0)
        if task in expected:  # the math part is two words: no 4-gram, BLEU ~0
            assert metrics["bleu"] == pytest.approx(1.0)
            assert 0.99 < metrics["meteor"] < 1.0  # METEOR's penalty for one chunk
    assert report["settings"]["max_new_tokens"] == 4096
    assert report["settings"]["no_repeat_ngram_size"] == 20
    out = capsys.readouterr().out
    assert "\nmulti-page " in out and "dropped" in out


def test_eval_got_compat_swaps_precision_and_recall(checkpoint, tmp_path, oracle):
    from ocr2synth.trainer.evaluate import evaluate

    data, images = write_got_json(tmp_path)
    oracle["extra"] = " surplus"  # one word the truth does not have
    plain = evaluate(checkpoint, data, image_root=images, tasks=("box",))
    compat = evaluate(checkpoint, data, image_root=images, tasks=("box",), got_compat=True)
    # Prediction {gamma, delta, alpha, beta, surplus} against the truth's four words.
    assert plain.per_task["box"]["precision"] == pytest.approx(4 / 5)
    assert plain.per_task["box"]["recall"] == 1.0
    assert compat.per_task["box"]["precision"] == 1.0
    assert compat.per_task["box"]["recall"] == pytest.approx(4 / 5)
    assert compat.settings["got_compat"] and compat.counts == {"box": 1}


def test_a_bad_got_json_is_a_one_line_error(checkpoint, tmp_path, capsys):
    from ocr2synth.pipelines.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image": "a.png"}]))
    assert main(["eval", "--model", str(checkpoint), "--data", str(bad)]) == 2
    assert "conversations" in capsys.readouterr().err


@pytest.fixture
def generate_calls(monkeypatch):
    """Every `generate` call's inputs and settings; generation itself returns no tokens."""
    from transformers import GotOcr2ForConditionalGeneration

    calls: list[dict] = []

    def fake_generate(self, **kwargs):
        calls.append(kwargs)
        return kwargs["input_ids"]

    monkeypatch.setattr(GotOcr2ForConditionalGeneration, "generate", fake_generate)
    return calls


def test_a_box_on_a_wide_image_reaches_the_query_as_got_writes_it(
        checkpoint, tmp_path, generate_calls):
    """Boxes are on GOT's 0-1000 scale already: on a 1600x900 image the query must say
    `[100, 200, 600, 400] OCR: `, not the box divided by the image size once more."""
    from ocr2synth.pipelines.cli import main
    from ocr2synth.trainer.infer import Reader
    from ocr2synth.trainer.prompts import Query
    from PIL import Image

    path = tmp_path / "wide.png"
    Image.new("RGB", (1600, 900), "white").save(path)
    assert main(["generate", "--model", str(checkpoint), str(path),
                 "--box", "100,200,600,400"]) == 0
    reader = Reader.load(checkpoint, device="cpu")
    reader.read([Image.open(path)], Query.parse("[100, 200, 600, 400] OCR with format: "))
    plain, formatted = (call["input_ids"][0] for call in generate_calls)
    text = reader.processor.tokenizer.decode(plain).replace("<imgpad>", "")
    assert text.endswith("<img></img>\n[100, 200, 600, 400] OCR: <|im_end|>"
                         "<|im_start|>assistant\n")
    assert "[100, 200, 600, 400] OCR with format: " in reader.processor.tokenizer.decode(
        formatted)
    # The same tokens as the processor writes for that box given in pixels.
    pixels = reader.processor(Image.open(path), box=[160, 180, 960, 360], return_tensors="pt")
    assert plain.tolist() == pixels["input_ids"][0].tolist()


def test_generation_uses_gots_settings(checkpoint, tmp_path, generate_calls):
    from ocr2synth.pipelines.cli import main
    from ocr2synth.trainer.infer import Reader
    from ocr2synth.trainer.prompts import Query
    from PIL import Image

    path = tmp_path / "big.png"
    Image.new("RGB", (4096, 3072), "white").save(path)
    assert main(["generate", "--model", str(checkpoint), str(path), "--crop"]) == 0
    call = generate_calls[-1]
    assert call["max_new_tokens"] == 4096 and call["no_repeat_ngram_size"] == 20
    assert call["do_sample"] is False and call["num_beams"] == 1
    # 4:3 would take a 4x3 grid of 12 tiles; GOT's eval allows 6 (3x2) plus the thumbnail.
    assert call["pixel_values"].shape[0] == 7
    assert main(["generate", "--model", str(checkpoint), str(path), "--max-new-tokens", "5",
                 "--no-repeat-ngram-size", "0"]) == 0
    assert generate_calls[-1]["max_new_tokens"] == 5
    assert "no_repeat_ngram_size" not in generate_calls[-1]
    # GOT's eval script generates multi-crop inputs without the no-repeat rule.
    reader = Reader.load(checkpoint, device="cpu", got_compat=True)
    crop = Query.parse("OCR with format upon the patch reference: ")
    assert "no_repeat_ngram_size" not in reader.generation_kwargs(crop)
    assert reader.generation_kwargs(Query.parse("OCR: "))["no_repeat_ngram_size"] == 20


def test_eval_on_gots_json_runs_the_model_on_pages_and_boxes(checkpoint, tmp_path):
    from ocr2synth.pipelines.cli import main

    data, images = write_got_json(tmp_path)
    report_file = tmp_path / "eval.json"
    assert main(["eval", "--model", str(checkpoint), "--data", str(data),
                 "--image-root", str(images), "--max-new-tokens", "2", "--max-samples", "1",
                 "--task", "multi-page", "--task", "box", "--task", "ocr",
                 "--json", str(report_file)]) == 0
    report = json.loads(report_file.read_text())
    seen = {t: report["counts"].get(t, 0) + report["dropped"].get(t, 0)
            for t in ("multi-page", "box", "ocr")}
    assert seen == {"multi-page": 1, "box": 1, "ocr": 1}  # at most one per task
    assert report["skipped"] == {}
