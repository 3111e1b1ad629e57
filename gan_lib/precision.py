"""Which number format trains fastest here: float32 or bfloat16 autocast, decided by measuring.

Whether bf16 pays on a CPU depends on the chip *and* the networks: a 64x64 step ran 1.6x faster in
bf16 on a 2-core AMD EPYC with `avx512_bf16` and no AMX, 2.5x on a 2-core Intel Xeon with AMX, while
a 32x32 step gained 1.05x and 1.3x there, and CPUs without bf16 instructions are slower in bf16
than in float32. A list of CPU features cannot say which, so the first run
of a kind of network on a machine times a few steps of both and remembers the answer
(`GAN_HOME/cache/precision.json`, keyed by CPU, torch version, threads, networks and batch size).

GPUs stay in float32/TF32: there these small networks wait on kernel launches rather than
arithmetic, and autocast's extra cast kernels made an H100 slower (benchmarks/README.md).
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from .config import ModelConfig
from .data import default_data_root
from .files import write_bytes_atomically
from .networks import build_discriminator, build_generator

BF16_MIN_SPEEDUP = 1.2  # below this the gain is within timing noise and not worth bf16's coarser numbers
PROBE_STEPS = 4  # timed steps per format (after one warm-up step); the median is compared

_decided: dict[str, float] = {}  # this process's answers, so a run asks the clock once


class MixedPrecision(nn.Module):
    """A network run under bfloat16 autocast that returns float32, so losses are computed in full precision."""

    def __init__(self, net: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.net, self.dtype = net, dtype

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        with torch.autocast(x.device.type, dtype=self.dtype):
            return self.net(x, labels).float()


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), for the cache key."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# What a step's cost depends on. Not the norms, the labels or the upsampling: runs that differ only there
# (notebook 06's experiments, say) get one answer, so equal budgets stay comparable.
COST_FIELDS = ("resolution", "g_width", "d_width", "latent_dim", "g_arch", "d_arch", "grown_from")


def cpu_bf16_flags() -> str:
    """The CPU's bf16 instructions (Linux): a cloud CPU's name alone may not say which it has."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return "?"
    return "+".join(f for f in ("avx512_bf16", "amx_bf16") if f" {f}" in flags) or "none"


def probe_key(model: ModelConfig, batch_size: int) -> str:
    """What the measurement depends on: the CPU, torch, the thread count, the networks' size, the batch."""
    net = ",".join(f"{k}={getattr(model, k)}" for k in COST_FIELDS)
    return (f"{cpu_name()} ({cpu_bf16_flags()}) | torch {torch.__version__} | {torch.get_num_threads()} threads | "
            f"{net} | batch {batch_size}")


def _networks(model: ModelConfig, dtype: torch.dtype | None) -> tuple[nn.Module, nn.Module]:
    G = build_generator(model).to(memory_format=torch.channels_last)
    D = build_discriminator(model).to(memory_format=torch.channels_last)
    return (MixedPrecision(G, dtype), MixedPrecision(D, dtype)) if dtype is not None else (G, D)


def step_seconds(model: ModelConfig, batch_size: int, dtypes: tuple[torch.dtype | None, ...] = (None, torch.bfloat16),
                 steps: int = PROBE_STEPS) -> list[float]:
    """Median seconds of a forward and backward pass of G then D on a CPU batch, for each autocast dtype.

    The formats take turns step by step, so a machine that gets busier while measuring slows both alike.
    """
    nets = [_networks(model, dtype) for dtype in dtypes]
    z = torch.randn(batch_size, model.latent_dim)
    labels = torch.arange(batch_size) % model.num_classes if model.num_classes else None
    times: list[list[float]] = [[] for _ in dtypes]
    for _ in range(steps + 1):  # the first round warms up the kernels and is not counted
        for (G, D), kept in zip(nets, times):
            start = time.perf_counter()
            D(G(z, labels), labels).mean().backward()
            kept.append(time.perf_counter() - start)
    return [sorted(t[1:])[steps // 2] for t in times]


def bf16_speedup(model: ModelConfig, batch_size: int, cache_file: Path | None) -> float:
    """float32 time / bf16 time for these networks on this CPU: measured once, then read from the cache."""
    key = probe_key(model, batch_size)
    if key in _decided:
        return _decided[key]
    cache = _read_cache(cache_file)
    if key not in cache:
        with torch.random.fork_rng(devices=[]):  # measuring must not move the run's random numbers
            fp32, bf16 = step_seconds(model, batch_size)
        cache[key] = {"fp32_ms": round(fp32 * 1e3, 2), "bf16_ms": round(bf16 * 1e3, 2)}
        if cache_file is not None:
            try:
                write_bytes_atomically(cache_file, json.dumps(cache, indent=1).encode())
            except OSError:  # a read-only cache folder: remember the answer for this process only
                pass
    _decided[key] = cache[key]["fp32_ms"] / cache[key]["bf16_ms"]
    return _decided[key]


def _read_cache(cache_file: Path | None) -> dict:
    """The cached measurements; a missing or damaged file is an empty cache (it will be measured again)."""
    try:
        cache = json.loads(cache_file.read_text()) if cache_file is not None else {}
        return cache if isinstance(cache, dict) else {}
    except (OSError, ValueError):
        return {}


def amp_dtype(device: torch.device, model: ModelConfig | None = None, batch_size: int = 64,
              cache_file: Path | None = None) -> torch.dtype | None:
    """bfloat16 where a measurement on this CPU shows it trains these networks at least 1.2x faster, else None.

    Without `model` nothing is measured and the answer is None (float32). GPUs: always None (see above).
    """
    if device.type != "cpu" or model is None:
        return None
    return torch.bfloat16 if bf16_speedup(model, batch_size, cache_file) >= BF16_MIN_SPEEDUP else None


def default_cache_file() -> Path:
    """Where measurements are remembered: GAN_HOME's (or the repository's data/) cache folder."""
    return default_data_root() / "cache" / "precision.json"
