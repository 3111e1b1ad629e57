"""Command line: `python -m gan_lib {download,train,sample,evaluate} ...` (add -h to any of them)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .distributed import barrier, init_from_env, rank_and_world, shutdown
from .data import ImageData, default_data_root, load_images, to_uint8
from .download import DATASETS, DEFAULT_DATASET, ensure_dataset, locate_photos
from .errors import GanLibError
from .losses import LOSSES
from .models import ModelConfig, sample_noise
from .training import SaveProgress, TrainConfig, Trainer, load_checkpoint, load_generator, pick_device


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


def fill_size_defaults(args: argparse.Namespace, device: torch.device) -> None:
    """Resolution, widths and batch size for the options left out, measured per kind of device
    (benchmarks/README.md): narrow networks at 32x32 make the best dogs per CPU-minute; on a GPU
    every size runs at about the same steps per second, so 64x64 with the DCGAN widths comes free."""
    gpu = device.type == "cuda"
    sizes = dict(resolution=64, g_width=64, d_width=64, batch_size=128) if gpu else \
        dict(resolution=32, g_width=32, d_width=32, batch_size=64)
    for name, value in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def train_config(args: argparse.Namespace, num_classes: int) -> TrainConfig:
    model = ModelConfig(resolution=args.resolution, latent_dim=args.latent_dim, g_width=args.g_width,
                        d_width=args.d_width, g_norm=args.g_norm, d_norm=args.d_norm, upsample=args.upsample,
                        num_classes=num_classes if args.conditional else 0)
    steps = args.steps or (1_000_000 if args.minutes else 3000)  # with a time budget, time decides
    return TrainConfig(model=model, steps=steps, minutes=args.minutes, batch_size=args.batch_size,
                       loss=args.loss, lr_g=args.lr_g, lr_d=args.lr_d, d_steps=args.d_steps,
                       ema_decay=args.ema, diffaugment=args.diffaugment, r1_gamma=args.r1, seed=args.seed,
                       device=args.device, amp=not args.no_amp, log_every=args.log_every)


def cmd_train(args: argparse.Namespace) -> None:
    init_from_env()  # several processes when launched by torchrun
    try:
        train(args)
    finally:
        shutdown()


def train(args: argparse.Namespace) -> None:
    rank, world = rank_and_world()
    say = print if rank == 0 else (lambda *a, **k: None)  # only rank 0 talks and writes files
    out = Path(args.out)
    checkpoint = out / "checkpoint.pt"
    if args.resume:
        state = load_checkpoint(checkpoint)
        data = read_data(args, state["config"]["model"]["resolution"])
        changes = {k: v for k, v in (("steps", args.steps), ("minutes", args.minutes)) if v is not None}
        trainer = Trainer.resume(checkpoint, data, **changes)
        say(f"resuming from step {trainer.step} of {checkpoint}")
    else:
        if checkpoint.exists():
            raise GanLibError(f"{out} already holds a run: add --resume to continue it, or choose another --out")
        fill_size_defaults(args, pick_device(args.device))
        data = read_data(args, args.resolution)
        trainer = Trainer(train_config(args, len(data.class_names)), data)
    c = trainer.config
    say(f"{len(data)} images of {len(data.class_names)} classes at {c.model.resolution}px | device "
          f"{trainer.device} x {world} | loss {c.loss} | {c.steps} steps" + (f" or {c.minutes} min" if c.minutes else ""))
    if rank != 0:
        trainer.fit(progress=False)
        return
    (out / "config.json").parent.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(trainer.state_dict()["config"], indent=2))
    saver = SaveProgress(out, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every)
    trainer.fit(callbacks=[saver])  # the saver writes a final grid and checkpoint, also on Ctrl-C
    if trainer.interrupted:
        say(f"saved {checkpoint}; continue with the same command plus --resume")
        sys.exit(130)
    say(f"done: step {trainer.step} in {trainer.seconds / 60:.1f} min. Samples in {out / 'samples'}, "
          f"checkpoint {checkpoint}, curves in {out / 'metrics.jsonl'}")


@torch.inference_mode()
def generate_images(checkpoint: Path, n: int, truncation: float | None, seed: int, breed: str | None,
                    device: torch.device) -> torch.Tensor:
    """n uint8 images from a checkpoint's (EMA) generator."""
    state = load_checkpoint(checkpoint)  # read once: the generator and the class names
    G = load_generator(state, device)
    cfg = G.cfg
    rng = torch.Generator().manual_seed(seed)
    labels = None
    if cfg.num_classes:
        names = state["class_names"]
        if breed is not None:
            matches = [i for i, name in enumerate(names) if name.lower() == breed.lower()]
            if not matches:
                raise GanLibError(f"unknown breed {breed!r}; this checkpoint knows: {', '.join(names)}")
            labels = torch.full((n,), matches[0])
        else:
            labels = torch.arange(n) % cfg.num_classes
        labels = labels.to(device)
    out = []
    for start in range(0, n, 256):
        z = sample_noise(min(256, n - start), cfg.latent_dim, truncation, generator=rng, device=device)
        out.append(to_uint8(G(z, None if labels is None else labels[start:start + len(z)]).cpu()))
    return torch.cat(out)


