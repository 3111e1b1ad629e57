"""The adversarial game: a discriminator step, a generator step, and a loop that alternates them.

Read `discriminator_step` and `generator_step` first: they are the whole idea of a GAN. The
`Trainer` class around them only adds bookkeeping: batches, fixed noise for progress pictures,
an exponential moving average (EMA) of the generator, logging, NaN checks and checkpoints.
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .augment import diff_augment
from .data import Batches, ImageData, save_atomically
from .distributed import any_rank, local_slice, mean_over_ranks, rank_and_world
from .errors import GanLibError
from .losses import GanLoss, get_loss, gradient_penalty, r1_penalty
from .models import Discriminator, Generator, ModelConfig, recalibrate_batchnorm, sample_noise


@dataclass
class TrainConfig:
    """Everything that defines a training run (the architecture lives in `model`)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    steps: int = 3000  # generator updates
    minutes: float | None = None  # optional wall-clock budget; stops at whichever comes first
    batch_size: int = 64
    loss: str = "nonsaturating"
    lr_g: float = 2e-4
    lr_d: float = 2e-4  # a larger lr_d than lr_g is the two time-scale update rule (TTUR)
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = 1  # discriminator updates per generator update
    ema_decay: float = 0.999  # 0 disables the EMA generator
    diffaugment: str = ""  # e.g. "color,translation,cutout"
    r1_gamma: float = 0.0  # weight of the R1 penalty on real images (0: off)
    gp_weight: float = 10.0  # weight of the gradient penalty (only with loss="wgan-gp")
    flip: bool = True
    seed: int = 0
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu
    amp: bool = True  # bfloat16 autocast where the hardware has native bf16 (see `amp_dtype`)
    channels_last: bool = True
    log_every: int = 10
    num_fixed: int = 64  # fixed-noise samples drawn to show progress

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d.pop("compile", None)  # an option that briefly existed (measured slower, removed)
        d["model"] = ModelConfig(**d["model"])
        d["betas"] = tuple(d["betas"])
        return cls(**d)


def recommended_config(resolution: int = 32, minutes: float | None = None, steps: int = 1_000_000) -> TrainConfig:
    """The recipe the CLI and notebook 04 use on a CPU, picked by measurement (benchmarks/README.md): DCGAN with
    half-width networks (32 channels), which on a CPU budget trains 2-3x more steps than width 64 and
    reaches a clearly lower FD; non-saturating loss, Adam 2e-4 / beta1 0.5, EMA of G, flips."""
    return TrainConfig(model=ModelConfig(resolution=resolution, g_width=32, d_width=32), steps=steps,
                       minutes=minutes)


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> the best available device: CUDA GPU, Apple-silicon GPU (mps), else CPU."""
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            raise GanLibError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise GanLibError("--device cuda was asked for, but PyTorch sees no CUDA GPU: use --device auto")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())  # under torchrun: this process's GPU
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """bfloat16 on CPUs that multiply in bf16 natively (Intel AMX), else None (plain float32).

    Not on GPUs: there these small networks wait on kernel launches, not arithmetic, so autocast's
    extra cast kernels made training slower (H100: 0.8-0.9x of float32, benchmarks/README.md), and
    cuDNN already runs float32 convolutions on the tensor cores (TF32).
    """
    if device.type == "cpu" and getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        return torch.bfloat16  # about 2x faster here; on CPUs without AMX, bf16 would be slower than fp32
    return None


def grad_norm(model: nn.Module) -> Tensor:
    """L2 norm of all of a model's gradients (0 when it has none)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=next(model.parameters()).device)


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Mixed precision in `dtype`, or nothing when dtype is None."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def _no_augment(x: Tensor) -> Tensor:
    return x


