"""Training and data throughput of gan_lib against the PyTorch DCGAN tutorial, in one run.

    python benchmarks/throughput.py                # uses $GAN_DATA
    python benchmarks/throughput.py --seconds 30 --batch-size 64

Runs on the best device PyTorch sees (CUDA GPU, Apple GPU, else CPU) unless --device says otherwise.

Training speed is measured on batches already in memory for every recipe (so it compares the
training step itself); the data pipeline is measured separately: decoding JPEGs with ImageFolder
+ DataLoader every epoch (the tutorial) vs slicing gan_lib's cached uint8 tensor.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_name, synchronize  # noqa: E402
from reference_dcgan import ReferenceDCGAN, image_folder  # noqa: E402

from gan_lib.data import Batches, load_images, to_float  # noqa: E402
from gan_lib.config import ModelConfig, TrainConfig, pick_device, recommended_config  # noqa: E402
from gan_lib.training import Trainer, run_dtype  # noqa: E402


def timed_rate(step, images_per_step: int, seconds: float, device: torch.device, warmup: int = 5) -> float:
    """Images per second of `step()` over about `seconds` of wall time, after a few warm-up calls."""
    for _ in range(warmup):  # cuDNN picks its algorithms on the first calls
        step()
    synchronize(device)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    synchronize(device)
    return n * images_per_step / (time.perf_counter() - start)


def reference_rate(data, batch_size: int, seconds: float, channels_last: bool, device: torch.device) -> float:
    ref = ReferenceDCGAN(channels_last=channels_last, device=device)
    real = [to_float(data.images[i:i + batch_size]).to(device)
            for i in range(0, len(data) - batch_size + 1, batch_size)]
    it = iter(range(10**9))
    return timed_rate(lambda: ref.step(real[next(it) % len(real)]), batch_size, seconds, device)


def gan_lib_rate(data, batch_size: int, seconds: float, config: TrainConfig, device: torch.device) -> float:
    trainer = Trainer(replace(config, batch_size=batch_size, log_every=10**9, device=str(device)), data)
    return timed_rate(trainer.train_step, batch_size, seconds, device)


def imagefolder_rate(root: str, batch_size: int, batches: int) -> float:
    loader = torch.utils.data.DataLoader(image_folder(root), batch_size=batch_size, shuffle=True, num_workers=2)
    start, n = time.perf_counter(), 0
    for i, (x, _) in enumerate(loader):
        n += len(x)
        if i + 1 == batches:
            break
    return n / (time.perf_counter() - start)


def cached_rate(data, batch_size: int, batches: int, device: torch.device) -> float:
    it = Batches(data, batch_size, device=device)  # on a GPU the whole uint8 cache lives in GPU memory
    next(it)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    synchronize(device)
    return batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("GAN_DATA"), help="photo folder (default: $GAN_DATA)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seconds", type=float, default=20.0, help="measuring time per training recipe")
    p.add_argument("--skip-data", action="store_true", help="training throughput only")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    args = p.parse_args()
    if not args.data:
        sys.exit("set GAN_DATA or pass --data")
    device = pick_device(args.device)
    print(f"device: {device_name(device)}, torch {torch.__version__}, batch {args.batch_size}, {args.seconds:.0f} s per recipe")

    data64 = load_images(args.data, 64, max_per_class=100, progress=False)
    data32 = load_images(args.data, 32, max_per_class=100, progress=False)
    ours = [
        ("gan_lib, DCGAN widths, fp32, 64px", data64, TrainConfig(ModelConfig(resolution=64), amp=False)),
        ("gan_lib, DCGAN widths, 64px", data64, TrainConfig(ModelConfig(resolution=64))),
        ("gan_lib recommended, 64px", data64, recommended_config("cpu", resolution=64)),
        ("gan_lib recommended, 32px", data32, recommended_config("cpu", resolution=32)),
        # As on a laptop CPU where bf16 is not faster (gan_lib then measures that and trains in float32):
        ("gan_lib recommended, fp32, 64px", data64, recommended_config("cpu", resolution=64, amp=False)),
        ("gan_lib recommended, fp32, 32px", data32, recommended_config("cpu", resolution=32, amp=False)),
    ]
    rows = [
        ("reference DCGAN tutorial, 64px", reference_rate(data64, args.batch_size, args.seconds, False, device)),
        ("reference + channels_last, 64px", reference_rate(data64, args.batch_size, args.seconds, True, device)),
    ]
    for name, data, config in ours:
        rows.append((name, gan_lib_rate(data, args.batch_size, args.seconds, config, device)))
        print(f"  {name}: {rows[-1][1]:.1f} img/s (autocast chosen by measurement: "
              f"{run_dtype(replace(config, batch_size=args.batch_size), device)})",
              flush=True)
    base = rows[0][1]
    print("\ntraining throughput (images/s; one D step + one G step per batch)")
    for name, rate in rows:
        print(f"  {name:<46}{rate:>9.1f} img/s   {rate / base:6.2f}x reference")

    if args.skip_data:
        return
    print("\ndata pipeline (64px)")
    folder_rate = imagefolder_rate(args.data, args.batch_size, batches=30)
    cache_rate = cached_rate(data64, args.batch_size, batches=300, device=device)
    print(f"  ImageFolder + DataLoader(2 workers), JPEG decode per epoch {folder_rate:>10.0f} img/s")
    print(f"  gan_lib cached uint8 tensor -> float batches ({device.type:>4})     {cache_rate:>10.0f} img/s"
          f"   {cache_rate / folder_rate:,.0f}x")
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        full = load_images(args.data, 64, cache_dir=cache, progress=False)
        build = time.perf_counter() - start
        start = time.perf_counter()
        load_images(args.data, 64, cache_dir=cache, progress=False)
        reload = time.perf_counter() - start
    print(f"  cache build for {len(full)} photos: {build:.1f} s; reload: {reload:.2f} s")


if __name__ == "__main__":
    main()
