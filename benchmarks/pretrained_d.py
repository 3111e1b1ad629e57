"""Dogs at 64x64 on a CPU in a fixed budget: the recommended DCGAN recipe against the candidates of issue 13.

    python benchmarks/pretrained_d.py --candidate recommended-32 --minutes 15   # one candidate per run
    python benchmarks/pretrained_d.py --report                                  # the table of all runs

Candidates (`CANDIDATES` below): the recommended CPU recipe at 32 and 64 px; the same with the
projected discriminator (`d_arch="projected"`: D judges a frozen EfficientNet-Lite1's features, with
DiffAugment) and, as its control, with DiffAugment alone; a narrow 64 px DCGAN; and a FastGAN-style
light generator (`g_arch="fastgan"`) at 32 and 64 px; and the 32 px recipe grown into the narrow
64 px one part-way, with and without fading the new layers in (`networks.grow`, `GROWN`). Each
trains for the same wall-clock budget on the same photos, every 10th photo of each breed held out.
Then --samples samples are scored against the held-out photos at 64x64 (32 px samples are upsampled
with bilinear interpolation):

- the judge's network is EfficientNet-Lite0 (FD and KID on its features, and its ImageNet head for
  the dog-o-meter), a different network from the projected D's Lite1, so D cannot have learned to
  please exactly the features it is scored in;
- the extractor-free sliced Wasserstein distance (SWD) and a nearest-neighbour memorisation check
  are reported next to them, and a sample grid is written for the eye.

Run one candidate at a time on a quiet machine: the budget is wall-clock time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_name  # noqa: E402

from gan_lib.config import pick_device, recommended_config  # noqa: E402
from gan_lib.data import hold_out, load_images, to_uint8  # noqa: E402
from gan_lib.metrics import dog_o_meter, evaluate, nearest_neighbours  # noqa: E402
from gan_lib.models import sample_noise  # noqa: E402
from gan_lib.plotting import save_grid  # noqa: E402
from gan_lib.training import Trainer  # noqa: E402

PROJECTED = dict(d_arch="projected", diffaugment="color,translation,cutout")
CANDIDATES = {
    "recommended-32": dict(),
    "recommended-64": dict(resolution=64),
    # The projected D's DiffAugment without the projected D: which of the two made the difference?
    "recommended-32-diffaugment": dict(diffaugment=PROJECTED["diffaugment"]),
    "projected-32": PROJECTED,
    "projected-64": dict(resolution=64, **PROJECTED),
    # 64 px with the 32 px recipe's channels at 4-16 px and thin 32 and 64 px stages (16 channels).
    "narrow-64": dict(resolution=64, g_width=16, d_width=16),
    # narrow-64 with its G swapped for a FastGAN-style one (3x3 conv + GLU per doubling, skip-layer
    # excitation) with the same channels at each size, and a 64 px map of 8 channels before RGB.
    "fastgan-64": dict(resolution=64, g_arch="fastgan", g_width=16, d_width=16),
    # The same G at 32 px against the recommended recipe's D: recommended-32 with only the G swapped.
    "fastgan-32": dict(g_arch="fastgan"),
}
# Trained as the first candidate for a share of the budget, then grown into the second (`networks.grow`,
# with the changes given) for the rest: the 32 px run learns the layout in many cheap steps, the 64 px
# layers add the detail. faded-64 blends the new layers in over half of its 5 minutes (ProGAN's fade-in).
GROWN = {"grown-64": ("recommended-32", "narrow-64", 2 / 3, {}),
         "faded-64": ("recommended-32", "narrow-64", 2 / 3, {"grown_from": 32})}


def to64(images: torch.Tensor) -> torch.Tensor:
    """uint8 images at 64x64 (bilinear upsampling from 32; 64 stays as it is)."""
    if images.shape[-1] == 64:
        return images
    return F.interpolate(images.float(), size=(64, 64), mode="bilinear").round().clamp(0, 255).to(torch.uint8)


def train(name: str, minutes: float, data: str, device: torch.device, start: Trainer | None = None,
          amp: bool = True, **changes) -> Trainer:
    """Train candidate `name` (with `changes`) for the budget on the training split; first grow `start` into it, if given."""
    config = recommended_config("cpu", minutes=minutes, **(CANDIDATES[name] | changes))
    config.device, config.amp = str(device), amp
    train_split, _ = hold_out(load_images(data, config.model.resolution, progress=False))
    trainer = Trainer(config, train_split)
    if start is not None:
        trainer.grow_from(start)
    return trainer.fit(progress=False)


def run(name: str, minutes: float, samples: int, data: str, out: Path, device: torch.device,
        amp: bool = True) -> dict:
    """Train one candidate for the budget, score its samples at 64x64, save the grid and the numbers."""
    if name in GROWN:
        small, big, share, changes = GROWN[name]
        first = train(small, minutes * share, data, device, amp=amp)
        trainer = train(big, minutes * (1 - share), data, device, start=first, amp=amp, **changes)
        steps, seconds, configs = first.step + trainer.step, first.seconds + trainer.seconds, [first.config, trainer.config]
        dtypes = [first.amp_dtype, trainer.amp_dtype]
    else:
        trainer = train(name, minutes, data, device, amp=amp)
        steps, seconds, configs, dtypes = trainer.step, trainer.seconds, [trainer.config], [trainer.amp_dtype]
    precision = "/".join(str(d or torch.float32).removeprefix("torch.") for d in dtypes)  # per stage
    train64, held64 = hold_out(load_images(data, 64, progress=False))
    z = sample_noise(samples, trainer.config.model.latent_dim, generator=torch.Generator().manual_seed(123))
    fakes = to64(to_uint8(trainer.sample(z)))
    save_grid(fakes[:64], out / f"{name}.png")
    result = evaluate(fakes, held64.images, extractor="efficientnet", metrics=("fd", "kid", "swd"))
    result["dogs"] = dog_o_meter(fakes[:500]).dog_share  # 500 of each: the share is stable, features cost time
    result["dogs_heldout"] = dog_o_meter(held64.images[:500]).dog_share
    _, d_fake = nearest_neighbours(fakes[:500], train64.images)
    _, d_real = nearest_neighbours(held64.images[:500], train64.images)
    result |= {"nn_fake_median": d_fake.median().item(), "nn_heldout_median": d_real.median().item(),
               "steps": steps, "minutes": seconds / 60, "device": device_name(device),
               "precision": precision,
               "config": asdict(configs[-1]), "configs": [asdict(c) for c in configs]}
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    return result


def report(out: Path) -> None:
    """Print the table of every candidate that has results in `out`."""
    print(f"{'candidate':<28}{'precision':>10}{'steps':>8}{'FD(Lite0)':>11}{'KID x1e3':>10}{'SWD':>8}{'dogs':>7}{'NN fake/held':>15}")
    for name in [*CANDIDATES, *GROWN]:
        path = out / f"{name}.json"
        if path.exists():
            r = json.loads(path.read_text())
            print(f"{name:<28}{r.get('precision', 'float32'):>10}{r['steps']:>8,}{r['fd']:>11.1f}{r['kid'] * 1e3:>10.1f}{r['swd']:>8.1f}"
                  f"{r['dogs']:>7.0%}{r['nn_fake_median']:>9.3f}/{r['nn_heldout_median']:.3f}")
    held = [json.loads(p.read_text())["dogs_heldout"] for p in out.glob("*.json")]
    if held:
        print(f"held-out photos at 64x64 called a dog: {held[0]:.0%} (the dog-o-meter's ceiling)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidate", choices=[*CANDIDATES, *GROWN])
    p.add_argument("--report", action="store_true", help="print the table of the results so far")
    p.add_argument("--data", default=os.environ.get("GAN_DATA"))
    p.add_argument("--minutes", type=float, default=15.0, help="training budget")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/pretrained_d"))
    p.add_argument("--device", default="cpu", help="cpu (the laptop case this compares), or cuda")
    p.add_argument("--fp32", action="store_true",
                   help="train in float32 even where bf16 autocast was measured faster on this CPU")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.candidate:
        if not args.data:
            sys.exit("set GAN_DATA or pass --data")
        r = run(args.candidate, args.minutes, args.samples, args.data, args.out, pick_device(args.device),
                amp=not args.fp32)
        print(f"{args.candidate}: {r['steps']:,} steps, FD {r['fd']:.1f}, KID {r['kid']:.4f}, SWD {r['swd']:.1f}, "
              f"dogs {r['dogs']:.0%}")
    report(args.out)


if __name__ == "__main__":
    main()
