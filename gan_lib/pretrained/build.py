"""The course's reference GAN: how it is trained, judged and packed into gan_lib/pretrained/.

    export GAN_DATA=../shared/data/imagewoof-128/train
    # stage 1: the recommended recipe from random weights, two hours (run again to continue)
    nice -n 19 python -m gan_lib.pretrained.build train --minutes 120
    python -m gan_lib.pretrained.build export            # judge it, pack G (EMA) and D
    # stage 2: from the packed stage-1 GAN, D now sees photos and fakes through DiffAugment
    nice -n 19 python -m gan_lib.pretrained.build train --run runs/course_gan2 --init gan_lib/pretrained/course_gan.pt \
        --diffaugment color,translation --minutes 60
    python -m gan_lib.pretrained.build export --run runs/course_gan2

A conditional 64x64 GAN on nine of the ten ImageWoof breeds: the Samoyed is held out, so that a
student can fine-tune this GAN on a breed it never saw, and every 10th photo of the nine
breeds is held out to judge it on photos it never trained on. Stage 1 is the recommended recipe for
the device at 64 px (on a CPU: widths 32, batch 64, bf16 where measured faster; on a GPU: widths 64,
batch 128). After it, D had learned the 7,288 photos by heart (it called them real, 0.98, and unseen
photos of the same breeds fake, 0.06: benchmarks/memorisation_gap.py) and the GAN stopped improving;
stage 2 continues it with DiffAugment, which a 12-minute screen against the same recipe without it
and against an R1 penalty picked (benchmarks/README.md). `train` counts its budget over all
its sessions, so it can run in chunks: a killed run loses at most the steps since its last checkpoint,
and the next `train` continues it exactly. The export records every stage (steps, time, recipe, machine).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..callbacks import SaveProgress, TrainingMonitor
from ..checkpoint import Checkpoint
from ..config import TrainConfig, recommended_config
from ..data import ImageData, hold_out, load_images, to_uint8
from ..distances import evaluate, nearest_neighbours
from ..errors import GanLibError
from ..files import save_atomically, write_bytes_atomically
from ..models import sample_noise
from ..plotting import save_grid
from ..precision import cpu_name
from ..sampling import generate, load_generator
from ..training import Trainer
from ..verdicts import breed_match, dog_o_meter, imagenet_logits
from . import FORMAT, PACKED, VERSION, CourseGAN, as_json, load

HELD_OUT_BREED = "Samoyed"  # distinctive (white, fluffy) and named right by the classifier in 2 of 3 photos
RESOLUTION = 64
RUN = Path("runs") / "course_gan"
GRID = Path(__file__).parents[2] / "docs" / "course_gan.png"  # the README's picture of it
SCORE_SAMPLES = 1000  # per judge; the dog-o-meter and nearest neighbours look at the first 500
CHECKPOINT_EVERY = 500  # steps (about a minute on 2 CPU cores): what a killed session can lose


def course_photos(folder: str | Path, max_per_class: int | None = None) -> tuple[ImageData, ImageData]:
    """(training, held-out) photos of the nine breeds the course's GAN knows, at 64x64."""
    data = load_images(folder, RESOLUTION, max_per_class=max_per_class)
    if HELD_OUT_BREED not in data.class_names:
        raise GanLibError(f"{folder} has no {HELD_OUT_BREED} folder: the course's GAN is trained on ImageWoof's breeds")
    return hold_out(data.select_classes([n for n in data.class_names if n != HELD_OUT_BREED]))


