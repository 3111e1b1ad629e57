"""Command line: `python -m gan_lib {download,train,sample,evaluate} ...` (add -h to any of them).

Every command is a short function here; the work happens in the library. Settings left out come
from `config.recommended_config` for the device, so the CLI, the notebooks and the benchmarks agree.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch
from PIL import Image
from tqdm.auto import tqdm

from .callbacks import SaveProgress, TrainingMonitor
from .checkpoint import Checkpoint
from .config import (CHECKPOINT_EVERY, D_ARCHS, D_NORMS, G_ARCHS, G_NORMS, RESOLUTIONS, SAMPLE_EVERY, UPSAMPLES,
                     TrainConfig, pick_device, recommended_config)
from .data import ImageData, default_data_root, list_images, load_images
from .distributed import barrier, init_from_env, rank_and_world, shutdown
from .download import DATASETS, DEFAULT_DATASET, ensure_dataset, locate_photos
from .errors import GanLibError
from .losses import LOSSES
from .sampling import generate_images
from .training import Trainer


def read_data(args: argparse.Namespace, resolution: int) -> ImageData:
    """The photos at `resolution`; under torchrun rank 0 downloads and caches them before the others read."""
    rank = rank_and_world()[0]
    if rank != 0:
        barrier()
    folder, annotations = locate_photos(args.data, args.dataset)
    if rank == 0:
        print(f"images: {folder}" + (f" (dog crops from {annotations})" if annotations else ""))
    data = load_images(folder, resolution, annotations=annotations, max_per_class=args.max_per_class,
                       progress=rank == 0)
    if rank == 0:
        barrier()
    return data


def cmd_download(args: argparse.Namespace) -> None:
    paths = ensure_dataset(args.name, args.root or default_data_root())
    print(f"{args.name} is ready: images in {paths.images_dir}"
          + (f", annotations in {paths.annotations_dir}" if paths.annotations_dir else ""))
    print(f"train on it with: python -m gan_lib train --data {paths.images_dir}")


# `train` options that set the TrainConfig or ModelConfig field of the same name.
TRAIN_OPTIONS = ("steps", "minutes", "batch_size", "loss", "lr_g", "lr_d", "d_steps", "diffaugment", "seed",
                 "log_every", "label_smoothing", "instance_noise", "resolution", "latent_dim", "g_width", "d_width",
                 "g_norm", "d_norm", "upsample", "g_arch", "d_arch", "fade_in")


def train_config(args: argparse.Namespace, num_classes: int, small: Checkpoint | None = None) -> TrainConfig:
    """The recommended recipe for the device, changed by the options given on the command line.

    Grown from `small` (--grow-from): its recipe (loss, learning rates, ...; not its budget), and its
    architecture at twice the resolution and half the width.
    """
    changes: dict = {}
    if small is not None:
        m = small.config.model
        changes = {k: v for k, v in small.config.to_dict().items() if k not in ("model", "steps", "minutes", "device")}
        changes |= asdict(m) | {"resolution": 2 * m.resolution, "g_width": max(1, m.g_width // 2),
                                "d_width": max(1, m.d_width // 2), "grown_from": m.resolution}
    changes |= {name: getattr(args, name) for name in TRAIN_OPTIONS if getattr(args, name) is not None}
    if args.ema is not None:
        changes["ema_decay"] = args.ema
    if args.r1 is not None:
        changes["r1_gamma"] = args.r1
    if args.no_amp:
        changes["amp"] = False
    if args.conditional:
        changes["num_classes"] = num_classes
    return recommended_config(args.device, **changes)


def cmd_train(args: argparse.Namespace) -> None:
    init_from_env()  # several processes when launched by torchrun
    try:
        train(args)
    finally:
        shutdown()


def check_run_options(args: argparse.Namespace) -> None:
    """Refuse option combinations that contradict each other, before anything is read."""
    if args.resume and args.grow_from:
        raise GanLibError("--grow-from starts a new run from a smaller one: leave it out when you --resume")
    if args.fade_in is not None and not args.grow_from:
        raise GanLibError("--fade-in sets how a --grow-from run blends in its new layers: use it with --grow-from")


def resume_trainer(args: argparse.Namespace, checkpoint: Path, say) -> tuple[Trainer, ImageData]:
    """The run in `checkpoint`, continued; --steps and --minutes, when given, change its budget."""
    ckpt = Checkpoint.load(checkpoint)
    data = read_data(args, ckpt.config.model.resolution)
    changes = {k: v for k, v in (("steps", args.steps), ("minutes", args.minutes)) if v is not None}
    trainer = Trainer.resume(ckpt, data, **changes)
    say(f"resuming from step {trainer.step} of {checkpoint}")
    return trainer, data


def new_trainer(args: argparse.Namespace, checkpoint: Path, say) -> tuple[Trainer, ImageData]:
    """A new run from the options (grown from --grow-from's run, if given); refused where a run already is."""
    if checkpoint.exists():
        raise GanLibError(f"{checkpoint.parent} already holds a run: add --resume to continue it, or choose "
                          "another --out")
    small = Checkpoint.load(args.grow_from) if args.grow_from else None
    config = train_config(args, 0, small)  # checks the settings before any photo is read
    data = read_data(args, config.model.resolution)
    if args.conditional:
        config = train_config(args, len(data.class_names), small)
    trainer = Trainer(config, data)
    if small is not None:
        trainer.grow_from(small)
        say(f"grown from the {small.config.model.resolution}px run in {args.grow_from} (step {small.step}); "
            f"its layers fade out over the first {config.fade_in:.0%} of this run")
    return trainer, data


def train(args: argparse.Namespace) -> None:
    rank, world = rank_and_world()
    say = print if rank == 0 else (lambda *a, **k: None)  # only rank 0 talks and writes files
    out = Path(args.out)
    checkpoint = out / "checkpoint.pt"
    check_run_options(args)
    trainer, data = (resume_trainer if args.resume else new_trainer)(args, checkpoint, say)
    c = trainer.config
    limits = [f"{c.steps} steps" if c.steps else "", f"{c.minutes:g} min" if c.minutes else ""]
    say(f"{len(data)} images of {len(data.class_names)} classes at {c.model.resolution}px | device "
        f"{trainer.device} x {world} | loss {c.loss} | " + " or ".join(filter(None, limits)))
    if rank != 0:
        trainer.fit(progress=False)
        return
    (out / "config.json").parent.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(c.to_dict(), indent=2))
    saver = SaveProgress(out, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every)
    monitor = TrainingMonitor(say=tqdm.write)  # alerts under the progress bar, quality (SWD) into metrics.jsonl
    trainer.fit(callbacks=[monitor, saver])  # the saver writes a final grid and checkpoint, also on Ctrl-C
    if trainer.interrupted:
        say(f"saved {checkpoint}; continue with the same command plus --resume")
        sys.exit(130)
    say(f"done: step {trainer.step} in {trainer.seconds / 60:.1f} min. Samples in {out / 'samples'}, "
          f"checkpoint {checkpoint}, curves in {out / 'metrics.jsonl'}")