def discriminator_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, loss: GanLoss,
                       real: Tensor, z: Tensor, labels: Tensor | None = None,
                       augment: Callable[[Tensor], Tensor] = _no_augment, r1_gamma: float = 0.0,
                       gp_weight: float = 10.0, amp_dtype: torch.dtype | None = None) -> dict[str, Tensor]:
    """One update of D: real photos are the positive class, generated images the negative class."""
    with autocast(real.device, amp_dtype):
        # 1. A batch of fakes. no_grad: this step trains D only, so nothing flows back into G.
        with torch.no_grad():
            fake = G(z, labels)
        if r1_gamma > 0:
            real = real.detach().requires_grad_(True)
        # 2. D's verdict (logits) on the real batch and on the fake batch.
        real_logits = D(augment(real), labels)
        fake_logits = D(augment(fake), labels)
        # 3. A loss that penalises both mistakes: calling a real photo fake, and calling a fake real.
        loss_d = loss.d_loss(real_logits.float(), fake_logits.float())
    total = loss_d
    if loss.gradient_penalty:
        total = total + gp_weight * gradient_penalty(lambda x: D(augment(x), labels), real, fake)
    if r1_gamma > 0:
        total = total + r1_gamma * r1_penalty(real_logits.float(), real)
    # 4. Backpropagate and update D's weights (opt_d holds only D's parameters).
    opt_d.zero_grad(set_to_none=True)
    total.backward()
    norm = grad_norm(D)
    opt_d.step()
    return {"loss_d": loss_d.detach(), "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(), "grad_norm_d": norm}


def generator_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, loss: GanLoss,
                   z: Tensor, labels: Tensor | None = None, real: Tensor | None = None,
                   augment: Callable[[Tensor], Tensor] = _no_augment,
                   amp_dtype: torch.dtype | None = None) -> dict[str, Tensor]:
    """One update of G: turn noise into images, ask D, and change G so that D calls them real."""
    # D is a fixed judge here: freezing its weights still lets gradients flow *through* it to G,
    # but skips computing gradients for D's own weights, which this step must not change.
    D.requires_grad_(False)
    try:
        with autocast(z.device, amp_dtype):
            # 1. Generate images from the sampled noise.
            fake = G(z, labels)
            # 2. D's verdict on them.
            fake_logits = D(augment(fake), labels)
            real_logits = None
            if loss.needs_real_in_g:  # relativistic losses compare fakes against reals
                real_logits = D(augment(real), labels).float()
            # 3. The loss is high when D is not fooled.
            loss_g = loss.g_loss(fake_logits.float(), real_logits)
        # 4. Backpropagate through D and G, then update only G's weights (opt_g holds only G's).
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
    finally:
        D.requires_grad_(True)
    norm = grad_norm(G)
    opt_g.step()
    return {"loss_g": loss_g.detach(), "grad_norm_g": norm}


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for every weight (see `recalibrate_batchnorm` for buffers)."""
    torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in model.parameters()], 1.0 - decay)


class TrainingDiverged(GanLibError):
    """A loss became NaN or infinite."""


def divergence_hints(config: TrainConfig) -> str:
    """What usually fixes a diverging run with this configuration."""
    hints = [f"lower the learning rates (now lr_d={config.lr_d}, lr_g={config.lr_g})"]
    if config.model.d_norm != "spectral":
        hints.append("use spectral norm in D (--d-norm spectral)")
    if config.loss in ("minimax", "wgan-gp"):
        hints.append("try the non-saturating or hinge loss")
    if config.amp and amp_dtype(pick_device(config.device)) is not None:
        hints.append("turn off mixed precision (--no-amp)")
    return "Try: " + "; ".join(hints) + ". The last checkpoint is still usable."


def diagnose_divergence(record: dict[str, float], previous: dict[str, float] | None, config: TrainConfig) -> str:
    """A message that says which value blew up and what usually fixes it."""
    bad = [k for k, v in record.items() if not math.isfinite(v)]
    msg = f"training diverged at step {int(record['step'])}: {', '.join(bad)} became NaN/inf"
    if previous:
        msg += f" (last finite: loss_d={previous['loss_d']:.3g}, loss_g={previous['loss_g']:.3g}, " \
               f"grad_norm_d={previous.get('grad_norm_d', float('nan')):.3g})"
    return f"{msg}. {divergence_hints(config)}"


class Trainer:
    """Owns the two networks, their optimisers and the training state; `fit` runs the loop."""

    def __init__(self, config: TrainConfig, data: ImageData) -> None:
        self.config = config
        if data.resolution != config.model.resolution:
            raise GanLibError(f"the images are {data.resolution}px but the model is for {config.model.resolution}px: "
                              f"load the images at {config.model.resolution}px")
        if config.loss == "wgan-gp" and config.model.d_norm == "batch":
            raise GanLibError("WGAN-GP needs a discriminator without BatchNorm (its penalty is per image): "
                              "add --d-norm none or --d-norm spectral")
        diff_augment(torch.zeros(1, 3, 8, 8), config.diffaugment)  # an unknown policy fails now, not mid-run
        self.device = pick_device(config.device)
        self.amp_dtype = amp_dtype(self.device) if config.amp else None
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest convolutions once
        torch.manual_seed(config.seed)  # the initial weights
        self.G = Generator(config.model).to(self.device)
        self.D = Discriminator(config.model).to(self.device)
        if config.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.rank, self.world = rank_and_world()
        # Under torchrun, DDP wrappers average gradients over processes; self.G / self.D stay the plain
        # networks (for checkpoints, sampling and the steps' no-grad or frozen uses).
        self.G_train, self.D_train = self.G, self.D
        if self.world > 1:
            if config.loss == "wgan-gp" or config.r1_gamma > 0:
                raise GanLibError("gradient penalties (wgan-gp, --r1) are not supported with several processes")
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_train = nn.parallel.DistributedDataParallel(self.G, device_ids=ids)
            self.D_train = nn.parallel.DistributedDataParallel(self.D, device_ids=ids)
        self.ema = copy.deepcopy(self.G).eval().requires_grad_(False) if config.ema_decay > 0 else None
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=config.betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=config.betas)
        self.loss = get_loss(config.loss)
        # Noise and augmentation are drawn on the training device: a GPU never waits for the CPU.
        # (Under torchrun every rank draws the same numbers from the same seed, on identical GPUs.)
        self.rng = torch.Generator(self.device).manual_seed(config.seed + 1)
        self.batches = Batches(data, config.batch_size, flip=config.flip, device=self.device, seed=config.seed + 2)
        self.class_names = data.class_names
        self.fixed_z = sample_noise(config.num_fixed, config.model.latent_dim, generator=self.rng).cpu()
        self.fixed_labels = (torch.arange(config.num_fixed) % config.model.num_classes
                             if config.model.num_classes else None)
        self.step = 0
        self.seconds = 0.0  # training time over all sessions of this run
        self.history: list[dict[str, float]] = []
        self._stop = False
        self.interrupted = False  # set when a KeyboardInterrupt ended the last fit

    # --- the loop -------------------------------------------------------------------------------
    def _augment(self, x: Tensor) -> Tensor:
        return diff_augment(x, self.config.diffaugment, generator=self.rng)

    def _noise(self, n: int) -> Tensor:
        """Noise for a global batch of n (every process draws the same), this process's slice of it."""
        z = sample_noise(n * self.world, self.config.model.latent_dim, generator=self.rng, device=self.device)
        return local_slice(z, self.rank, self.world)

    def _real_batch(self) -> tuple[Tensor, Tensor | None]:
        real, labels = (local_slice(t, self.rank, self.world) for t in next(self.batches))
        if self.config.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        return real, (labels if self.config.model.num_classes else None)

    def train_step(self) -> dict[str, Tensor]:
        """One round of the game: `d_steps` discriminator updates, then one generator update."""
        c = self.config
        augment = self._augment if c.diffaugment else _no_augment
        for _ in range(c.d_steps):
            real, labels = self._real_batch()
            stats = discriminator_step(self.G, self.D_train, self.opt_d, self.loss, real, self._noise(len(real)),
                                       labels, augment, c.r1_gamma, c.gp_weight, self.amp_dtype)
        # The generator draws labels like the data does (the last real batch's) when conditional.
        stats |= generator_step(self.G_train, self.D, self.opt_g, self.loss, self._noise(len(real)), labels,
                                real, augment, self.amp_dtype)
        if self.ema is not None:
            # Warm-up: early on the average would be dominated by the random initial weights.
            update_ema(self.ema, self.G, min(c.ema_decay, (1 + self.step) / (10 + self.step)))
        self.step += 1
        return stats

    def _run(self, callbacks: list[Callable[["Trainer"], None]] | None, progress: bool) -> Iterator[None]:
        """The training loop, yielding after every step (so `fit_async` can let the notebook breathe)."""
        c, callbacks = self.config, list(callbacks or [])
        self._stop, self.interrupted = False, False
        # Ctrl-C (or the notebook's interrupt button) finishes the current step, then stops cleanly;
        # a second Ctrl-C aborts at once.
        in_main = threading.current_thread() is threading.main_thread()
        previous_handler = signal.signal(signal.SIGINT, self._on_interrupt) if in_main else None
        bar = tqdm(total=c.steps, initial=self.step, desc="training", unit="step", disable=not progress)
        start, seconds_before = time.perf_counter(), self.seconds
        try:
            while self.step < c.steps and not self._stop:
                stats = self.train_step()
                self.seconds = seconds_before + time.perf_counter() - start
                if self.step % c.log_every == 0 or self.step == c.steps:
                    self._log(stats)
                    last = self.history[-1]
                    bar.set_postfix(loss_d=f"{last['loss_d']:.3f}", loss_g=f"{last['loss_g']:.3f}", refresh=False)
                bar.update(1)
                for cb in callbacks:
                    cb(self)
                if c.minutes is not None and any_rank(self.seconds >= c.minutes * 60):
                    break
                yield
        except KeyboardInterrupt:  # raised by a callback, or a second Ctrl-C
            self.interrupted = True
        finally:
            bar.close()
            if in_main:
                signal.signal(signal.SIGINT, previous_handler)
        if self.interrupted:
            print(f"\ninterrupted at step {self.step}; call fit() again to continue")
        for cb in callbacks:  # e.g. a final sample grid and checkpoint
            if hasattr(cb, "finish"):
                cb.finish(self)

    def fit(self, callbacks: list[Callable[["Trainer"], None]] | None = None, progress: bool = True) -> list[dict]:
        """Train until `config.steps` (or `config.minutes`) is reached or a callback calls `request_stop`."""
        for _ in self._run(callbacks, progress):
            pass
        return self.history

    async def fit_async(self, callbacks: list[Callable[["Trainer"], None]] | None = None,
                        progress: bool = True) -> list[dict]:
        """`fit` for notebooks (`await trainer.fit_async(...)`): between steps the kernel handles
        widget events, so a dashboard's Stop button works while training runs."""
        for _ in self._run(callbacks, progress):
            await asyncio.sleep(0)
        return self.history

    def _log(self, stats: dict[str, Tensor]) -> None:
        """Turn this step's tensors into numbers (one device sync per log), stop on NaN/inf."""
        values = mean_over_ranks(torch.stack([v.float() for v in stats.values()])).tolist()
        record = {"step": float(self.step), **dict(zip(stats, values)),
                  "seconds": round(self.seconds, 3)}
        if not all(math.isfinite(v) for v in record.values()):
            raise TrainingDiverged(diagnose_divergence(record, self.history[-1] if self.history else None,
                                                       self.config))
        self.history.append(record)

    def _on_interrupt(self, signum: int, frame: object) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = self._stop = True

    def request_stop(self) -> None:
        """Ask `fit` to stop after the current step (e.g. from a Stop button)."""
        self._stop = True

    @torch.no_grad()
    def sample(self, z: Tensor, labels: Tensor | None = None, chunk: int = 256) -> Tensor:
        """Images (float, [-1, 1], on the CPU) from noise z, by the EMA generator when there is one."""
        G = self.ema if self.ema is not None else self.G
        was_training = G.training
        if G is self.ema:
            recalibrate_batchnorm(G)
        G.eval()
        images = [G(z[i:i + chunk].to(self.device), None if labels is None else labels[i:i + chunk].to(self.device))
                  .float().cpu() for i in range(0, len(z), chunk)]
        G.train(was_training)
        return torch.cat(images)

    def sample_fixed(self) -> Tensor:
        """The fixed-noise samples: the same noise every time, to watch training progress."""
        return self.sample(self.fixed_z, self.fixed_labels)

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "config": asdict(self.config), "step": self.step, "seconds": self.seconds,
            "history": self.history, "class_names": self.class_names,
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state(), "rng_device": self.device.type, "batches": self.batches.state_dict(),
            "fixed_z": self.fixed_z, "fixed_labels": self.fixed_labels,
        }

    def load_state_dict(self, state: dict) -> None:
        if list(state["class_names"]) != list(self.class_names) or len(state["batches"]["order"]) != len(self.batches.order):
            raise GanLibError(f"this checkpoint was trained on {len(state['batches']['order'])} images of "
                              f"{len(state['class_names'])} classes, not on these {len(self.batches.order)} of "
                              f"{len(self.class_names)}: resume with the same --data / --dataset / --max-per-class")
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if state.get("rng_device", "cpu") == self.device.type:
            self.rng.set_state(state["rng"])
        else:  # a CPU generator's state means nothing to a GPU's: same weights, a fresh random stream
            self.rng.manual_seed(self.config.seed + 1 + state["step"])
            if self.rank == 0:
                print(f"note: this run continues on {self.device.type} after training on {state.get('rng_device', 'cpu')}; "
                      f"the weights resume exactly, the random noise does not")
        self.batches.load_state_dict(state["batches"])
        self.fixed_z, self.fixed_labels = state["fixed_z"], state["fixed_labels"]
        self.step, self.seconds, self.history = state["step"], state["seconds"], list(state["history"])

    def save(self, path: Path | str) -> Path:
        """Write a checkpoint atomically (temp file + rename): an interrupted save never corrupts it."""
        bad = [name for name, net in (("G", self.G), ("D", self.D)) if not all(p.isfinite().all() for p in net.parameters())]
        if bad:  # never overwrite a good checkpoint with a diverged one
            raise TrainingDiverged(f"{' and '.join(bad)} hold NaN/inf weights at step {self.step}; not saving. "
                                   f"{divergence_hints(self.config)}")
        return save_atomically(self.state_dict(), path)

    @classmethod
    def resume(cls, path: Path | str, data: ImageData, **overrides) -> "Trainer":
        """A Trainer restored from a checkpoint; `overrides` change config fields such as `steps`."""
        state = load_checkpoint(path)
        config = TrainConfig.from_dict(state["config"])
        for k, v in overrides.items():
            setattr(config, k, v)
        trainer = cls(config, data)
        trainer.load_state_dict(state)
        return trainer


