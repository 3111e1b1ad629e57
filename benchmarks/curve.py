"""A longer run's metric curve: FD, KID and SWD of the EMA generator every few minutes of training.

    python benchmarks/curve.py --minutes 8 --every 1                       # recommended recipe, 32px
    python benchmarks/curve.py --minutes 8 --resolution 64 --width 64 --batch-size 128 --out benchmarks/results/gpu64

Trains on the same split as quality.py (every 10th photo of each breed held out) and scores 1,000
EMA samples against the held-out photos at 32x32 at each point, so the numbers are comparable with
quality.py's table. Scoring time is not counted as training time. Writes curve.json, curve.png and
the final sample grid to --out; `--plot curve.json` redraws the picture from a saved curve.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_name  # noqa: E402
from quality import to32  # noqa: E402

from gan_lib.data import hold_out, load_images, to_uint8  # noqa: E402
from gan_lib.metrics import evaluate, get_extractor  # noqa: E402
from gan_lib.models import sample_noise  # noqa: E402
from gan_lib.plotting import save_grid  # noqa: E402
from gan_lib.config import RESOLUTIONS, pick_device, recommended_config  # noqa: E402
from gan_lib.training import Trainer  # noqa: E402


def plot(report: dict, path: Path) -> None:
    """FD, KID and SWD against training minutes, side by side."""
    curve, config = report["curve"], report["config"]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3), layout="constrained")
    for ax, key in zip(axes, ("fd", "kid", "swd")):
        ax.plot([c["minutes"] for c in curve], [c[key] for c in curve], "o-")
        ax.set(xlabel="training minutes", title=key.upper(), ylim=(0, None))
        ax.grid(alpha=0.3)
    model = config["model"]
    fig.suptitle(f"{model['resolution']}px, widths {model['g_width']}, batch {config['batch_size']} "
                 f"on {report['device']} (lower is better)")
    fig.savefig(path, dpi=80)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("GAN_DATA"))
    p.add_argument("--minutes", type=float, default=8.0, help="training time in all")
    p.add_argument("--every", type=float, default=1.0, help="minutes of training between two scores")
    p.add_argument("--resolution", type=int, default=32, choices=RESOLUTIONS)
    p.add_argument("--width", type=int, default=32, help="G's and D's base channels")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--diffaugment", default="")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="benchmarks/results/curve")
    p.add_argument("--plot", metavar="CURVE_JSON", help="only redraw curve.png next to this saved curve")
    args = p.parse_args()
    if args.plot:
        path = Path(args.plot)
        return plot(json.loads(path.read_text()), path.with_suffix(".png"))
    if not args.data:
        sys.exit("set GAN_DATA or pass --data")
    device = pick_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    train, _ = hold_out(load_images(args.data, args.resolution, progress=False))
    _, held32 = hold_out(load_images(args.data, 32, progress=False))
    config = replace(recommended_config("cpu", resolution=args.resolution, g_width=args.width, d_width=args.width,
                                        batch_size=args.batch_size, diffaugment=args.diffaugment),
                     device=str(device))  # the CPU recipe with these sizes, on `device`
    trainer = Trainer(config, train)
    if device.type == "cuda":
        get_extractor("efficientnet").to(device)  # the cached extractor, so scoring takes seconds
    where = device_name(device)
    print(f"{len(train)} training photos, {len(held32)} held out; {where}; autocast {trainer.amp_dtype}", flush=True)
    z = sample_noise(args.samples, config.model.latent_dim, generator=torch.Generator().manual_seed(123))

    curve = []
    points = round(args.minutes / args.every)
    for k in range(1, points + 1):
        trainer.config.minutes = k * args.every  # fit() continues until this much training time in all
        trainer.fit(progress=False)
        fakes = to_uint8(trainer.sample(z))
        scores = evaluate(to32(fakes), held32.images, extractor="efficientnet", metrics=("fd", "kid", "swd"))
        curve.append({"minutes": round(trainer.seconds / 60, 2), "steps": trainer.step,
                      "images_per_s": round(trainer.step * config.batch_size / trainer.seconds, 1), **scores})
        print(f"{curve[-1]['minutes']:6.2f} min {trainer.step:>8} steps  FD {scores['fd']:7.1f}  "
              f"KID {scores['kid']:.3f}  SWD {scores['swd']:6.1f}", flush=True)
        save_grid(fakes[:64], out / "samples.png")

    report = {"device": where, "torch": torch.__version__, "config": asdict(config), "curve": curve}
    (out / "curve.json").write_text(json.dumps(report, indent=2))
    plot(report, out / "curve.png")


if __name__ == "__main__":
    main()
