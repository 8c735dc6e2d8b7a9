"""Checkpoints: a Hugging Face model folder, plus what it takes to resume the run.

`OUT/step-NNNNNNN/` and `OUT/final/` hold `save_pretrained` output of the model, the
tokenizer and a GotOcr2Processor, so `GotOcr2ForConditionalGeneration.from_pretrained`
and `AutoProcessor.from_pretrained` read them as they are. `trainer_state.pt` adds the
optimizer, the step and every rank's loader position. A checkpoint is written under a
temporary name and renamed when complete, so a killed run never leaves half of one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from ocr2synth.trainer.model import make_processor
from ocr2synth.trainer.tokenizer import IM_END
from transformers import GenerationConfig, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

STATE_FILE = "trainer_state.pt"
STEP_PREFIX = "step-"


def step_dir(out: Path, step: int) -> Path:
    return out / f"{STEP_PREFIX}{step:07d}"


SUMMARY_FILE = "ocr2synth_train.json"


def saved_step(path: Path) -> int:
    return int(json.loads((path / SUMMARY_FILE).read_text())["step"])


def latest(out: Path) -> Path | None:
    """The checkpoint with the most steps, `final` included (temporary folders never match)."""
    done = [p for p in [*out.glob(f"{STEP_PREFIX}*"), out / "final"]
            if (p / STATE_FILE).exists() and (p / SUMMARY_FILE).exists()]
    return max(done, key=saved_step, default=None)


def save(path: Path, model: Any, tokenizer: PreTrainedTokenizerBase,
         state: dict[str, Any], summary: dict[str, Any],
         weights: dict[str, Any] | None = None) -> None:
    """`weights`: the whole state dict where the model holds only shards of it (FSDP)."""
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    im_end = tokenizer.convert_tokens_to_ids(IM_END)
    # Generation stops at the end of the assistant turn, as GOT's chat template ends it.
    model.generation_config = GenerationConfig(eos_token_id=im_end,
                                               pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(tmp, state_dict=weights)
    tokenizer.save_pretrained(tmp)
    make_processor(tokenizer).save_pretrained(tmp)
    torch.save(state, tmp / STATE_FILE)
    (tmp / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str))
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    log.info("checkpoint %s", path)


def prune(out: Path, keep: int) -> None:
    steps = sorted(out.glob(f"{STEP_PREFIX}*"))
    for old in steps[:-keep] if keep > 0 else steps:
        shutil.rmtree(old, ignore_errors=True)


def load_state(path: Path) -> dict[str, Any]:
    return torch.load(path / STATE_FILE, map_location="cpu", weights_only=False)
