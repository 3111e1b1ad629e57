"""Dogs per CPU-minute: the reference DCGAN tutorial vs gan_lib's recommended recipe, same budget.

    python benchmarks/quality.py --minutes 20          # uses $GAN_DATA; about 2 x 20 minutes

Both recipes train for the same wall-clock budget on the same photos, with every 10th photo of
each breed held out. Then 1,000 samples of each are scored against the held-out photos at 32x32
(the reference's 64x64 samples are downsampled with antialiasing) with the project's offline
metrics: FD and KID over EfficientNet-Lite0 features (not comparable to published FIDs) and the
sliced Wasserstein distance. A nearest-neighbour check compares how close samples come to
training photos with how close the held-out photos come. Sample grids are written to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_name  # noqa: E402
from reference_dcgan import NZ, ReferenceDCGAN  # noqa: E402

from gan_lib.data import Batches, ImageData, hold_out, load_images, to_uint8  # noqa: E402
from gan_lib.metrics import evaluate, nearest_neighbours  # noqa: E402
from gan_lib.models import sample_noise  # noqa: E402
from gan_lib.plotting import save_grid  # noqa: E402
from gan_lib.config import pick_device, recommended_config  # noqa: E402
from gan_lib.training import Trainer  # noqa: E402


def train_reference(train64: ImageData, minutes: float, batch_size: int,
                    device: torch.device) -> tuple[ReferenceDCGAN, int]:
    """The tutorial's loop on the same photos (pre-decoded, which only helps the reference)."""
    ref = ReferenceDCGAN(device=device)
    batches = Batches(train64, batch_size, flip=False, device=device)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < minutes * 60:
        ref.step(next(batches)[0])
        steps += 1
    return ref, steps


def to32(images_uint8: torch.Tensor) -> torch.Tensor:
    """Downsample uint8 images to 32x32 with antialiasing."""
    if images_uint8.shape[-1] == 32:
        return images_uint8
    x = F.interpolate(images_uint8.float(), size=(32, 32), mode="bilinear", antialias=True)
    return x.round().clamp(0, 255).to(torch.uint8)


def score(name: str, fakes: torch.Tensor, held_out: torch.Tensor, train: torch.Tensor, out: Path) -> dict:
    """Offline metrics against held-out photos, a nearest-neighbour check, and a sample grid."""
    save_grid(fakes[:64], out / f"{name}.png")
    results = evaluate(fakes, held_out, extractor="efficientnet", metrics=("fd", "kid", "swd"))
    _, d_fake = nearest_neighbours(fakes[:500], train)
    _, d_real = nearest_neighbours(held_out[:500], train)
    results["nn_fake_median"] = d_fake.median().item()
    results["nn_heldout_median"] = d_real.median().item()
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("GAN_DATA"))
    p.add_argument("--minutes", type=float, default=20.0, help="training budget per recipe")
    p.add_argument("--out", default="benchmarks/results", help="sample grids and results.json")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    args = p.parse_args()
    device = pick_device(args.device)
    if not args.data:
        sys.exit("set GAN_DATA or pass --data")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train32, held32 = hold_out(load_images(args.data, 32, progress=False))
    train64, _ = hold_out(load_images(args.data, 64, progress=False))
    print(f"{len(train32)} training photos, {len(held32)} held out; {args.minutes} min per recipe on "
          f"{device_name(device)}")
    z = sample_noise(args.samples, NZ, generator=torch.Generator().manual_seed(123))
    report = {}

    ref, ref_steps = train_reference(train64, args.minutes, batch_size=64, device=device)
    fakes = to32(to_uint8(ref.sample(z)))
    report["reference DCGAN tutorial (64px)"] = {"steps": ref_steps, **score("reference", fakes, held32.images,
                                                                              train32.images, out)}

    config = replace(recommended_config("cpu", minutes=args.minutes), device=str(device))  # the CPU recipe, on `device`
    trainer = Trainer(config, train32)
    trainer.fit(progress=False)
    fakes = to_uint8(trainer.sample(z))
    report["gan_lib recommended (32px)"] = {"steps": trainer.step, "config": asdict(config),
                                            **score("gan_lib", fakes, held32.images, train32.images, out)}

    (out / "results.json").write_text(json.dumps(report, indent=2))
    (ref_name, ref_r), (our_name, our_r) = report.items()
    print(f"\n{'':<34}{'steps':>8}{'FD(EffNet)':>12}{'KID x1e3':>10}{'SWD':>8}{'NN fake/heldout':>18}")
    for name, r in report.items():
        print(f"{name:<34}{r['steps']:>8}{r['fd']:>12.1f}{r['kid'] * 1e3:>10.2f}{r['swd']:>8.1f}"
              f"{r['nn_fake_median']:>9.3f}/{r['nn_heldout_median']:.3f}")
    print(f"ratio gan_lib / reference: FD {our_r['fd'] / ref_r['fd']:.2f}, KID {our_r['kid'] / ref_r['kid']:.2f}, "
          f"SWD {our_r['swd'] / ref_r['swd']:.2f}")


if __name__ == "__main__":
    main()
