"""The recipe sweep behind the recommended recipe: short equal-time runs of candidate settings.

    python benchmarks/recipes.py --minutes 3.5 --candidates A,B,C,D    # uses $GAN_DATA

Each candidate trains at 32x32 on the training split of quality.py (every 10th photo per breed held
out) for the same wall-clock budget; 1,000 EMA samples are then scored against the held-out photos.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gan_lib.data import hold_out  # noqa: E402

from gan_lib.data import load_images, to_uint8  # noqa: E402
from gan_lib.metrics import evaluate  # noqa: E402
from gan_lib.config import ModelConfig, TrainConfig  # noqa: E402
from gan_lib.models import sample_noise  # noqa: E402
from gan_lib.training import Trainer  # noqa: E402

TTUR = dict(loss="hinge", lr_d=4e-4, lr_g=1e-4, betas=(0.0, 0.9))
AUGMENT = "color,translation,cutout"
CANDIDATES = {
    "A": TrainConfig(model=ModelConfig(g_width=64, d_width=64)),
    "B": TrainConfig(model=ModelConfig(g_width=64, d_width=64), diffaugment=AUGMENT),
    "C": TrainConfig(model=ModelConfig(g_width=64, d_width=64, d_norm="spectral"), diffaugment=AUGMENT, **TTUR),
    "F": TrainConfig(model=ModelConfig(g_width=64, d_width=64, d_norm="spectral"), **TTUR),
    "D": TrainConfig(model=ModelConfig(g_width=32, d_width=32)),
    "H": TrainConfig(model=ModelConfig(g_width=32, d_width=32, d_norm="spectral"), diffaugment=AUGMENT, **TTUR),
    "I": TrainConfig(model=ModelConfig(g_width=32, d_width=32), diffaugment=AUGMENT),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("GAN_DATA"))
    p.add_argument("--minutes", type=float, default=3.5)
    p.add_argument("--candidates", default=",".join(CANDIDATES))
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args()
    if not args.data:
        sys.exit("set GAN_DATA or pass --data")
    train, held = hold_out(load_images(args.data, 32, progress=False))
    z = sample_noise(1000, 100, generator=torch.Generator().manual_seed(1))
    for name in args.candidates.split(","):
        trainer = Trainer(replace(CANDIDATES[name], minutes=args.minutes, steps=None, log_every=50), train)
        trainer.fit(progress=False)
        fakes = to_uint8(trainer.sample(z))
        r = evaluate(fakes, held.images, extractor="efficientnet", metrics=("fd", "kid", "swd"))
        print(f"{name}: {trainer.step} steps, FD {r['fd']:.1f}, KID {r['kid']:.3f}, SWD {r['swd']:.1f}", flush=True)


if __name__ == "__main__":
    main()