def cmd_sample(args: argparse.Namespace) -> None:
    from .plotting import save_grid

    if args.checkpoint == "course":
        from . import pretrained

        images = pretrained.load(device=pick_device(args.device)).sample(args.n, args.breed, args.seed, args.truncation)
    else:
        images = generate_images(args.checkpoint, args.n, args.truncation, args.seed, args.breed, pick_device(args.device))
    out = Path(args.out)
    if args.grid:
        save_grid(images, out)
        print(f"wrote a grid of {len(images)} samples to {out}")
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            save_grid(img[None], out / f"sample_{i:05d}.png", nrow=1)
        print(f"wrote {len(images)} PNG files to {out}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Generate (or read) fakes, draw as many real photos, and print the metrics."""
    from .distances import FEATURE_METRICS, check_metric_names, evaluate, format_results
    from .features import get_extractor

    names = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    check_metric_names(names)  # before any image is generated or read
    device = pick_device(args.device)
    if args.checkpoint:
        fake = generate_images(args.checkpoint, args.n, seed=args.seed, device=device)
    else:
        with Image.open(list_images(args.fakes)[0][0]) as first:
            resolution = min(RESOLUTIONS, key=lambda r: abs(r - first.width))
        fake = load_images(args.fakes, resolution, progress=False).images[: args.n]
    folder, annotations = locate_photos(args.data, args.dataset)
    real = load_images(folder, fake.shape[-1], annotations=annotations, max_per_class=args.max_per_class).images
    # a seeded subset, so repeated evaluations hit the cached real features
    real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(args.seed))[: args.n]]
    extractor = get_extractor(args.extractor).to(device) if set(FEATURE_METRICS) & set(names) else args.extractor
    if "dogs" in names:  # the dog-o-meter classifies with the process's shared EfficientNet: run it on the device too
        get_extractor("efficientnet").to(device)
    results = evaluate(fake, real, extractor=extractor, metrics=names, seed=args.seed)
    print(f"{len(fake)} generated vs {len(real)} real images at {fake.shape[-1]}px")
    print(format_results(results, extractor))


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gan_lib", description="Train and use dog GANs.")
    sub = p.add_subparsers(dest="command", required=True)
    for add_command in (add_download_parser, add_train_parser, add_sample_parser, add_evaluate_parser):
        add_command(sub)  # in this order in the help
    return p


