"""The trainer on CPU with the tiny preset: stages chain, learning, resume, bad data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from ocr2synth.trainer.config import TrainConfig  # noqa: E402
from ocr2synth.trainer.data import Cursor, Source, SourceStream, list_units  # noqa: E402
from ocr2synth.trainer.train import train  # noqa: E402
from trainer_helpers import TASKS, mixed_rows, png, row, write_dataset  # noqa: E402


def _cfg(stage: int, data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(stage=stage, data=str(data), out=str(out), preset="tiny", batch_size=2,
                max_steps=2, num_workers=0, save_every=100, log_every=1, lr=1e-3,
                tokenizer_vocab=600)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("corpus"), mixed_rows(24))


def _encoder(state: dict) -> dict:
    from ocr2synth.trainer.model import ENCODER_PREFIXES

    return {k: v for k, v in state.items() if k.startswith(ENCODER_PREFIXES)}


def test_three_stages_chain_and_checkpoints_load_in_transformers(corpus, tmp_path):
    from ocr2synth.trainer.model import PROJECTOR_PREFIX, from_checkpoint
    from PIL import Image
    from transformers import AutoProcessor, GotOcr2ForConditionalGeneration, GotOcr2Processor

    s1 = train(_cfg(1, corpus, tmp_path / "s1"))
    s2 = train(_cfg(2, corpus, tmp_path / "s2", init_from=str(s1)))
    s3 = train(_cfg(3, corpus, tmp_path / "s3", init_from=str(s2), lr=1e-2))

    # Stage 1's encoder is as wide as stage 2's decoder (GOT: 1024 channels into OPT's 768
    # through the linear projector), so it needs the trainer's class; stages 2 and 3 are
    # transformers' GotOcr2 as it is.
    m1 = from_checkpoint(s1)
    m2, m3 = (GotOcr2ForConditionalGeneration.from_pretrained(p) for p in (s2, s3))
    assert m1.config.text_config.model_type == "opt"
    assert m2.config.text_config.model_type == "qwen2"  # GOT's larger decoder from stage 2
    # Stage 3 trains the decoder and the linear projector; the whole encoder (vision tower
    # and both convolutions) stays bit-identical.
    e2, e3 = _encoder(m2.state_dict()), _encoder(m3.state_dict())
    assert any("conv_upsampler2" in k for k in e2)
    assert e2.keys() == e3.keys() and all(torch.equal(e2[k], e3[k]) for k in e2)
    emb2 = m2.get_input_embeddings().weight
    assert not torch.equal(emb2, m3.get_input_embeddings().weight)
    w2, w3 = (m.state_dict()[PROJECTOR_PREFIX + "weight"] for m in (m2, m3))
    assert not torch.equal(w2, w3)

    processor = AutoProcessor.from_pretrained(s3)
    assert isinstance(processor, GotOcr2Processor)
    inputs = processor(Image.new("RGB", (200, 100), "white"), return_tensors="pt", color="red")
    generated = m3.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] > inputs["input_ids"].shape[1]
    summary = json.loads((s3 / "ocr2synth_train.json").read_text())
    assert summary["step"] == 2 and summary["config"]["stage"] == 3


def test_stage2_starts_from_every_encoder_tensor_of_stage1(corpus, tmp_path):
    from ocr2synth.trainer.model import from_checkpoint, load_model
    from ocr2synth.trainer.presets import get_preset
    from ocr2synth.trainer.tokenizer import load_tokenizer

    s1 = train(_cfg(1, corpus, tmp_path / "s1", max_steps=1))
    e1 = _encoder(from_checkpoint(s1).state_dict())
    e2 = _encoder(load_model(get_preset("tiny"), 2, load_tokenizer(s1), s1).state_dict())
    names = {k.split(".")[2] if "projector" in k else k.split(".")[1] for k in e1}
    assert names == {"vision_tower", "conv_upsampler1", "conv_upsampler2"}
    assert e1.keys() == e2.keys()
    assert all(torch.equal(e1[k], e2[k]) for k in e1), [
        k for k in e1 if not torch.equal(e1[k], e2[k])]


def test_loss_halves_on_a_small_fixed_batch(tmp_path):
    data = write_dataset(tmp_path / "two", [row(0, "ocr", "OCR: ", "alpha beta gamma"),
                                            row(1, "ocr", "OCR: ", "delta sum page")])
    losses: list[float] = []
    train(_cfg(1, data, tmp_path / "run", max_steps=10, lr=1e-2, warmup_steps=0),
          on_step=lambda step, loss: losses.append(loss))
    assert min(losses) <= losses[0] / 2, losses


class Interrupt(Exception):
    pass


def test_killed_run_resumes_on_the_same_loss_curve(corpus, tmp_path):
    # Two loader workers and a checkpoint after an odd batch count: on resume, worker 0
    # must play the part of worker 1, or batches would come back in another order.
    cfg = dict(max_steps=5, save_every=3, num_workers=2, seed=3)
    tokenizer_dir = tmp_path / "full" / "tokenizer"
    full: list[float] = []
    train(_cfg(1, corpus, tmp_path / "full", **cfg), on_step=lambda s, loss: full.append(loss))

    def crash_at_4(step: int, loss: float) -> None:
        resumed.append(loss)
        if step == 4:
            raise Interrupt  # dies after step 4, before any checkpoint of it

    resumed: list[float] = []
    run = _cfg(1, corpus, tmp_path / "killed", tokenizer=str(tokenizer_dir), **cfg)
    with pytest.raises(Interrupt):
        train(run, on_step=crash_at_4)
    assert (tmp_path / "killed" / "step-0000003").exists()
    resumed = resumed[:3]  # what the checkpoint at step 3 holds; steps 4-5 come again
    train(run, on_step=lambda s, loss: resumed.append(loss))
    assert resumed == pytest.approx(full, rel=1e-5, abs=1e-6)


def test_bad_rows_are_skipped_and_counted(tmp_path):
    rows = [row(0, "ocr", "OCR: "), row(1, "ocr", "OCR: "),
            row(2, "ocr", "OCR: ", image=b"\x89PNG\r\n\x1a\n truncated"),
            row(3, "ocr", "OCR: ", target="word " * 3000)]
    data = write_dataset(tmp_path / "bad", rows)
    final = train(_cfg(1, data, tmp_path / "run", max_steps=3, max_length=1024))
    skipped = json.loads((final / "ocr2synth_train.json").read_text())["skipped"]
    assert skipped.get("bad_image", 0) >= 1 and skipped.get("too_long", 0) >= 1


@pytest.mark.parametrize("consumers", [2, 5])
def test_consumers_split_an_epoch_disjointly(tmp_path, consumers):
    data = write_dataset(tmp_path / "d", [row(i, "ocr", "OCR: ") for i in range(20)],
                         shard_size=4)
    source = Source("s", str(data), ("ocr",), 1.0)
    units = list_units(source)
    seen = []
    for c in range(consumers):
        stream = SourceStream(source, 0, units, seed=7, consumer=c, consumers=consumers,
                              cursor=Cursor())
        for r in stream:
            if stream.cursor.epoch > 0:  # a row of the next epoch: this one is done
                break
            seen.append(r["id"])
    assert sorted(seen) == sorted(f"s{i:05d}" for i in range(20))


def test_stage_sources_follow_got(tmp_path):
    s1 = _cfg(1, tmp_path, tmp_path).sources()
    assert [(s.name, s.tasks, s.weight) for s in s1] == [("stage1", ("ocr",), 1.0)]
    s3 = _cfg(3, tmp_path, tmp_path).sources()
    assert s3[1].name == "replay" and s3[1].weight == pytest.approx(0.8)
    assert set(s3[0].tasks) == {t for t, _ in TASKS} - {"ocr", "format"}
    assert png("x")[:4] == b"\x89PNG"


def test_cli_train_and_trainer_bench(corpus, tmp_path, capsys):
    from ocr2synth.pipelines.cli import main

    out = tmp_path / "cli"
    assert main(["train", "--stage", "1", "--preset", "tiny", "--data", str(corpus),
                 "--out", str(out), "--max-steps", "1", "--batch-size", "1",
                 "--num-workers", "0", "--lr", "1e-3"]) == 0
    assert (out / "final" / "model.safetensors").exists()
    assert main(["bench", "--trainer", "--data", str(corpus), "--steps", "1",
                 "--num-workers", "0"]) == 0
    assert "samples/s" in capsys.readouterr().out


KEEPS_GROUP = """
import gc, weakref
import torch, torch.distributed as tdist
from ocr2synth.trainer import dist
tdist.init_process_group("gloo", store=tdist.HashStore(), rank=0, world_size=1)
d = dist.Dist(rank=0, world=2, local_rank=0, device=torch.device("cpu"))
wrapped = dist.wrap(torch.nn.Linear(2, 2), d)
alive = weakref.ref(wrapped)
del wrapped
gc.collect()
dist.shutdown(d)
print(alive() is not None, tdist.is_initialized())
"""


def test_a_multi_rank_run_never_frees_its_process_group():
    """The deterministic half of the check below: freeing the DDP wrapper (its reducer holds
    the gloo group) or destroying the group at the end is what deadlocked; neither may
    happen before the process leaves with os._exit."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", KEEPS_GROUP], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["True", "True"], done.stdout + done.stderr


