"""The adversarial game: a discriminator step, a generator step, and a loop that alternates them.

Read `discriminator_step` and `generator_step` first: they are the whole idea of a GAN. The
`Trainer` below them adds the bookkeeping and composes the extras *around* the two steps instead
of inside them: DiffAugment wraps D (`augment.Augmented`), mixed precision wraps both networks
(`MixedPrecision`), penalties such as R1 belong to the loss (`losses.GanLoss.penalty`), and
pictures, checkpoints and progress bars are callbacks (`callbacks.py`).
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import math
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

from .augment import Augmented, InstanceNoise
from .callbacks import ProgressBar, call_moment, in_order, shows_progress, training_progress
from .checkpoint import Checkpoint
from .config import ModelConfig, TrainConfig, pick_device
from .data import Batches, ImageData
from .distributed import any_rank, local_slice, mean_over_ranks, rank_and_world
from .errors import GanLibError
from .losses import NONSATURATING, GanLoss, get_loss
from .models import freeze_blocks, recalibrate_batchnorm, sample_noise
from .networks import build_discriminator, build_generator, grow, set_fade_in
from .precision import MixedPrecision, amp_dtype, default_cache_file
from .sampling import generate

Callback = Callable[["Trainer"], None]  # called after every step; optional moments: see callbacks.py


# --- the two steps of the game -------------------------------------------------------------------


def discriminator_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, real: Tensor, z: Tensor,
                       labels: Tensor | None = None, loss: GanLoss = NONSATURATING) -> dict[str, Tensor]:
    """One update of D: real photos are the positive class, generated images the negative class.

    Taught in notebooks 02 and 04.
    """
    # 1. A batch of fakes. no_grad: this step trains D only, so nothing flows back into G.
    with torch.no_grad():
        fake = G(z, labels)
    # 2. D's verdict (logits) on the real batch and on the fake batch.
    real_logits, fake_logits = D(real, labels), D(fake, labels)
    # 3. A loss that penalises both mistakes: calling a real photo fake, and calling a fake real.
    #    (`penalty` is 0 for the plain losses; WGAN-GP and R1 add a gradient penalty there.)
    loss_d = loss.d_loss(real_logits, fake_logits) + loss.penalty(D, real, fake, labels)
    # 4. Backpropagate and update D's weights (opt_d holds only D's parameters).
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    return {"loss_d": loss_d.detach(), "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean()}


def generator_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: Tensor,
                   labels: Tensor | None = None, loss: GanLoss = NONSATURATING,
                   real: Tensor | None = None) -> dict[str, Tensor]:
    """One update of G: turn noise into images, ask D, and change G so that D calls them real.

    Taught in notebook 04.
    """
    with frozen(D):  # gradients flow *through* D into G, but D's own weights get none
        # 1. Generate images from the sampled noise.
        fake = G(z, labels)
        # 2. D's verdict on them (relativistic losses also compare with D's verdict on real photos).
        fake_logits = D(fake, labels)
        real_logits = D(real, labels) if loss.needs_real_in_g else None
        # 3. The loss is high when D is not fooled.
        loss_g = loss.g_loss(fake_logits, real_logits)
        # 4. Backpropagate through D and G, then update only G's weights (opt_g holds only G's).
        opt_g.zero_grad()
        loss_g.backward()
    opt_g.step()
    return {"loss_g": loss_g.detach()}


@torch.no_grad()
def judge(D: nn.Module, images: Tensor, labels: Tensor | None = None) -> Tensor:
    """D's probability of "real" for each image, measured the way D is trained: BatchNorm in training
    mode (it normalises with this batch's statistics), its running statistics left untouched."""
    norms = [m for m in D.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.training) for m in norms]
    for m in norms:
        m.train()
        m.momentum = 0.0  # running <- 1.0 * running + 0.0 * batch: unchanged
    try:
        return torch.sigmoid(D(images, labels).float())
    finally:
        for m, (momentum, training) in zip(norms, saved):
            m.momentum = momentum
            m.train(training)


@contextlib.contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Switch off gradients for `model`'s weights inside the block, and back on afterwards (even on errors).

    Taught in notebook 04.
    """
    trainable = [p.requires_grad for p in model.parameters()]  # a frozen part (e.g. a pretrained trunk) stays frozen
    model.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(model.parameters(), trainable):
            p.requires_grad_(flag)


# --- what the Trainer composes around the steps ---------------------------------------------------


def grad_norm(model: nn.Module) -> Tensor:
    """L2 norm of all of a model's gradients (0 when it has none)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=next(model.parameters()).device)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for every weight (see `recalibrate_batchnorm` for buffers)."""
    torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in model.parameters()], 1.0 - decay)


