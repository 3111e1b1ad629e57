"""Notebook 06's experiments over several seeds: which of its comparisons hold, and how far apart seeds land.

    export GAN_DATA=../shared/data/imagewoof-128/train
    python benchmarks/failures_over_seeds.py --seeds 0 1 2 --steps 800           # equal steps: the method
    python benchmarks/failures_over_seeds.py --seeds 0 1 2 --minutes 1           # equal minutes: the budget

Every experiment of notebook 06 (the baseline, the five failures, the six fixes and DiffAugment on a
small set) trains with the notebook's recipe and changes, on the same photos, once per seed, one after
the other on this machine. Each run is scored as the notebook scores it: SWD of 256 samples of the EMA
generator (and of the live G: the EMA comparison) against 256 held-out photos, the samples' diversity
and checkerboard strength against the photos', D's memorisation gap (its verdict on 256 of its training
photos minus that on 256 held-out ones), and the monitor's alerts. Every run goes into
benchmarks/results/failures/results.json (a rerun of the same experiment, seed and budget replaces the
old record); the table printed at the end gives, per experiment, the SWD of each seed and its ratio to
the baseline of the same seed.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from common import device_name
from gan_lib.callbacks import TrainingMonitor, diversity
from gan_lib.config import pick_device, recommended_config
from gan_lib.data import load_images, to_float, to_uint8
from gan_lib.metrics import checkerboard_strength, sliced_wasserstein
from gan_lib.sampling import generate
from gan_lib.training import Trainer, judge

OUT = Path(__file__).parent / "results" / "failures"
N_EVAL = 256  # samples scored against as many held-out photos, as in the notebook
SMALL_SET = 500  # photos in the DiffAugment experiment, as in the notebook
EXPERIMENTS = {  # name -> changes to the recipe, in the notebook's order
    "baseline": {},
    "minimax loss": dict(loss="minimax"),
    "d_steps=5": dict(d_steps=5),
    "no BatchNorm in G": dict(g_norm="none"),
    "no BatchNorm in G + instance noise": dict(g_norm="none", instance_noise=0.1),
    "lr 2e-3, beta1 0.9": dict(lr_d=2e-3, lr_g=2e-3, betas=(0.9, 0.999)),
    "resize upsampling": dict(upsample="resize"),
    "label smoothing 0.1": dict(label_smoothing=0.1),
    "spectral norm in D": dict(d_norm="spectral"),
    "hinge loss": dict(loss="hinge"),
    "RaLSGAN loss": dict(loss="ralsgan"),
    "WGAN-GP": dict(loss="wgan-gp", d_norm="none"),
    "TTUR 4e-4 / 1e-4": dict(lr_d=4e-4, lr_g=1e-4),
    f"{SMALL_SET} photos": dict(small=True),
    f"{SMALL_SET} photos + DiffAugment": dict(small=True, diffaugment="color,translation,cutout"),
}


def run(train, held_out, photos: dict, budget: dict, seed: int, changes: dict) -> dict:
    """Train one experiment with `seed`, score it as notebook 06 does; `photos`: the held-out photos' own values."""
    changes = dict(changes)
    seen = train
    if changes.pop("small", False):  # the same small set for every seed, as in the notebook
        seen = train.subset(torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:SMALL_SET])
    trainer = Trainer(recommended_config(**budget, seed=seed, **changes), seen)
    monitor = TrainingMonitor()
    trainer.fit(callbacks=[monitor], progress=False)
    z = torch.randn(N_EVAL, trainer.config.model.latent_dim, generator=torch.Generator().manual_seed(1))
    ema = to_uint8(trainer.sample(z))
    live = to_uint8(generate(trainer.G.eval(), z.to(trainer.device)))
    reference = held_out[:N_EVAL]
    verdict = [judge(trainer.D, to_float(x[:N_EVAL]).to(trainer.device)).mean().item() for x in (seen.images, held_out)]
    return {"steps": trainer.step, "seconds": round(trainer.seconds, 1),
            "swd": sliced_wasserstein(ema, reference)["swd"], "swd_live_g": sliced_wasserstein(live, reference)["swd"],
            "diversity": diversity(to_float(ema)) / photos["diversity"],
            "checkerboard": checkerboard_strength(ema) / photos["checkerboard"],
            "checkerboard_live_g": checkerboard_strength(live) / photos["checkerboard"],
            "memorisation_gap": verdict[0] - verdict[1],
            "alerts": [f"{a.kind} at step {a.step}" for a in monitor.alerts]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("GAN_DATA"), help="ImageWoof's train folder ($GAN_DATA)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--steps", type=int, help="every run makes this many steps (compares methods)")
    budget.add_argument("--minutes", type=float, help="every run trains this long (compares budgets)")
    p.add_argument("--only", nargs="+", choices=list(EXPERIMENTS), help="run only these experiments")
    args = p.parse_args()
    if not args.data:
        p.error("give the photos with --data or $GAN_DATA")
    limit = dict(steps=args.steps) if args.steps else dict(minutes=args.minutes)
    config = recommended_config(**limit)
    data = load_images(args.data, config.model.resolution)
    held = torch.arange(len(data)) % 10 == 0  # every 10th photo held out, as in the notebook
    train, held_out = data.subset(~held), data.subset(held).images
    reference = held_out[:N_EVAL]  # the yardsticks of every run's diversity and checkerboard
    photos = {"diversity": diversity(to_float(reference)), "checkerboard": checkerboard_strength(reference)}
    device = pick_device()
    OUT.mkdir(parents=True, exist_ok=True)
    results_file = OUT / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else []
    names = args.only or list(EXPERIMENTS)
    table: dict[str, dict[int, dict]] = {}
    for seed in args.seeds:
        for name in names:
            result = run(train, held_out, photos, limit, seed, EXPERIMENTS[name])
            table.setdefault(name, {})[seed] = result
            key = {"experiment": name, "seed": seed, **limit}
            results = [r for r in results if {k: r.get(k) for k in key} != key]  # a rerun replaces the old record
            results.append({**key, **result, "machine": device_name(device), "date": time.strftime("%Y-%m-%d")})
            results_file.write_text(json.dumps(results, indent=1) + "\n")  # after every run: an interrupted sweep keeps its runs
            print(f"seed {seed} {name:<36} {result['steps']:>6,} steps {result['seconds']:>6.0f} s  SWD {result['swd']:6.1f}"
                  f"  live G {result['swd_live_g']:6.1f}  diversity {result['diversity']:4.0%}  checkerboard "
                  f"{result['checkerboard']:4.1f}x  gap {result['memorisation_gap']:+.2f}  {'; '.join(result['alerts'][:2])}",
                  flush=True)
    base = table.get("baseline", {})
    print(f"\n{'experiment':<36}" + "".join(f"{'seed ' + str(s):>16}" for s in args.seeds) + "   (SWD; x the seed's baseline)")
    for name, by_seed in table.items():
        cells = []
        for s in args.seeds:
            r = by_seed[s]
            ratio = f" ({r['swd'] / base[s]['swd']:.2f}x)" if s in base and name != "baseline" else ""
            cells.append(f"{r['swd']:.1f}{ratio}")
        print(f"{name:<36}" + "".join(f"{c:>16}" for c in cells))
    print(f"\n{'EMA against live G':<36}" + "".join(f"{'seed ' + str(s):>16}" for s in args.seeds))
    for name, by_seed in table.items():
        print(f"{name:<36}" + "".join(f"{by_seed[s]['swd']:>7.1f} / {by_seed[s]['swd_live_g']:<6.1f}" for s in args.seeds))


if __name__ == "__main__":
    main()
