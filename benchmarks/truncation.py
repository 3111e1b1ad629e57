"""The course's GAN under the truncation trick: how many more dogs, for how much less variety?

    export GAN_DATA=../shared/data/imagewoof-128/train
    python benchmarks/truncation.py --thresholds 0 1.0 0.7 0.5     # 0: no truncation
    python benchmarks/truncation.py --report                        # the table again

The truncation trick (Brock et al. 2019, BigGAN) draws the noise from a normal distribution cut at
±t: the generator only sees the noise near the middle, where it was trained most, and makes its
likeliest pictures. Fidelity (the dog-o-meter, breed match) should rise and variety fall: FD, KID
and SWD compare the spread of the samples with the photos', so they show the cost. Every threshold
is judged exactly as the shipped scores were (`gan_lib.pretrained.build.judge`: the same noise seed,
the same 1,000 images, the same held-out photos), on the packed generator. Results go to
benchmarks/results/truncation/ (results.json and one grid per threshold: a row per breed, the same
noise in every row).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from common import device_name
from gan_lib import pretrained
from gan_lib.config import pick_device
from gan_lib.pretrained.build import breed_grid, course_photos, judge

OUT = Path(__file__).parent / "results" / "truncation"


def report(results: dict) -> None:
    """Print one line per threshold."""
    print(f"{'truncation':>10}{'FD':>8}{'KID':>8}{'SWD':>7}{'dogs':>7}{'breed':>7}{'ignored':>9}{'NN':>7}")
    for key, r in sorted(results.items(), key=lambda kv: -float(kv[0] or "inf")):
        print(f"{key or 'none':>10}{r['fd']:>8.1f}{r['kid']:>8.3f}{r['swd']:>7.1f}{r['dogs']:>7.1%}"
              f"{r['breed_among']:>7.1%}{r['breed_among_label_ignored']:>9.1%}{r['nn_fake_median']:>7.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--thresholds", type=float, nargs="+", default=[0, 1.0, 0.7, 0.5],
                   help="truncation thresholds to judge; 0 means none")
    p.add_argument("--data", default=os.environ.get("GAN_DATA"))
    p.add_argument("--report", action="store_true", help="print the table of the results so far")
    args = p.parse_args()
    path = OUT / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if not args.report:
        if not args.data:
            sys.exit("set GAN_DATA or pass --data")
        device = pick_device()
        gan = pretrained.load(device=device)
        train, held = course_photos(args.data)
        OUT.mkdir(parents=True, exist_ok=True)
        for t in args.thresholds:
            truncation = t or None
            key = "" if truncation is None else f"{t:g}"
            results[key] = judge(gan.G, gan.class_names, train, held, truncation=truncation) | {
                "device": device_name(device)}
            breed_grid(gan.G, gan.class_names, OUT / f"truncation-{key or 'none'}.png", truncation)
            path.write_text(json.dumps(results, indent=2) + "\n")  # after each: a killed run keeps what it did
            print(f"truncation {key or 'none'}: dogs {results[key]['dogs']:.1%}, FD {results[key]['fd']:.1f}", flush=True)
    report(results)


if __name__ == "__main__":
    main()