def test_ddp_ranks_under_torchrun_exit_under_load(corpus, tmp_path):
    """Two gloo ranks: the DDP wrapper, token normalisation and per-rank loader state, and
    both ranks leave. A rank that freed its process group at the end could deadlock in
    gloo's destructor (it did in 1 of 1 runs with the machine loaded); torchrun then
    waits forever. Two runs, each beside two busy processes, must end well in time."""
    import subprocess
    import sys

    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        for attempt in range(2):
            out = tmp_path / f"ddp{attempt}"
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
            try:
                subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                "--nproc-per-node", "2", "-m", "ocr2synth.pipelines.cli", "train",
                                "--stage", "1", "--preset", "tiny", "--data", str(corpus),
                                "--out", str(out), "--max-steps", "2", "--batch-size", "1",
                                "--num-workers", "0"],
                               check=True, env=env, timeout=240, capture_output=True)
            except subprocess.TimeoutExpired as exc:
                done = (out / "final" / "trainer_state.pt").exists()
                pytest.fail(f"run {attempt}: torchrun did not exit in {exc.timeout} s "
                            f"(final checkpoint written: {done})")
            state = torch.load(out / "final" / "trainer_state.pt", weights_only=False)
            assert state["step"] == 2 and len(state["loader"]) == 2
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
