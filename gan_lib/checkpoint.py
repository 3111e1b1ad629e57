"""A training run on disk: one typed record of everything needed to continue it exactly.

`Checkpoint.save` writes atomically (a crash never leaves half a file); `Checkpoint.load` reads only
tensors and plain data (no pickled code) and says clearly when a file is missing, damaged, not a
gan_lib checkpoint, or from another version of gan_lib.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import Tensor

from .config import TrainConfig
from .errors import GanLibError
from .files import save_atomically

FORMAT = "gan_lib checkpoint"
VERSION = 2  # bump when a field changes meaning; `load` refuses other versions with a clear message


@dataclass
class Checkpoint:
    """Both networks, the EMA generator, both optimisers, the random streams, the data position and the history."""

    config: TrainConfig
    step: int
    seconds: float  # training time over all sessions of the run
    history: list[dict[str, float]]
    class_names: list[str]
    G: dict[str, Tensor]
    D: dict[str, Tensor]
    ema: dict[str, Tensor] | None
    opt_g: dict
    opt_d: dict
    rng: Tensor  # the state of the noise / augmentation generator
    rng_device: str  # where that generator lives: its state means nothing to another kind of device
    batches: dict  # data.Batches.state_dict()
    fixed_z: Tensor
    fixed_labels: Tensor | None

    def save(self, path: Path | str) -> Path:
        """Write the checkpoint atomically (temporary file, then rename)."""
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["config"] = self.config.to_dict()
        return save_atomically({"format": FORMAT, "version": VERSION, **record}, path)

    @classmethod
    def load(cls, path: Path | str) -> "Checkpoint":
        """Read a checkpoint file written by `save`, with a clear error for anything else."""
        path = Path(path)
        if not path.is_file():
            raise GanLibError(f"checkpoint {path} not found")
        try:
            record = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain data only
        except Exception as e:
            raise GanLibError(f"checkpoint {path} is damaged or not a gan_lib checkpoint ({type(e).__name__})") from None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            if isinstance(record, dict) and {"config", "G", "D", "step"} <= record.keys():
                raise GanLibError(f"{path} was written by an older gan_lib (before checkpoint format {VERSION}): "
                                  f"train a new run, or use gan_lib 0.1 to sample from this one")
            raise GanLibError(f"{path} is not a gan_lib checkpoint (written by `python -m gan_lib train`)")
        if record.get("version") != VERSION:
            raise GanLibError(f"{path} is checkpoint format {record.get('version')}, this gan_lib reads format "
                              f"{VERSION}: use the gan_lib version that wrote it")
        values = {f.name: record[f.name] for f in fields(cls)}
        values["config"] = TrainConfig.from_dict(values["config"])
        return cls(**values)
