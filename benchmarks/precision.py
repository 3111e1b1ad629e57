"""Does bf16 autocast pay on this CPU? Whole training steps in float32 and in bf16, in one run.

    python benchmarks/precision.py               # the recipes below, 30 timed steps each
    python benchmarks/precision.py --steps 60

For each recipe: a Trainer forced to float32 and one forced to bf16 autocast (the same networks,
seeds and batches), a few warm-up steps, then the mean time of `--steps` full training steps (D
step, G step, EMA), the two taking turns step by step, and the ratio. It also prints what `precision.amp_dtype` decides for the recipe
on this machine (its own short probe, cached), so the two can be compared. The photos are random
uint8 pixels: a step's cost does not depend on what the pixels show.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_name  # noqa: E402

import gan_lib.training as training  # noqa: E402
from gan_lib.config import recommended_config  # noqa: E402
from gan_lib.data import ImageData  # noqa: E402
from gan_lib.precision import amp_dtype, default_cache_file  # noqa: E402

RECIPES = {  # name -> recommended_config changes (the CPU recipe, conditional on nine breeds as the course GAN is)
    "32 px, widths 32 (the CPU default)": dict(num_classes=9),
    "64 px, widths 32 (the course's GAN)": dict(resolution=64, num_classes=9),
    "64 px, FastGAN G, widths 16": dict(resolution=64, g_arch="fastgan", g_width=16, d_width=16, num_classes=9),
    "64 px, widths 48": dict(resolution=64, g_width=48, d_width=48, num_classes=9),
}


def trainer_in(changes: dict, dtype: torch.dtype | None) -> training.Trainer:
    """A Trainer of the recipe with autocast forced to `dtype` (None: float32), on random photos."""
    config = recommended_config("cpu", steps=10**9, **changes)
    n, size = 640, config.model.resolution
    data = ImageData(torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8), torch.arange(n) % 9,
                     [f"breed {i}" for i in range(9)])
    original = training.run_dtype
    training.run_dtype = lambda *args, **kwargs: dtype  # force the format, whatever the probe would say
    try:
        return training.Trainer(config, data)
    finally:
        training.run_dtype = original


def step_ms(changes: dict, steps: int, warmup: int = 5) -> tuple[float, float]:
    """Mean milliseconds of one training step in float32 and in bf16; the two take turns, step by step."""
    trainers = [trainer_in(changes, None), trainer_in(changes, torch.bfloat16)]
    totals = [0.0, 0.0]
    for i in range(warmup + steps):
        for k, trainer in enumerate(trainers):
            start = time.perf_counter()
            trainer.train_step()
            totals[k] += (time.perf_counter() - start) * (i >= warmup)
    return totals[0] / steps * 1e3, totals[1] / steps * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=30, help="timed training steps per recipe and format")
    args = p.parse_args()
    print(f"device: {device_name(torch.device('cpu'))}, torch {torch.__version__}, batch 64, {args.steps} steps each")
    print(f"{'recipe':<40}{'fp32 ms':>9}{'bf16 ms':>9}{'speed-up':>10}  amp_dtype decides")
    for name, changes in RECIPES.items():
        fp32, bf16 = step_ms(changes, args.steps)
        model = recommended_config("cpu", **changes).model
        chosen = amp_dtype(torch.device("cpu"), model, 64, default_cache_file())
        print(f"{name:<40}{fp32:>9.1f}{bf16:>9.1f}{fp32 / bf16:>9.2f}x  {chosen or 'float32'}", flush=True)


if __name__ == "__main__":
    main()
