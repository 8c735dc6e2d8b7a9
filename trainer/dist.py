"""Parallelism as a wrapper: torchrun's environment in, a device and a wrapped model out.

Under `torchrun` or Ray Train (more than one rank) the model is wrapped in DDP, or sharded
with FSDP (torch's `fully_shard`: one unit per decoder layer and per vision block, the
embeddings, projector and head in the root unit); on one rank nothing changes. The
training loop only asks `unwrap` for the bare model, `no_sync` while it accumulates
gradients and `full_state` for the whole model and optimizer when it saves.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.nn.parallel import DistributedDataParallel

# A multi-rank wrapper is never freed. Freeing it frees the gloo process group its reducer
# holds, whose destructor joins the group's worker thread while holding the GIL; if that
# thread is still releasing the last collective's tensors it waits for the GIL, and the
# rank never exits (seen under torchrun on a loaded machine: py-spy shows
# ~ProcessGroupGloo in std::thread::join and the worker in gil_scoped_acquire). The
# process leaves with os._exit instead (`ocr2synth train`), which frees nothing.
_KEPT: list[torch.nn.Module] = []


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    local_rank: int
    device: torch.device
    owns_group: bool = True  # False under Ray Train, which made the process group itself

    @property
    def main(self) -> bool:
        return self.rank == 0


def init() -> Dist:
    local = int(os.environ.get("LOCAL_RANK", "0"))
    owns = not dist.is_initialized()
    if owns:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
    else:  # Ray Train (or a caller) set the group up: it knows the ranks
        world, rank = dist.get_world_size(), dist.get_rank()
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if world > 1 and owns:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local, device, owns)


def shard_units(model: torch.nn.Module) -> list[torch.nn.Module]:
    """FSDP's units: every decoder layer and every vision block, i.e. the members of the
    `layers` ModuleLists (GotOcr2's vision tower and both OPT and Qwen2 decoders keep
    their blocks there). One all-gather per block bounds memory to a block's weights."""
    units: list[torch.nn.Module] = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and name.rsplit(".", 1)[-1] == "layers":
            units.extend(module)
    return units


def mixed_precision(device: torch.device, dtype: torch.dtype) -> MixedPrecisionPolicy:
    """bf16 training on CUDA: FSDP all-gathers and computes in bf16 (half the traffic and
    the unsharded weights' memory) but reduce-scatters gradients in float32, and the
    sharded float32 parameters stay the optimizer's. Otherwise: the parameters' own dtype."""
    if device.type == "cuda" and dtype == torch.bfloat16:
        return MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    return MixedPrecisionPolicy()


def wrap(model: torch.nn.Module, d: Dist, parallel: str = "ddp",
         dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    if d.world == 1:
        return model
    if parallel == "fsdp":
        mesh = init_device_mesh(d.device.type, (d.world,))
        policy = mixed_precision(d.device, dtype)
        for unit in shard_units(model):
            fully_shard(unit, mesh=mesh, mp_policy=policy)
        # the rest: embeddings, projector, norms, head
        fully_shard(model, mesh=mesh, mp_policy=policy)
        wrapped: torch.nn.Module = model
    else:
        ids = [d.local_rank] if d.device.type == "cuda" else None
        wrapped = DistributedDataParallel(model, device_ids=ids)
    _KEPT.append(wrapped)
    return wrapped


def unwrap(model: torch.nn.Module) -> Any:
    # fully_shard changes the module in place: the FSDP model is the model.
    return model.module if isinstance(model, DistributedDataParallel) else model


@contextlib.contextmanager
def no_sync(model: torch.nn.Module, skip: bool) -> Iterator[None]:
    """Skip the gradient all-reduce (DDP) or reduce-scatter (FSDP) on all but the last
    micro-batch of a step."""
    if skip and isinstance(model, DistributedDataParallel):
        with model.no_sync():
            yield
    elif skip and isinstance(model, FSDPModule):
        model.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            model.set_requires_gradient_sync(True)
    else:
        yield


_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def full_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer
               ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(model weights or None, optimizer state), whole. Under FSDP this is a collective
    (every rank must call it) that gathers the shards; otherwise the model saves itself."""
    if isinstance(model, FSDPModule):
        weights, optim = get_state_dict(model, optimizer, options=_FULL)
        return weights, optim
    return None, optimizer.state_dict()


def load_optimizer(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                   state: dict[str, Any]) -> None:
    """The saved optimizer state back, resharded for this run's ranks under FSDP."""
    if isinstance(model, FSDPModule):
        set_optimizer_state_dict(model, optimizer, state,
                                 options=StateDictOptions(full_state_dict=True))
    else:
        optimizer.load_state_dict(state)


def all_sum(value: torch.Tensor, d: Dist) -> torch.Tensor:
    if d.world > 1:
        dist.all_reduce(value)
    return value


def gather(obj: Any, d: Dist) -> list[Any]:
    if d.world == 1:
        return [obj]
    out: list[Any] = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def shutdown(d: Dist) -> None:
    """Every rank has reached the end. The process group is not destroyed: gloo's
    destruction can deadlock (see `_KEPT`) and a rank that never exits holds its devices;
    the caller ends the process with os._exit, as `ocr2synth train` does."""
    if d.world > 1 and dist.is_initialized():
        dist.barrier()