def run_dtype(config: TrainConfig, device: torch.device, world: int = 1) -> torch.dtype | None:
    """The autocast dtype a run trains in: bf16 where measured faster on this CPU (`precision.amp_dtype`)
    and `config.amp` allows it, else None (float32). Under torchrun the processes agree: bf16 only if all chose it."""
    dtype = amp_dtype(device, config.model, config.batch_size // world, default_cache_file()) if config.amp else None
    if world > 1:
        everyone = mean_over_ranks(torch.tensor([float(dtype is not None)], device=device)).item() == 1.0
        dtype = dtype if everyone else None
    return dtype


# --- divergence ----------------------------------------------------------------------------------


class TrainingDiverged(GanLibError):
    """A loss became NaN or infinite."""


def divergence_hints(config: TrainConfig, dtype: torch.dtype | None = None) -> str:
    """What usually fixes a diverging run with this configuration."""
    hints = [f"lower the learning rates (now lr_d={config.lr_d}, lr_g={config.lr_g})"]
    if config.model.d_norm != "spectral":
        hints.append("use spectral norm in D (--d-norm spectral)")
    if config.loss in ("minimax", "wgan-gp"):
        hints.append("try the non-saturating or hinge loss")
    if dtype is not None:  # the run trained in bf16
        hints.append("turn off mixed precision (--no-amp)")
    return "Try: " + "; ".join(hints) + ". The last checkpoint is still usable."


def diagnose_divergence(record: dict[str, float], previous: dict[str, float] | None, config: TrainConfig,
                        dtype: torch.dtype | None = None) -> str:
    """A message that says which value blew up and what usually fixes it."""
    bad = [k for k, v in record.items() if not math.isfinite(v)]
    msg = f"training diverged at step {int(record['step'])}: {', '.join(bad)} became NaN/inf"
    if previous:
        msg += f" (last finite: loss_d={previous['loss_d']:.3g}, loss_g={previous['loss_g']:.3g}, " \
               f"grad_norm_d={previous.get('grad_norm_d', float('nan')):.3g})"
    return f"{msg}. {divergence_hints(config, dtype)}"


# --- what changes over a run: callbacks that act before each step ------------------------------------


class FadeInSchedule:
    """Grown networks (`--grow-from`) blend their new layers in over the first `fade_in` share of the run."""

    order = -10  # before anything that looks at the networks

    def before_step(self, trainer: "Trainer") -> None:
        # Never back: a budget extended on resume must not bring the old layers back.
        alpha = max(float(trainer.G.alpha), min(1.0, training_progress(trainer)[0] / trainer.config.fade_in))
        set_fade_in(alpha, trainer.G, trainer.D, trainer.ema)


class InstanceNoiseSchedule:
    """Instance noise fades linearly from `config.instance_noise` at the start to 0 at the end of the run."""

    order = -10

    def before_step(self, trainer: "Trainer") -> None:
        sigma = trainer.config.instance_noise * (1 - training_progress(trainer)[0])
        for layer in trainer.noise_layers:
            layer.sigma = sigma


# --- the Trainer ---------------------------------------------------------------------------------


class Trainer:
    """Owns the two networks, their optimisers and the training state; `fit` runs the loop."""

    def __init__(self, config: TrainConfig, data: ImageData) -> None:
        self.config = c = config
        self._check(data)
        self.device = pick_device(c.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest convolutions once
        self.rank, self.world = rank_and_world()
        torch.manual_seed(c.seed)  # the initial weights
        self.G, self.D = self._networks()
        if c.freeze_d:  # before opt_d, so that the optimiser holds only the weights that learn
            freeze_blocks(self.D, c.freeze_d)
        self.ema = copy.deepcopy(self.G).eval().requires_grad_(False) if c.ema_decay > 0 else None
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=c.lr_g, betas=c.betas)
        self.opt_d = torch.optim.Adam([p for p in self.D.parameters() if p.requires_grad], lr=c.lr_d, betas=c.betas)
        self.loss = get_loss(c.loss, r1_gamma=c.r1_gamma, gp_weight=c.gp_weight, label_smoothing=c.label_smoothing)
        # Noise and augmentation are drawn on the training device: a GPU never waits for the CPU.
        # (Under torchrun every rank draws the same numbers from the same seed, on identical GPUs.)
        self.rng = torch.Generator(self.device).manual_seed(c.seed + 1)
        self._compose()
        self.batches = Batches(data, c.batch_size, flip=c.flip, device=self.device, seed=c.seed + 2)
        self.class_names = data.class_names
        self.fixed_z = sample_noise(c.num_fixed, c.model.latent_dim, generator=self.rng).cpu()
        self.fixed_labels = torch.arange(c.num_fixed) % c.model.num_classes if c.model.num_classes else None
        self.step = 0
        self.seconds = 0.0  # training time over all sessions of this run
        self.history: list[dict[str, float]] = []
        self.stop_reason: str | None = None  # why the last fit ended: "steps", "time", "stopped" or "interrupted"
        self._stop = False

    def _check(self, data: ImageData) -> None:
        """Settings that cannot work together fail here, before any training."""
        c = self.config
        if data.resolution != c.model.resolution:
            raise GanLibError(f"the images are {data.resolution}px but the model is for {c.model.resolution}px: "
                              f"load the images at {c.model.resolution}px")
        if rank_and_world()[1] > 1 and (c.loss == "wgan-gp" or c.r1_gamma > 0):
            raise GanLibError("gradient penalties (wgan-gp, --r1) are not supported with several processes")

    def _networks(self) -> tuple[nn.Module, nn.Module]:
        """G and D on the training device, in channels-last memory when configured."""
        G, D = build_generator(self.config.model).to(self.device), build_discriminator(self.config.model).to(self.device)
        if self.config.channels_last:
            G.to(memory_format=torch.channels_last)
            D.to(memory_format=torch.channels_last)
        return G, D

    def _compose(self) -> None:
        """The networks as the two steps see them, each named for its role in `train_step`.

        Under torchrun the network being trained is wrapped in DDP (it averages gradients over
        processes); D is seen through DiffAugment and instance noise when they are on; both run under
        bf16 autocast where that was measured faster (`precision.amp_dtype`).
        """
        c = self.config
        self.amp_dtype = run_dtype(c, self.device, self.world)
        mixed = (lambda net: MixedPrecision(net, self.amp_dtype)) if self.amp_dtype else (lambda net: net)
        ddp = (lambda net: nn.parallel.DistributedDataParallel(
            net, device_ids=[self.device.index] if self.device.type == "cuda" else None)) if self.world > 1 else (lambda net: net)
        self.noise_layers: list[InstanceNoise] = []  # their sigma fades over the run (InstanceNoiseSchedule)

        def seen(D: nn.Module) -> nn.Module:  # what D looks at: DiffAugment, then instance noise, when switched on
            D = Augmented(D, c.diffaugment, self.rng) if c.diffaugment else D
            if c.instance_noise > 0:
                D = InstanceNoise(D, c.instance_noise, self.rng)
                self.noise_layers.append(D)
            return D

        self.G_drawing = mixed(self.G)  # (1) the D step: G only draws the fakes
        self.D_learning = mixed(seen(ddp(self.D)))  # (1) the D step: D learns from photos and fakes
        self.G_learning = mixed(ddp(self.G))  # (2) the G step: G learns
        self.D_judging = mixed(seen(self.D))  # (2) the G step: D only judges (frozen inside generator_step)
        # What changes over a run is a callback moment, not a branch in the step (`_run` calls them first).
        self.schedules: list = []
        if c.model.grown_from:
            self.schedules.append(FadeInSchedule())
        if self.noise_layers:
            self.schedules.append(InstanceNoiseSchedule())

    # --- one step --------------------------------------------------------------------------------
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
        """One round of the game, as in PyTorch's DCGAN example: (1) update D `d_steps` times, (2) update G once.

        `fit` runs the schedules (instance noise, fade-in) before each step; calling this directly does not.
        Taught in notebook 04.
        """
        # (1) Update D: a batch of photos is the "real" class, G's drawings the "fake" class.
        for _ in range(self.config.d_steps):
            real, labels = self._real_batch()
            stats = discriminator_step(self.G_drawing, self.D_learning, self.opt_d, real, self._noise(len(real)),
                                       labels, self.loss)
        stats["grad_norm_d"] = grad_norm(self.D)
        # (2) Update G: D's verdict on new fakes (labels drawn like the last real batch's), through a frozen D.
        stats |= generator_step(self.G_learning, self.D_judging, self.opt_g, self._noise(len(real)), labels,
                                self.loss, real)
        stats["grad_norm_g"] = grad_norm(self.G)
        if self.ema is not None:  # the EMA generator follows G (warm-up: early weights are still random)
            update_ema(self.ema, self.G, min(self.config.ema_decay, (1 + self.step) / (10 + self.step)))
        self.step += 1
        return stats

    # --- the loop --------------------------------------------------------------------------------
    def _finished(self) -> str | None:
        """Why training should end now ("steps", "time", "stopped"), or None to go on."""
        c = self.config
        if self._stop:
            return "stopped"
        if c.steps is not None and self.step >= c.steps:
            return "steps"
        if c.minutes is not None and any_rank(self.seconds >= c.minutes * 60):
            return "time"
        return None

    def _run(self, callbacks: list[Callback] | None, progress: bool) -> Iterator[None]:
        """Train until `_finished`, calling each callback at its moments (`callbacks.py`); yields after each step."""
        callbacks = list(callbacks or [])
        if progress and not any(shows_progress(cb) for cb in callbacks):
            callbacks.insert(0, ProgressBar())
        callbacks = in_order([*self.schedules, *callbacks])  # raises for something that is not a callback
        self._stop, self.stop_reason = False, None
        start, seconds_before = time.perf_counter(), self.seconds
        call_moment(callbacks, "before_fit", self)
        with self._ctrl_c_finishes_the_step():
            try:
                while (reason := self._finished()) is None:
                    call_moment(callbacks, "before_step", self)
                    stats = self.train_step()
                    self.seconds = seconds_before + time.perf_counter() - start
                    if self.step % self.config.log_every == 0 or self.step == self.config.steps:
                        self._log(stats)
                    for cb in callbacks:  # after the step: callbacks are called (those that are callable)
                        if callable(cb):
                            cb(self)
                    yield
                self.stop_reason = reason if self.stop_reason is None else self.stop_reason
            except KeyboardInterrupt:  # raised by a callback, or a second Ctrl-C
                self.stop_reason = "interrupted"
        if self.interrupted:
            print(f"\ninterrupted at step {self.step}; call fit() again to continue")
        call_moment(callbacks, "finish", self)  # e.g. a final sample grid and checkpoint

    @contextlib.contextmanager
    def _ctrl_c_finishes_the_step(self) -> Iterator[None]:
        """Ctrl-C (or the notebook's interrupt button) finishes the current step, then stops cleanly;
        a second Ctrl-C aborts at once."""
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield
            return

        def on_interrupt(signum: int, frame: object) -> None:
            if self.stop_reason == "interrupted":
                raise KeyboardInterrupt
            self.stop_reason, self._stop = "interrupted", True

        previous = signal.signal(signal.SIGINT, on_interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C (or a KeyboardInterrupt) ended the last fit."""
        return self.stop_reason == "interrupted"

    def fit(self, callbacks: list[Callback] | None = None, progress: bool = True) -> "Trainer":
        """Train until `config.steps` or `config.minutes` is reached, or `request_stop` is called.

        Shows a progress bar unless `progress=False` or a callback shows progress itself (the dashboard).
        """
        for _ in self._run(callbacks, progress):
            pass
        return self

    async def fit_async(self, callbacks: list[Callback] | None = None, progress: bool = True) -> "Trainer":
        """`fit` for notebooks (`await trainer.fit_async(...)`): between steps the kernel handles
        widget events, so a dashboard's Stop button works while training runs."""
        for _ in self._run(callbacks, progress):
            await asyncio.sleep(0)
        return self

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(repr(self))  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return (f"Trainer(step={self.step}, {self.seconds / 60:.1f} min trained, "
                f"stopped by: {self.stop_reason or 'not run yet'})")

    def _log(self, stats: dict[str, Tensor]) -> None:
        """Turn this step's tensors into numbers (one device sync per log), stop on NaN/inf."""
        values = mean_over_ranks(torch.stack([v.float() for v in stats.values()])).tolist()
        record = {"step": float(self.step), **dict(zip(stats, values)), "seconds": round(self.seconds, 3)}
        if not all(math.isfinite(v) for v in record.values()):
            raise TrainingDiverged(diagnose_divergence(record, self.history[-1] if self.history else None,
                                                       self.config, self.amp_dtype))
        self.history.append(record)

    def request_stop(self) -> None:
        """Ask `fit` to stop after the current step (e.g. from a Stop button)."""
        self._stop = True

    # --- samples ---------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images (float, [-1, 1], on the CPU) from noise z, by the EMA generator when there is one."""
        G = self.ema if self.ema is not None else self.G
        was_training = G.training
        if G is self.ema:
            # As `sampling.load_generator` does for a checkpoint, with the breeds in the photos' proportions.
            recalibrate_batchnorm(G, labels=self.batches.labels if self.config.model.num_classes else None)
        G.eval()
        images = generate(G, z, labels)
        G.train(was_training)
        return images

    def photos(self, n: int) -> Tensor:
        """n training photos (uint8, on the CPU), the same ones every time: a yardstick for the samples."""
        index = torch.randperm(len(self.batches.images), generator=torch.Generator().manual_seed(0))[:n]
        return self.batches.images[index.to(self.batches.images.device)].cpu()

    def sample_fixed(self) -> Tensor:
        """The fixed-noise samples: the same noise every time, to watch training progress."""
        return self.sample(self.fixed_z, self.fixed_labels)

    # --- checkpoints -----------------------------------------------------------------------------
    def grow_from(self, small: "Trainer | Checkpoint") -> "Trainer":
        """Start from a GAN trained at half this resolution (`networks.grow`): its G's, D's and EMA's weights."""
        if self.config.model.num_classes and list(small.class_names) != list(self.class_names):
            raise GanLibError("a conditional GAN can only grow from one trained on the same breeds")
        if isinstance(small, Checkpoint):
            trained = {}
            for name, build in (("G", build_generator), ("D", build_discriminator), ("ema", build_generator)):
                if getattr(small, name) is not None:
                    trained[name] = build(small.config.model)
                    trained[name].load_state_dict(getattr(small, name))
        else:
            trained = {"G": small.G, "D": small.D, "ema": small.ema}
        if trained.get("ema") is None:  # a small run without an EMA: the new one starts from its G
            trained["ema"] = trained["G"]
        for name, net in trained.items():
            if net is not None and getattr(self, name) is not None:
                grow(net, getattr(self, name))
        return self

    def checkpoint(self) -> Checkpoint:
        """Everything needed to continue this run exactly."""
        return Checkpoint(
            config=self.config, step=self.step, seconds=self.seconds, history=self.history,
            class_names=self.class_names, G=self.G.state_dict(), D=self.D.state_dict(),
            ema=self.ema.state_dict() if self.ema is not None else None,
            opt_g=self.opt_g.state_dict(), opt_d=self.opt_d.state_dict(),
            rng=self.rng.get_state(), rng_device=self.device.type, batches=self.batches.state_dict(),
            fixed_z=self.fixed_z, fixed_labels=self.fixed_labels)

    def restore(self, ckpt: Checkpoint) -> None:
        """Continue from a checkpoint of a run on the same data."""
        if list(ckpt.class_names) != list(self.class_names) or len(ckpt.batches["order"]) != len(self.batches.order):
            raise GanLibError(f"this checkpoint was trained on {len(ckpt.batches['order'])} images of "
                              f"{len(ckpt.class_names)} classes, not on these {len(self.batches.order)} of "
                              f"{len(self.class_names)}: resume with the same --data / --dataset / --max-per-class")
        self.G.load_state_dict(ckpt.G)
        self.D.load_state_dict(ckpt.D)
        if self.ema is not None and ckpt.ema is not None:
            self.ema.load_state_dict(ckpt.ema)
        self.opt_g.load_state_dict(ckpt.opt_g)
        self.opt_d.load_state_dict(ckpt.opt_d)
        if ckpt.rng_device == self.device.type:
            self.rng.set_state(ckpt.rng)
        else:  # a CPU generator's state means nothing to a GPU's: same weights, a fresh random stream
            self.rng.manual_seed(self.config.seed + 1 + ckpt.step)
            if self.rank == 0:
                print(f"note: this run continues on {self.device.type} after training on {ckpt.rng_device}; "
                      f"the weights resume exactly, the random noise does not")
        self.batches.load_state_dict(ckpt.batches)
        self.fixed_z, self.fixed_labels = ckpt.fixed_z, ckpt.fixed_labels
        self.step, self.seconds, self.history = ckpt.step, ckpt.seconds, list(ckpt.history)

    def save(self, path: Path | str) -> Path:
        """Write a checkpoint atomically (temp file + rename): an interrupted save never corrupts it."""
        bad = [name for name, net in (("G", self.G), ("D", self.D)) if not all(p.isfinite().all() for p in net.parameters())]
        if bad:  # never overwrite a good checkpoint with a diverged one
            raise TrainingDiverged(f"{' and '.join(bad)} hold NaN/inf weights at step {self.step}; not saving. "
                                   f"{divergence_hints(self.config, self.amp_dtype)}")
        return self.checkpoint().save(path)

    @classmethod
    def resume(cls, path: Path | str | Checkpoint, data: ImageData, **changes) -> "Trainer":
        """A Trainer restored from a checkpoint; `changes` change config fields such as `steps` or `minutes`."""
        ckpt = path if isinstance(path, Checkpoint) else Checkpoint.load(path)
        config = TrainConfig.from_dict(ckpt.config.to_dict() | changes)
        trainer = cls(config, data)
        trainer.restore(ckpt)
        return trainer
