"""Notebook 09's comparison, over seeds: the course's GAN fine-tuned on a breed it never saw (FreezeD +
DiffAugment) against a GAN trained from scratch on the same photos for the same minutes.

    export GAN_DATA=../shared/data/imagewoof-128/train
    python benchmarks/fine_tune.py --minutes 5 --seeds 0 1

Both arms train on the same photos (3 in 4 of the held-out breed's), are judged on the rest, and get
the same wall-clock minutes on this machine, one after the other. For each seed it writes a grid per
arm (16 images) and appends every score to benchmarks/results/fine_tune/results.json; the baseline in
every comparison is the from-scratch GAN of the same seed.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from common import device_name
from gan_lib import pretrained
from gan_lib.config import pick_device
from gan_lib.data import hold_out, to_uint8
from gan_lib.features import efficientnet_extractor
from gan_lib.models import sample_noise
from gan_lib.plotting import save_grid
from gan_lib.transfer import breed_photos, breed_scores, closest_breeds, fine_tuner, from_scratch

OUT = Path(__file__).parent / "results" / "fine_tune"
N_JUDGE = 200  # images per arm shown to the judges (held-out photos: as many as there are, split in halves)


def run(folder: str, minutes: float, seed: int) -> dict:
    """Fine-tune and train from scratch for `minutes` each with `seed`; their scores, the photos' and the slot's."""
    device = pick_device()
    gan = pretrained.load(device=device)
    photos = breed_photos(folder, gan.held_out_breed, gan.config.model.resolution)
    train, held = hold_out(photos, every=4)
    slot = next(iter(closest_breeds(gan, train, n=min(200, len(train)))))
    model = gan.config.model
    tuned = fine_tuner(gan, train, slot, minutes=minutes, seed=seed).fit(progress=False)
    scratch = from_scratch(gan, train, minutes=minutes, seed=seed).fit(progress=False)
    z = sample_noise(N_JUDGE, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    k = gan.class_names.index(slot)
    judged = {"before": gan.sample(N_JUDGE, slot, seed=seed),
              "fine-tuned": to_uint8(tuned.sample(z, torch.full((N_JUDGE,), k))),
              "from scratch": to_uint8(scratch.sample(z)),
              "held-out photos": held.images[0::2][:N_JUDGE]}
    classifier = efficientnet_extractor().to(device)
    scores = {name: breed_scores(images, held.images[1::2], gan.held_out_breed, classifier)
              for name, images in judged.items()}
    OUT.mkdir(parents=True, exist_ok=True)
    for name, images in judged.items():
        if name != "held-out photos":  # photos are never committed
            save_grid(images[:16], OUT / f"seed{seed}_{minutes:g}min_{name.replace(' ', '_')}.png", nrow=8)
    return {"seed": seed, "minutes": minutes, "slot": slot, "steps": {"fine-tuned": tuned.step, "from scratch": scratch.step},
            "photos": {"train": len(train), "held_out": len(held)}, "scores": scores,
            "machine": device_name(device), "date": time.strftime("%Y-%m-%d %H:%M")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("GAN_DATA"), help="ImageWoof's train folder ($GAN_DATA)")
    p.add_argument("--minutes", type=float, default=10.0, help="training time of each arm")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = p.parse_args()
    if not args.data:
        p.error("give the photos with --data or $GAN_DATA")
    results_file = OUT / "results.json"
    for seed in args.seeds:
        result = run(args.data, args.minutes, seed)
        results = json.loads(results_file.read_text()) if results_file.exists() else []
        results_file.write_text(json.dumps(results + [result], indent=2) + "\n")
        s = result["scores"]
        print(f"seed {seed}, {args.minutes:g} min each, slot {result['slot']}, steps {result['steps']}")
        for name, score in s.items():
            print(f"  {name:<16} dogs {score['dogs']:>4.0%}  named Samoyed {score['named']:>4.0%}  SWD {score['swd']:6.1f}")
        ratio = s["from scratch"]["swd"] / s["fine-tuned"]["swd"]
        print(f"  SWD from scratch / fine-tuned: {ratio:.2f}x")


if __name__ == "__main__":
    main()
