"""`ocr2synth train --ray-workers N`: the same `train()` under Ray Train's TorchTrainer.

Ray Train starts N workers, sets the torchrun-style environment (RANK, LOCAL_RANK, ...)
and creates the process group (gloo on CPU, NCCL on GPUs); `trainer.dist.init` sees the
group and takes its ranks from it, so DDP, FSDP, sharded data and checkpoints behave
exactly as under torchrun. Checkpoints are written by `train()` itself to `--out`, which
on a multi-node cluster must be a filesystem every node sees (as with torchrun).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from ocr2synth.trainer.config import TrainConfig

log = logging.getLogger(__name__)


def _absolute(cfg: TrainConfig) -> TrainConfig:
    """Ray workers run in their own working directories: no relative paths may cross."""
    def fix(path: str | None) -> str | None:
        return str(Path(path).resolve()) if path else path

    return replace(cfg, data=fix(cfg.data), out=fix(cfg.out), init_from=fix(cfg.init_from),
                   tokenizer=fix(cfg.tokenizer), replay=fix(cfg.replay))


def _worker(config: dict[str, Any]) -> None:
    from ocr2synth.trainer.train import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    train(config["cfg"])


def train_on_ray(cfg: TrainConfig, workers: int, address: str | None = None,
                 use_gpu: bool | None = None) -> Path:
    """Runs the stage on `workers` Ray Train workers; returns the final checkpoint's folder.

    `address`: a running cluster (`auto`, `HOST:PORT`), `local` for a new local Ray; None
    follows `ray.init`: RAY_ADDRESS, else the cluster last started on this host, else a
    new local Ray. `use_gpu`: one GPU per worker; None: if the cluster has GPUs.
    """
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    if workers < 1:
        raise ValueError(f"--ray-workers must be at least 1, got {workers}")
    cfg = _absolute(cfg)
    cfg.validate()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=True)
    if use_gpu is None:
        use_gpu = ray.cluster_resources().get("GPU", 0) > 0
    out = Path(cfg.out)
    trainer = TorchTrainer(
        _worker, train_loop_config={"cfg": cfg},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu),
        run_config=RunConfig(name=f"ocr2synth-stage{cfg.stage}",
                             storage_path=str(out / "ray")))
    log.info("Ray Train: %d workers (%s) for stage %d", workers,
             "GPU" if use_gpu else "CPU", cfg.stage)
    try:
        trainer.fit()
    finally:
        if started:
            ray.shutdown()
    return out / "final"