def load_checkpoint(path: Path | str) -> dict:
    """Read a checkpoint file, with a clear error when it is missing or damaged."""
    path = Path(path)
    if not path.is_file():
        raise GanLibError(f"checkpoint {path} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain data only
    except Exception as e:
        raise GanLibError(f"checkpoint {path} is damaged or not a gan_lib checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or not {"config", "G", "D", "step"} <= state.keys():
        raise GanLibError(f"{path} is not a gan_lib checkpoint (written by `python -m gan_lib train`)")
    return state


def load_generator(checkpoint: Path | str | dict, device: torch.device | str = "cpu", use_ema: bool = True) -> Generator:
    """The generator of a checkpoint (a path, or one already read by `load_checkpoint`), its EMA
    weights by default, in eval mode."""
    state = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
    G = Generator(ModelConfig(**state["config"]["model"]))
    use_ema = use_ema and state.get("ema") is not None
    G.load_state_dict(state["ema"] if use_ema else state["G"])
    G.to(device)
    return recalibrate_batchnorm(G) if use_ema else G.eval()


class SaveProgress:
    """Callback for command-line runs: sample grids, checkpoints and metrics.jsonl in an output folder."""

    def __init__(self, out_dir: Path | str, sample_every: int = 500, checkpoint_every: int = 1000) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.sample_every, self.checkpoint_every = sample_every, checkpoint_every
        self._logged = 0
        # The first write replaces metrics.jsonl with the trainer's history, so a resumed run's file
        # never repeats records logged after its checkpoint.
        self._mode = "w"

    def __call__(self, trainer: Trainer) -> None:
        if trainer.step % self.sample_every == 0:
            self._write_metrics(trainer)
            self._write_grid(trainer)
        if trainer.step % self.checkpoint_every == 0:
            self._write_metrics(trainer)
            trainer.save(self.out_dir / "checkpoint.pt")

    def finish(self, trainer: Trainer) -> None:
        """Write everything once more at the end of a run (or when it is interrupted)."""
        self._write_metrics(trainer)
        self._write_grid(trainer)
        trainer.save(self.out_dir / "checkpoint.pt")

    def _write_metrics(self, trainer: Trainer) -> None:
        with open(self.out_dir / "metrics.jsonl", self._mode) as f:
            for record in trainer.history[self._logged:]:
                f.write(json.dumps(record) + "\n")
        self._logged, self._mode = len(trainer.history), "a"

    def _write_grid(self, trainer: Trainer) -> None:
        from .plotting import save_grid

        save_grid(trainer.sample_fixed(), self.out_dir / "samples" / f"step_{trainer.step:06d}.png")
