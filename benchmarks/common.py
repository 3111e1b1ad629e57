"""Small helpers shared by the benchmark scripts."""
from __future__ import annotations

import os

import torch


def device_name(device: torch.device) -> str:
    """What the numbers were measured on, in words."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (mps)"
    from gan_lib.precision import cpu_name

    return f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so the clock measures work done rather than work launched."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