def train(folder: str | Path, minutes: float, out: Path = RUN, max_per_class: int | None = None,
          init: Path | None = None, **changes) -> Trainer:
    """Train (or continue) the reference run in `out` until `minutes` of training in total.

    `changes` alter the recipe of a new run (tests use tiny networks); a run continues with its own (the
    command that started it may be given again; other changes, or `init` for a run that did not start
    from one, are refused). `init`: a new run starts from a packed course GAN's G (EMA) and D instead of
    random weights, keeping its recipe except for `changes` (a second stage of training; fresh optimisers).
    """
    photos, _ = course_photos(folder, max_per_class)
    checkpoint = out / "checkpoint.pt"
    if init is not None and not Path(init).is_file():
        raise GanLibError(f"--init {init}: no such file (a course GAN packed by `export`)")
    if checkpoint.exists():  # the same command again continues the run; a different recipe or start cannot
        trainer = Trainer.resume(checkpoint, photos, minutes=minutes)
        recipe = trainer.config.to_dict()
        has = recipe["model"] | recipe  # the network's fields (g_width, ...) and the recipe's
        differ = [f"{k}={v!r} (the run has {has.get(k)!r})" for k, v in changes.items() if has.get(k) != v]
        if differ or (init is not None and not earlier_stages(out)):
            raise GanLibError(f"{out} already holds a run with its own recipe and start ("
                              f"{', '.join(differ) or '--init, but it started from random weights'}): continue it "
                              f"with the command that started it, or start a new run with another --run")
        print(f"continuing from step {trainer.step} ({trainer.seconds / 60:.1f} of {minutes:g} min)")
    else:
        gan = load(init) if init is not None else None
        trainer = start_from(gan, photos, minutes, **changes) if gan is not None else Trainer(
            recommended_config("auto", resolution=RESOLUTION, num_classes=len(photos.class_names),
                               minutes=minutes, **changes), photos)
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(trainer.config.to_dict(), indent=2))
        # The stages before this one (none from random weights): the export adds their steps and time to this run's.
        (out / "stages.json").write_text(json.dumps(gan.stages if gan is not None else [], indent=2))
    print(f"{len(photos)} photos of {len(photos.class_names)} breeds | {trainer.device} | autocast {trainer.amp_dtype}")
    with open(out / "sessions.jsonl", "a") as f:  # which machine trained which part (the export records it)
        f.write(json.dumps({"from_step": trainer.step, "machine": machine(trainer.device),
                            "autocast": str(trainer.amp_dtype), "started": time.strftime("%Y-%m-%d %H:%M")}) + "\n")
    saver = SaveProgress(out, sample_every=2000, checkpoint_every=CHECKPOINT_EVERY)
    return trainer.fit(callbacks=[TrainingMonitor(say=tqdm.write), saver])


def start_from(gan: CourseGAN, photos: ImageData, minutes: float, **changes) -> Trainer:
    """A Trainer on the nine breeds that starts from a trained course GAN's G (EMA) and D, with its recipe."""
    if list(gan.class_names) != list(photos.class_names):
        raise GanLibError(f"the GAN to start from knows {gan.class_names}, not the course's nine breeds")
    config = TrainConfig.from_dict(gan.config.to_dict() | {"minutes": minutes, "steps": None} | changes)
    return gan.copy_into(Trainer(config, photos))


def earlier_stages(run: Path) -> list[dict]:
    """The stages a run was started from (`train --init`); [] for a run from random weights."""
    return json.loads((run / "stages.json").read_text()) if (run / "stages.json").exists() else []


