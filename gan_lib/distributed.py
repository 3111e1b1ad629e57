"""Several processes (GPUs) training one GAN with DistributedDataParallel, launched by torchrun.

    torchrun --nproc_per_node=4 -m gan_lib train --batch-size 256 ...

Every process holds the same networks and the same data; each global batch is split so that each
process works on its own slice, and DDP averages the gradients. Only rank 0 writes files.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist

from .errors import GanLibError


def init_from_env() -> int:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); returns the local rank."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return int(os.environ.get("LOCAL_RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")  # CPU processes, e.g. to test on a laptop
    return local_rank


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, number of processes); (0, 1) without torchrun."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_slice(batch: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's part of a global batch."""
    if len(batch) % world:
        raise GanLibError(f"batch size {len(batch)} must be divisible by the number of processes ({world})")
    n = len(batch) // world
    return batch[rank * n:(rank + 1) * n]


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """Average a tensor over all processes (for logging)."""
    if rank_and_world()[1] > 1:
        values = values.clone()
        dist.all_reduce(values)
        values /= dist.get_world_size()
    return values


def barrier() -> None:
    """Wait until every process gets here (no-op in a single process)."""
    if rank_and_world()[1] > 1:
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(flag: bool) -> bool:
    """True if `flag` is true on any process, so that all processes stop at the same step."""
    if rank_and_world()[1] == 1:
        return flag
    # NCCL only reduces CUDA tensors.
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
