"""Training configuration: plain dataclasses, GOT's per-stage defaults, CLI overrides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ocr2synth.trainer.data import Source


@dataclass(frozen=True)
class StageSpec:
    """What GOT's paper fixes per stage (section 3): data, learning rate, context."""

    lr: float
    max_length: int
    tasks: tuple[str, ...] | None  # the stage's own data; None: every task
    replay_tasks: tuple[str, ...] | None  # what the replay share draws from
    replay_share: float
    freeze_encoder: bool  # the vision tower and both convolutions (GOT's stage 3)


STAGES: dict[int, StageSpec] = {
    # Stage 1: encoder + small decoder on plain OCR.
    1: StageSpec(lr=1e-4, max_length=4096, tasks=("ocr",), replay_tasks=None,
                 replay_share=0.0, freeze_encoder=False),
    # Stage 2: everything, on every task; 80% of the samples replay stage-1 OCR.
    2: StageSpec(lr=1e-4, max_length=6000, tasks=None, replay_tasks=("ocr",),
                 replay_share=0.8, freeze_encoder=False),
    # Stage 3: decoder and linear projector only (the encoder frozen), on fine-grained,
    # multi-crop and multi-page data plus replay.
    3: StageSpec(lr=2e-5, max_length=8192, tasks=("box", "color", "multi-crop", "multi-page"),
                 replay_tasks=None, replay_share=0.8, freeze_encoder=True),
}


@dataclass
class TrainConfig:
    stage: Literal[1, 2, 3]
    data: str
    out: str
    preset: str = "got"
    init_from: str | None = None  # a GotOcr2 checkpoint: the previous stage, or GOT's
    decoder: str | None = None  # a local causal-LM folder (OPT, Qwen2): weights + tokenizer
    vision: str | None = None  # a local SAM ViT-B (or GotOcr2) folder for the vision tower
    encoder_width: int | None = None  # the encoder's last conv width (default: see model.py)
    tokenizer: str | None = None
    replay: str | None = None  # replay data folder; default: --data
    replay_share: float | None = None  # default: the stage's
    max_steps: int = 1000
    batch_size: int = 8  # per rank and micro-batch
    grad_accum: int = 1
    lr: float | None = None  # default: the stage's
    warmup_steps: int | None = None  # default: 1% of max_steps
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0
    max_length: int | None = None  # default: the stage's
    max_tiles: int = 12
    prompt_style: Literal["processor", "verbatim"] = "processor"
    seed: int = 0
    num_workers: int = 2
    save_every: int = 500
    keep_last: int = 2
    log_every: int = 10
    precision: Literal["auto", "bf16", "fp32"] = "auto"  # auto: bf16 on CUDA, fp32 on CPU
    grad_checkpointing: bool = False
    tokenizer_vocab: int = 16000
    tokenizer_texts: int = 200_000  # rows read to train the BPE
    resume: bool = True  # pick up the newest checkpoint under `out`
    parallel: Literal["ddp", "fsdp"] = "ddp"  # with more than one rank
    sdpa_vision: bool = True  # the vision tower's attention through SDPA (trainer.attention)
    group_by_length: bool = True  # batches of similar lengths (trainer.data)
    compile: bool = False  # torch.compile each vision block and decoder layer

    @property
    def spec(self) -> StageSpec:
        return STAGES[self.stage]

    def resolved_lr(self) -> float:
        return self.lr if self.lr is not None else self.spec.lr

    def resolved_max_length(self) -> int:
        return self.max_length if self.max_length is not None else self.spec.max_length

    def resolved_warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else self.max_steps // 100

    def sources(self) -> list[Source]:
        share = self.spec.replay_share if self.replay_share is None else self.replay_share
        if not 0.0 <= share < 1.0:
            raise ValueError(f"replay share must be in [0, 1), got {share}")
        sources = [Source(f"stage{self.stage}", self.data, self.spec.tasks, 1.0 - share)]
        if share > 0:
            sources.append(Source("replay", self.replay or self.data, self.spec.replay_tasks,
                                  share))
        return sources

    def validate(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"--stage must be 1, 2 or 3, got {self.stage}")
        if self.parallel not in ("ddp", "fsdp"):
            raise ValueError(f"--parallel must be ddp or fsdp, got {self.parallel}")
        for name in ("max_steps", "batch_size", "grad_accum", "save_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
