"""FSDP under torchrun and the Ray Train launcher, on CPU (gloo), with the tiny preset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from trainer_helpers import mixed_rows, write_dataset  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
       "PYTHONWARNINGS": "ignore"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("corpus"), mixed_rows(24))


def _torchrun(corpus: Path, out: Path, *extra: str) -> None:
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc-per-node", "2", "-m", "ocr2synth.pipelines.cli", "train",
                    "--stage", "1",
                    "--preset", "tiny", "--data", str(corpus), "--out", str(out),
                    "--batch-size", "1", "--num-workers", "0", "--lr", "1e-3", *extra],
                   check=True, env=ENV, timeout=300, capture_output=True)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from ocr2synth.trainer.model import from_checkpoint  # stage 1: the encoder is wider than OPT

    return from_checkpoint(path).state_dict()


def test_fsdp_wrap_policy_shards_every_decoder_layer_and_vision_block():
    from ocr2synth.trainer.dist import shard_units
    from ocr2synth.trainer.model import load_model
    from ocr2synth.trainer.presets import get_preset
    from ocr2synth.trainer.tokenizer import train_bpe

    tokenizer = train_bpe(["alpha beta gamma"] * 4, 300)
    for stage, decoder_layer in ((1, "OPTDecoderLayer"), (2, "Qwen2DecoderLayer")):
        model = load_model(get_preset("tiny"), stage, tokenizer, None)
        names = [type(m).__name__ for m in shard_units(model)]
        n_vision = model.config.vision_config.num_hidden_layers
        n_text = model.config.text_config.num_hidden_layers
        assert names == ["GotOcr2VisionLayer"] * n_vision + [decoder_layer] * n_text


def test_fsdp_matches_ddp_and_resumes(corpus, tmp_path):
    """Two gloo ranks: FSDP's sharded step gives DDP's weights; its checkpoint (gathered
    weights + full optimizer state) loads in transformers and resumes under FSDP."""
    fsdp, ddp = tmp_path / "fsdp", tmp_path / "ddp"
    _torchrun(corpus, fsdp, "--parallel", "fsdp", "--max-steps", "2")
    _torchrun(corpus, ddp, "--parallel", "ddp", "--max-steps", "2",
              "--tokenizer", str(fsdp / "tokenizer"))
    a, b = _weights(fsdp / "final"), _weights(ddp / "final")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-4, msg=name)
    state = torch.load(fsdp / "final" / "trainer_state.pt", weights_only=False)
    assert state["step"] == 2 and state["optimizer"]["state"]  # whole, not one rank's shard

    _torchrun(corpus, fsdp, "--parallel", "fsdp", "--max-steps", "3")  # resumes at step 2
    state = torch.load(fsdp / "final" / "trainer_state.pt", weights_only=False)
    assert state["step"] == 3
    assert not torch.equal(_weights(fsdp / "final")["lm_head.weight"], a["lm_head.weight"])


def test_ray_train_runs_the_same_training(corpus, tmp_path):
    """Two Ray Train workers on a fresh local Ray: Ray makes the gloo group, `train()`
    takes its ranks from it, and rank 0 writes one checkpoint with both ranks' loaders."""
    pytest.importorskip("ray.train.torch")
    out = tmp_path / "ray"
    env = {k: v for k, v in ENV.items() if k != "RAY_ADDRESS"}
    env["RAY_AUTH_MODE"] = "disabled"
    run = subprocess.run([sys.executable, "-m", "ocr2synth.pipelines.cli", "train", "--stage", "1",
                          "--preset", "tiny", "--data", str(corpus), "--out", str(out),
                          "--max-steps", "2", "--batch-size", "1", "--num-workers", "0",
                          "--ray-workers", "2", "--address", "local"],
                         env=env, timeout=240, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    state = torch.load(out / "final" / "trainer_state.pt", weights_only=False)
    assert state["step"] == 2 and len(state["loader"]) == 2
    assert "x 2" in run.stdout + run.stderr  # "... on cpu x 2": one run of two ranks
    assert _weights(out / "final")  # a transformers checkpoint, as under torchrun
