"""The course's reference GAN: how it is trained, judged and packed into gan_lib/pretrained/.

    export GAN_DATA=../shared/data/imagewoof-128/train
    nice -n 19 python -m gan_lib.pretrained.build train --minutes 120   # run again to continue
    python -m gan_lib.pretrained.build export                           # judge it, pack G (EMA) and D

A conditional 64x64 GAN on nine of the ten ImageWoof breeds: the Samoyed is held out for notebook 09,
where the student fine-tunes this GAN on a breed it never saw, and every 10th photo of the nine
breeds is held out to judge it on photos it never trained on. The recipe is the recommended one for
the device at 64 px (on a CPU: widths 32, batch 64, bf16 where measured faster; on a GPU: widths 64,
batch 128). `train` counts its budget over all its sessions, so it can run in chunks: a killed run
loses at most the steps since its last checkpoint, and the next `train` continues it exactly.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..callbacks import SaveProgress, TrainingMonitor
from ..checkpoint import Checkpoint
from ..config import recommended_config
from ..data import ImageData, hold_out, load_images, to_uint8
from ..errors import GanLibError
from ..files import save_atomically, write_bytes_atomically
from ..metrics import breed_match, dog_o_meter, evaluate, imagenet_logits, nearest_neighbours
from ..models import sample_noise
from ..plotting import save_grid
from ..sampling import load_generator
from ..training import Trainer

HELD_OUT_BREED = "Samoyed"  # distinctive (white, fluffy) and named right by the classifier in 2 of 3 photos
RESOLUTION = 64
RUN = Path("runs") / "course_gan"
PACKED = Path(__file__).parent / "course_gan.pt"
SCORE_SAMPLES = 1000  # per judge; the dog-o-meter and nearest neighbours look at the first 500
CHECKPOINT_EVERY = 500  # steps (about a minute on 2 CPU cores): what a killed session can lose


def course_photos(folder: str | Path) -> tuple[ImageData, ImageData]:
    """(training, held-out) photos of the nine breeds the course's GAN knows, at 64x64."""
    data = load_images(folder, RESOLUTION)
    if HELD_OUT_BREED not in data.class_names:
        raise GanLibError(f"{folder} has no {HELD_OUT_BREED} folder: the course's GAN is trained on ImageWoof's breeds")
    return hold_out(data.select_classes([n for n in data.class_names if n != HELD_OUT_BREED]))


def train(folder: str | Path, minutes: float, out: Path = RUN) -> Trainer:
    """Train (or continue) the reference run in `out` until `minutes` of training in total."""
    photos, _ = course_photos(folder)
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():
        trainer = Trainer.resume(checkpoint, photos, minutes=minutes)
        print(f"continuing from step {trainer.step} ({trainer.seconds / 60:.1f} of {minutes:g} min)")
    else:
        config = recommended_config("auto", resolution=RESOLUTION, num_classes=len(photos.class_names),
                                    minutes=minutes)
        trainer = Trainer(config, photos)
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    print(f"{len(photos)} photos of {len(photos.class_names)} breeds | {trainer.device} | autocast {trainer.amp_dtype}")
    saver = SaveProgress(out, sample_every=2000, checkpoint_every=CHECKPOINT_EVERY)
    return trainer.fit(callbacks=[TrainingMonitor(say=tqdm.write), saver])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m gan_lib.pretrained.build", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the reference GAN, or continue it")
    t.add_argument("--minutes", type=float, default=120.0, help="training time in total, over all sessions")
    e = sub.add_parser("export", help="judge the trained GAN and pack it into gan_lib/pretrained/")
    for q in (t, e):
        q.add_argument("--data", default=os.environ.get("GAN_DATA"), help="ImageWoof's train folder ($GAN_DATA)")
        q.add_argument("--run", type=Path, default=RUN, help="the run folder")
    args = p.parse_args(argv)
    if not args.data:
        p.error("give the photos with --data or $GAN_DATA")
    if args.command == "train":
        train(args.data, args.minutes, args.run)
    else:
        export(args.data, args.run)


if __name__ == "__main__":
    main()