def cmd_sample(args: argparse.Namespace) -> None:
    from .plotting import save_grid

    images = generate_images(Path(args.checkpoint), args.n, args.truncation, args.seed, args.breed,
                             pick_device(args.device))
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
    from .metrics import evaluate_cli

    evaluate_cli(args)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gan_lib", description="Train and use dog GANs.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("download", help="download and extract a dog dataset")
    d.add_argument("name", nargs="?", default=DEFAULT_DATASET, choices=sorted(DATASETS))
    d.add_argument("--root", type=Path, help="where datasets go (default: the repository's data/ folder)")
    d.set_defaults(func=cmd_download)

    t = sub.add_parser("train", help="train a GAN; writes sample grids, checkpoints and metrics.jsonl")
    src = t.add_argument_group("data")
    src.add_argument("--data", help="folder with one sub-folder of images per class (default: $GAN_DATA)")
    src.add_argument("--dataset", choices=sorted(DATASETS), help="a named dataset, downloaded when missing")
    src.add_argument("--max-per-class", type=int, help="use only the first N images of each class")
    t.add_argument("--out", default="runs/dogs", help="output folder (default: runs/dogs)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    t.add_argument("--resolution", type=int, choices=(32, 64, 128), help="default: 32 on a CPU, 64 on a CUDA GPU")
    t.add_argument("--steps", type=positive_int, help="generator updates (default 3000, or unlimited with --minutes)")
    t.add_argument("--minutes", type=positive_float, help="total training time of the run (resumed sessions included)")
    t.add_argument("--batch-size", type=positive_int, help="default: 64 on a CPU, 128 on a CUDA GPU")
    t.add_argument("--loss", default="nonsaturating", choices=list(LOSSES))
    t.add_argument("--lr-g", type=float, default=2e-4)
    t.add_argument("--lr-d", type=float, default=2e-4)
    t.add_argument("--d-steps", type=int, default=1, help="D updates per G update")
    t.add_argument("--latent-dim", type=int, default=100)
    t.add_argument("--g-width", type=int, help="G's last-block channels (DCGAN paper: 64; default: 32 on a CPU, "
                   "64 on a CUDA GPU)")
    t.add_argument("--d-width", type=int, help="D's first-block channels (DCGAN paper: 64; default as --g-width)")
    t.add_argument("--g-norm", default="batch", choices=("batch", "none"))
    t.add_argument("--d-norm", default="batch", choices=("batch", "spectral", "none"))
    t.add_argument("--upsample", default="transpose", choices=("transpose", "resize"))
    t.add_argument("--conditional", action="store_true", help="condition both networks on the breed")
    t.add_argument("--diffaugment", default="", help="e.g. color,translation,cutout")
    t.add_argument("--ema", type=float, default=0.999, help="EMA decay of G's weights (0: off)")
    t.add_argument("--r1", type=float, default=0.0, help="R1 penalty weight")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    t.add_argument("--no-amp", action="store_true", help="no bfloat16 autocast (used on CPUs with AMX)")
    t.add_argument("--log-every", type=int, default=10)
    t.add_argument("--sample-every", type=int, default=250, help="write a sample grid every N steps")
    t.add_argument("--checkpoint-every", type=int, default=500)
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="generate images from a checkpoint")
    s.add_argument("checkpoint", help="a checkpoint.pt written by train")
    s.add_argument("--out", default="samples.png", help="a PNG file (with --grid) or a folder")
    s.add_argument("--n", type=positive_int, default=64)
    s.add_argument("--grid", action=argparse.BooleanOptionalAction, default=True,
                   help="one grid PNG (default) or, with --no-grid, one PNG per image")
    s.add_argument("--truncation", type=positive_float, help="truncation trick: redraw noise entries beyond this value")
    s.add_argument("--breed", help="for conditional models: generate this breed only")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="auto")
    s.set_defaults(func=cmd_sample)

    e = sub.add_parser("evaluate", help="FD/KID/SWD of generated images against real ones")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="generate from this checkpoint")
    what.add_argument("--fakes", help="a folder of generated images")
    e.add_argument("--data", help="real images (default: $GAN_DATA)")
    e.add_argument("--dataset", choices=sorted(DATASETS))
    e.add_argument("--max-per-class", type=int)
    e.add_argument("--n", type=int, default=1000, help="how many images of each side to compare")
    e.add_argument("--metrics", default="fd,kid,swd", help="comma-separated: fd, kid, swd")
    e.add_argument("--extractor", default="efficientnet", choices=("efficientnet", "inception"),
                   help="features for FD/KID: efficientnet (offline) or inception (standard FID; downloads weights)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default="auto")
    e.set_defaults(func=cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except GanLibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