def add_download_parser(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("download", help="download and extract a dog dataset")
    d.add_argument("name", nargs="?", default=DEFAULT_DATASET, choices=sorted(DATASETS))
    d.add_argument("--root", type=Path, help="where datasets go (default: the repository's data/ folder)")
    d.set_defaults(func=cmd_download)


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    cpu, gpu = recommended_config("cpu"), recommended_config("cuda")  # the defaults, as help texts
    t = sub.add_parser("train", help="train a GAN; writes sample grids, checkpoints and metrics.jsonl",
                       description="Options left out follow the recipe measured best for the device "
                                   "(gan_lib.config.recommended_config).")
    src = t.add_argument_group("data")
    src.add_argument("--data", help="folder with one sub-folder of images per class (default: $GAN_DATA)")
    src.add_argument("--dataset", choices=sorted(DATASETS), help="a named dataset, downloaded when missing")
    src.add_argument("--max-per-class", type=positive_int, help="use only the first N images of each class")
    t.add_argument("--out", default="runs/dogs", help="output folder (default: runs/dogs)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    # The help lists the options in the order they are added: the helpers below keep that order.
    add_budget_options(t, cpu, gpu)
    add_architecture_options(t, cpu, gpu)
    add_regularisation_options(t, cpu)
    add_run_options(t, cpu)
    t.set_defaults(func=cmd_train)


def add_budget_options(t: argparse.ArgumentParser, cpu: TrainConfig, gpu: TrainConfig) -> None:
    """Image size, how long to train, and the optimiser."""
    t.add_argument("--resolution", type=int, choices=RESOLUTIONS,
                   help=f"default: {cpu.model.resolution} on a CPU, {gpu.model.resolution} on a CUDA GPU")
    t.add_argument("--steps", type=positive_int,
                   help=f"generator updates (default {cpu.steps}, or no limit with --minutes)")
    t.add_argument("--minutes", type=positive_float, help="total training time of the run (resumed sessions included)")
    t.add_argument("--batch-size", type=positive_int,
                   help=f"default: {cpu.batch_size} on a CPU, {gpu.batch_size} on a CUDA GPU")
    t.add_argument("--loss", choices=list(LOSSES), help=f"default: {cpu.loss}")
    t.add_argument("--lr-g", type=positive_float, help=f"G's learning rate (default {cpu.lr_g})")
    t.add_argument("--lr-d", type=positive_float, help=f"D's learning rate (default {cpu.lr_d})")
    t.add_argument("--d-steps", type=positive_int, help=f"D updates per G update (default {cpu.d_steps})")


def add_architecture_options(t: argparse.ArgumentParser, cpu: TrainConfig, gpu: TrainConfig) -> None:
    """The networks (ModelConfig), growing from a smaller run, and conditioning on the breed."""
    t.add_argument("--latent-dim", type=positive_int, help=f"length of the noise vector (default {cpu.model.latent_dim})")
    t.add_argument("--g-width", type=positive_int, help=f"G's last-block channels (DCGAN paper: 64; default: "
                   f"{cpu.model.g_width} on a CPU, {gpu.model.g_width} on a CUDA GPU)")
    t.add_argument("--d-width", type=positive_int, help="D's first-block channels (DCGAN paper: 64; default as --g-width)")
    t.add_argument("--g-norm", choices=G_NORMS, help=f"default: {cpu.model.g_norm}")
    t.add_argument("--d-norm", choices=D_NORMS, help=f"default: {cpu.model.d_norm}")
    t.add_argument("--upsample", choices=UPSAMPLES, help=f"default: {cpu.model.upsample}")
    t.add_argument("--g-arch", choices=G_ARCHS, help=f"default: {cpu.model.g_arch}; fastgan: one conv per doubling "
                   "and skip-layer excitation (FastGAN)")
    t.add_argument("--d-arch", choices=D_ARCHS, help=f"default: {cpu.model.d_arch}; projected: D judges a frozen "
                   "EfficientNet-Lite1's features (Projected GAN; use with --diffaugment)")
    t.add_argument("--grow-from", type=Path, metavar="CHECKPOINT",
                   help="start from a run at half the resolution (e.g. 32 px, trained fast): its recipe at twice its "
                        "resolution and half its width, the new layers fading in (ProGAN)")
    t.add_argument("--fade-in", type=float, help=f"share of a --grow-from run over which the new layers blend in "
                   f"(default {cpu.fade_in})")
    t.add_argument("--conditional", action="store_true", help="condition both networks on the breed")


def add_regularisation_options(t: argparse.ArgumentParser, cpu: TrainConfig) -> None:
    """Augmentation, the EMA generator and the tricks that keep D in check."""
    t.add_argument("--diffaugment", help="e.g. color,translation,cutout (default: none)")
    t.add_argument("--ema", type=float, help=f"EMA decay of G's weights (0: off; default {cpu.ema_decay})")
    t.add_argument("--r1", type=float, help="R1 penalty weight (default: 0, off)")
    t.add_argument("--label-smoothing", type=float, help="one-sided: D aims at 1 - this for photos (e.g. 0.1; "
                   "BCE losses only; default 0)")
    t.add_argument("--instance-noise", type=float, help="std of noise added to D's inputs, fading to 0 over the "
                   "run (e.g. 0.1; default 0)")


def add_run_options(t: argparse.ArgumentParser, cpu: TrainConfig) -> None:
    """Seed, device, precision, and how often the run folder is written (config.SAMPLE_EVERY, ...)."""
    t.add_argument("--seed", type=int, help=f"default: {cpu.seed}")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    t.add_argument("--no-amp", action="store_true", help="no bfloat16 autocast (used on CPUs where it measured faster)")
    t.add_argument("--log-every", type=positive_int, help=f"record losses every N steps (default {cpu.log_every})")
    t.add_argument("--sample-every", type=positive_int, default=SAMPLE_EVERY, help="write a sample grid every N steps")
    t.add_argument("--checkpoint-every", type=positive_int, default=CHECKPOINT_EVERY)


def add_sample_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sample", help="generate images from a checkpoint, or from the course's trained GAN")
    s.add_argument("checkpoint", help='a checkpoint.pt written by train, or "course" for the course\'s own trained '
                                      '64x64 GAN (gan_lib.pretrained: nine breeds)')
    s.add_argument("--out", default="samples.png", help="a PNG file (with --grid) or a folder")
    s.add_argument("--n", type=positive_int, default=64)
    s.add_argument("--grid", action=argparse.BooleanOptionalAction, default=True,
                   help="one grid PNG (default) or, with --no-grid, one PNG per image")
    s.add_argument("--truncation", type=positive_float, help="truncation trick: redraw noise entries beyond this value")
    s.add_argument("--breed", help="for conditional models: generate this breed only")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="auto")
    s.set_defaults(func=cmd_sample)


def add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="FD/KID/precision/recall/SWD of generated images against real ones, "
                                        "and how many look like dogs")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="generate from this checkpoint")
    what.add_argument("--fakes", help="a folder of generated images")
    e.add_argument("--data", help="real images (default: $GAN_DATA)")
    e.add_argument("--dataset", choices=sorted(DATASETS))
    e.add_argument("--max-per-class", type=positive_int)
    e.add_argument("--n", type=positive_int, default=1000, help="how many images of each side to compare")
    e.add_argument("--metrics", default="fd,kid,swd",
                   help="comma-separated: fd, kid, mifid, swd, pr (precision/recall), dogs (dog-o-meter: the share "
                        "of fakes an ImageNet classifier calls a dog, and their breeds)")
    e.add_argument("--extractor", default="efficientnet", choices=("efficientnet", "inception"),
                   help="features for FD/KID/MiFID/pr: efficientnet (offline) or inception (standard FID; "
                        "downloads weights)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default="auto")
    e.set_defaults(func=cmd_evaluate)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except GanLibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