def machine(device: torch.device) -> str:
    """The training machine, in words."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()}, {torch.get_num_threads()} threads"


@torch.no_grad()
def judge(G: torch.nn.Module, class_names: list[str], train: ImageData, held: ImageData,
          n: int = SCORE_SAMPLES, truncation: float | None = None) -> dict:
    """Scores against photos it never trained on: FD/KID on EfficientNet-Lite0, SWD, the dog-o-meter, breed
    match (and what a GAN that ignores the asked breed would score), nearest training photos."""
    labels = torch.arange(n) % len(class_names)
    z = sample_noise(n, G.cfg.latent_dim, truncation, generator=torch.Generator().manual_seed(123))
    fakes = to_uint8(generate(G, z, labels))
    scores = evaluate(fakes, held.images, extractor="efficientnet", metrics=("fd", "kid", "swd"))
    k = min(500, n, len(held))  # the classifier and nearest neighbours look at this many of each
    some = held.subset(torch.randperm(len(held), generator=torch.Generator().manual_seed(0))[:k])  # every breed
    logits, real_logits = imagenet_logits(fakes[:k]), imagenet_logits(some.images)
    asked = labels[:k]
    shuffled = asked[torch.randperm(k, generator=torch.Generator().manual_seed(0))]  # the label ignored
    match, ignored = breed_match(logits, asked, class_names), breed_match(logits, shuffled, class_names)
    real = breed_match(real_logits, some.labels, class_names)
    _, d_fake = nearest_neighbours(fakes[:k], train.images)
    _, d_held = nearest_neighbours(some.images, train.images)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    return scores | {
        "dogs": dog_o_meter(fakes[:k]).dog_share, "dogs_heldout": dog_o_meter(some.images).dog_share,
        "breed_among": mean(match.among), "breed_among_label_ignored": mean(ignored.among),
        "breed_among_heldout": mean(real.among), "breed_named": mean(match.named),
        "breed_among_per_breed": dict(zip(class_names, match.among)),
        "nn_fake_median": d_fake.median().item(), "nn_heldout_median": d_held.median().item(),
        "samples": n, "heldout_photos": len(held)}


def breed_grid(G: torch.nn.Module, class_names: list[str], path: Path, truncation: float | None = None) -> None:
    """Save eight images per breed, one row per breed, the same noise in every row (the README's picture)."""
    z = sample_noise(8, G.cfg.latent_dim, truncation, generator=torch.Generator().manual_seed(7)).repeat(len(class_names), 1)
    labels = torch.arange(len(class_names)).repeat_interleave(8)
    save_grid(to_uint8(generate(G, z, labels)), path, nrow=8)


def half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating-point tensors in float16 (half the bytes; sampling and fine-tuning run in float32)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def export(folder: str | Path, run: Path = RUN, packed: Path = PACKED, grid: Path | None = GRID,
           samples: int = SCORE_SAMPLES, max_per_class: int | None = None) -> dict:
    """Judge the run's EMA generator and pack it, with its D, recipe and scores, into `packed`."""
    ckpt = Checkpoint.load(run / "checkpoint.pt")
    train, held = course_photos(folder, max_per_class)
    if list(ckpt.class_names) != list(train.class_names):
        raise GanLibError(f"{run} was trained on other breeds than the course's nine")
    G = load_generator(ckpt)  # the EMA generator, BatchNorm statistics recalibrated, eval mode
    print(f"judging step {ckpt.step} ({ckpt.seconds / 60:.0f} min of training) against {len(held)} held-out photos")
    scores = judge(G, ckpt.class_names, train, held, samples)
    sessions = [json.loads(line) for line in (run / "sessions.jsonl").read_text().splitlines()] \
        if (run / "sessions.jsonl").exists() else []
    earlier = earlier_stages(run)
    this = {"step": ckpt.step, "seconds": ckpt.seconds, "config": ckpt.config.to_dict(),
            "trained_on": sorted({s["machine"] for s in sessions}) or ["unknown"]}
    stages = earlier + [as_json(this)]  # like the earlier ones, read from stages.json
    record = {"format": FORMAT, "version": VERSION, "config": ckpt.config.to_dict(), "class_names": ckpt.class_names,
              "held_out_breed": HELD_OUT_BREED, "G": half(G.state_dict()), "D": half(ckpt.D),
              "step": sum(s["step"] for s in stages), "seconds": sum(s["seconds"] for s in stages),
              "scores": scores, "trained_on": sorted({m for s in stages for m in s["trained_on"]}), "stages": stages}
    save_atomically(record, packed)
    public = {k: v for k, v in record.items() if k not in ("G", "D")}
    write_bytes_atomically(packed.with_suffix(".json"), (json.dumps(public, indent=2) + "\n").encode())
    if grid is not None:
        breed_grid(G, ckpt.class_names, grid)
    print(f"packed {packed} ({packed.stat().st_size / 2**20:.1f} MB): " + ", ".join(
        f"{k} {scores[k]:.3g}" for k in ("fd", "kid", "swd", "dogs", "breed_among", "breed_among_label_ignored")))
    return scores


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m gan_lib.pretrained.build", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the reference GAN, or continue it")
    t.add_argument("--minutes", type=float, default=120.0, help="training time in total, over all sessions")
    t.add_argument("--init", type=Path, help="start a new run from this packed course GAN (a second stage)")
    t.add_argument("--r1", type=float, help="a new run's R1 penalty weight on D (default: the recipe's)")
    t.add_argument("--diffaugment", help='a new run\'s DiffAugment policy, e.g. "color,translation"')
    e = sub.add_parser("export", help="judge the trained GAN and pack it into gan_lib/pretrained/")
    for q in (t, e):
        q.add_argument("--data", default=os.environ.get("GAN_DATA"), help="ImageWoof's train folder ($GAN_DATA)")
        q.add_argument("--run", type=Path, default=RUN, help="the run folder")
    args = p.parse_args(argv)
    if not args.data:
        p.error("give the photos with --data or $GAN_DATA")
    if args.command == "train":
        changes = {k: v for k, v in (("r1_gamma", args.r1), ("diffaugment", args.diffaugment)) if v is not None}
        train(args.data, args.minutes, args.run, init=args.init, **changes)
    else:
        export(args.data, args.run)


if __name__ == "__main__":
    main()
