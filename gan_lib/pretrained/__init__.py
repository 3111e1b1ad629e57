"""The course's own trained GAN, shipped inside the package: `gan_lib.pretrained.load()`.

A conditional 64x64 DCGAN trained on nine ImageWoof breeds (the Samoyed was held out, for
fine-tuning on a breed it never saw), its EMA generator *and* its discriminator (fine-tuning needs D), stored in half precision in
`course_gan.pt` next to this file. The file is made by `python -m gan_lib.pretrained.build` (see
build.py for how it was trained, in two stages, and judged), never by hand; its recipe, its stages and its
scores travel inside it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ..config import TrainConfig
from ..errors import GanLibError
from ..networks import build_discriminator, build_generator
from ..sampling import sample_images

if TYPE_CHECKING:
    from ..training import Trainer

PACKED = Path(__file__).parent / "course_gan.pt"
FORMAT, VERSION = "gan_lib course GAN", 1


@dataclass
class CourseGAN:
    """The course's trained GAN: its networks (float32), the breeds it knows, how it was trained and judged."""

    config: TrainConfig  # its (last stage's) recipe
    class_names: list[str]  # the breeds it draws, in label order
    held_out_breed: str  # the breed it never saw (for fine-tuning)
    G: nn.Module  # the EMA generator, in eval mode
    D: nn.Module  # the discriminator it was trained against, in eval mode
    step: int
    minutes: float  # training time, over all stages (step: steps, likewise)
    scores: dict  # FD/KID (EfficientNet-Lite0), SWD, dog-o-meter, breed match, nearest neighbours
    trained_on: list[str]  # the machine(s) it was trained on
    stages: list[dict] = field(default_factory=list)  # each stage: step, seconds, config, trained_on

    def sample(self, n: int, breed: str | None = None, seed: int = 0, truncation: float | None = None) -> Tensor:
        """n uint8 images (n x 3 x 64 x 64): one breed by name, or all breeds in turn."""
        return sample_images(self.G, self.class_names, n, truncation, seed, breed)

    def copy_into(self, trainer: "Trainer") -> "Trainer":
        """Start `trainer`'s G, its EMA copy and D from this GAN's weights (the networks must match).

        The Trainer's EMA warm-up (decay rising from 0.1 over its first steps) then lets the EMA follow G,
        which starts equal to it.
        Taught in notebook 09.
        """
        trainer.G.load_state_dict(self.G.state_dict())
        trainer.D.load_state_dict(self.D.state_dict())
        if trainer.ema is not None:
            trainer.ema.load_state_dict(self.G.state_dict())
        return trainer


def _float32(state: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def load(path: Path | str | None = None, device: torch.device | str = "cpu") -> CourseGAN:
    """The course's GAN from `path` (the packaged file by default), ready to sample on `device`."""
    path = Path(path) if path is not None else PACKED
    if not path.is_file():
        raise GanLibError(f"the course's trained GAN is not in this install ({path} is missing): reinstall the "
                          f"course, or make it with `python -m gan_lib.pretrained.build train` and `... export`")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise GanLibError(f"{path} is damaged ({type(e).__name__}): reinstall the course") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("version") != VERSION:
        raise GanLibError(f"{path} is not a course GAN file of version {VERSION} (written by gan_lib.pretrained.build)")
    config = TrainConfig.from_dict(record["config"])
    G, D = build_generator(config.model), build_discriminator(config.model)
    G.load_state_dict(_float32(record["G"]))
    D.load_state_dict(_float32(record["D"]))
    return CourseGAN(config, list(record["class_names"]), record["held_out_breed"], G.to(device).eval(),
                     D.to(device).eval(), record["step"], record["seconds"] / 60, record["scores"],
                     list(record["trained_on"]), stages(record))


def stages(record: dict) -> list[dict]:
    """The training stages of a packed GAN (files from before staged training were trained in one)."""
    return record.get("stages") or as_json([{k: record[k] for k in ("step", "seconds", "config", "trained_on")}])


def as_json(data: object) -> object:
    """`data` as it reads back from JSON (tuples become lists), so that stages compare equal wherever they came from."""
    return json.loads(json.dumps(data))
