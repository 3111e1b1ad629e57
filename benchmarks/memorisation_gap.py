"""Has a packed course GAN's D learned its training photos by heart? Its verdict on photos it trained on
against photos of the same breeds it never saw.

    export GAN_DATA=../shared/data/imagewoof-128/train
    python benchmarks/memorisation_gap.py gan_lib/pretrained/course_gan.pt runs/course_gan_stage1.pt

D's probability of "real" (`training.judge`: BatchNorm with each batch's statistics, as in training,
batches of 64 with their breed labels) on the 814 held-out photos of the nine breeds and on as many
training photos (a fixed random choice). A D that generalises calls both real about equally often; a
large gap means it recognises the training photos themselves, and G then learns from a D that
rejects any new picture, however dog-like.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from gan_lib import pretrained
from gan_lib.data import ImageData, to_float
from gan_lib.pretrained.build import course_photos
from gan_lib.training import judge

BATCH = 64  # the course GAN's training batch: BatchNorm in D sees batches of this size


@torch.no_grad()
def verdict(D: torch.nn.Module, photos: ImageData) -> float:
    """D's mean probability of "real" over the photos, a batch at a time."""
    return torch.cat([judge(D, to_float(photos.images[i:i + BATCH]), photos.labels[i:i + BATCH])
                      for i in range(0, len(photos), BATCH)]).mean().item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("packed", nargs="+", type=Path, help="packed course GAN files (.pt)")
    p.add_argument("--data", default=os.environ.get("GAN_DATA"), help="ImageWoof's train folder ($GAN_DATA)")
    args = p.parse_args()
    if not args.data:
        p.error("give the photos with --data or $GAN_DATA")
    train, held = course_photos(args.data)
    seen = train.subset(torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:len(held)])
    for path in args.packed:
        D = pretrained.load(path).D
        on_train, on_held = verdict(D, seen), verdict(D, held)
        print(f"{path}: D says real for {len(seen)} training photos {on_train:.3f}, for {len(held)} held-out "
              f"photos {on_held:.3f}, gap {on_train - on_held:+.3f}")


if __name__ == "__main__":
    main()
