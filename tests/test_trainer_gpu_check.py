"""`make gpu-check` runs here end to end on the CPU (tiny preset, short sequences), so the
script that meets a GPU for the first time has run every line but the CUDA calls."""

from __future__ import annotations

import json
import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from trainer_helpers import mixed_rows, write_dataset  # noqa: E402


def test_gpu_check_runs_on_cpu_with_the_tiny_preset(tmp_path):
    from ocr2synth.trainer.gpu_check import main

    train = write_dataset(tmp_path / "train", mixed_rows(12))
    heldout = write_dataset(tmp_path / "heldout", mixed_rows(6))
    out = tmp_path / "out"
    assert main(["--out", str(out), "--preset", "tiny", "--seq-len", "400",
                 "--batch-sizes", "1,2", "--steps", "1", "--vocab", "1024",
                 "--proof-train", str(train), "--proof-heldout", str(heldout),
                 "--proof-steps", "2", "--proof-batch-size", "2", "--num-workers", "0"]) == 0
    report = json.loads((out / "gpu_check.json").read_text())
    assert [s["batch_size"] for s in report["steps"]] == [1, 2]
    for s in report["steps"]:
        assert s["error"] is None and s["tokens_s"] > 0 and s["peak_mib"] > 0
        assert s["mfu"] is None  # no GPU peak to divide by on a CPU
    assert [p["step"] for p in report["proof"]["points"]] == [1, 2]
    text = (out / "gpu_check.md").read_text()
    assert "| 2 |" in text and "Proof, 2 steps" in text


def test_model_flops_grow_with_batch_and_quadratically_in_attention():
    from ocr2synth.trainer.gpu_check import model_flops
    from ocr2synth.trainer.model import preset_config
    from ocr2synth.trainer.presets import get_preset
    from ocr2synth.trainer.tokenizer import train_bpe
    from transformers import GotOcr2ForConditionalGeneration

    model = GotOcr2ForConditionalGeneration(
        preset_config(get_preset("tiny"), 2, train_bpe(["a b c"] * 3, 300)))
    one, two = model_flops(model, 1, 1000), model_flops(model, 2, 1000)
    assert two == pytest.approx(2 * one)
    # A second difference over the sequence length: only the decoder's T^2 attention term
    # survives it, and it must be there.
    f = [model_flops(model, 1, t) for t in (1000, 2000, 3000)]
    assert f[2] - 2 * f[1] + f[0] > 0
