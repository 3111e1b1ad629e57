"""Things that watch training: a progress bar, a run folder on disk, a live dashboard, snapshots, curves.

A callback is anything called as `callback(trainer)` after every training step. It may also have
methods for other moments, as fastai's callbacks do: `before_fit(trainer)` once before the first step
(set-up), `before_step(trainer)` before each step (schedules: instance noise, fade-in), and
`finish(trainer)` when training ends (normally, by the Stop button or by Ctrl-C). Where order
matters, an `order` attribute says it: lower runs first, 0 by default (the monitor adds the live
quality number to the history before `SaveProgress`, order 50, writes it). Callbacks only read the
small `TrainerLike` protocol below, so they can be tested with a stand-in trainer.

`training_progress` is the one definition of "how far along": it follows the time budget when the
run has one (`minutes`), else the step count, and both the terminal bar and the dashboard show it.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

from .config import CHECKPOINT_EVERY, SAMPLE_EVERY
from .data import to_float, to_uint8
from .errors import GanLibError
from .files import write_bytes_atomically
from .plotting import (History, NotebookFigure, figure_png, image_grid, in_notebook_kernel, plot_history, plot_series,
                       png_bytes, save_grid)


class TrainerLike(Protocol):
    """The part of gan_lib.training.Trainer that callbacks use."""

    step: int
    seconds: float  # training time of the run so far, resumed sessions included
    config: Any  # needs .steps and .minutes (either may be None), and .model (latent_dim, num_classes)
    history: list[dict[str, float]]
    stop_reason: str | None  # after training: "steps", "time", "stopped" or "interrupted"

    def sample_fixed(self) -> torch.Tensor: ...

    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor: ...

    def photos(self, n: int) -> torch.Tensor: ...

    def request_stop(self) -> None: ...

    def save(self, path: Path | str) -> Path: ...


MOMENTS = ("before_fit", "before_step", "finish")


def in_order(callbacks: Sequence[Any]) -> list[Any]:
    """The callbacks sorted by their `order` (0 when they have none); equal orders keep their places."""
    for cb in callbacks:
        if not callable(cb) and not any(hasattr(cb, moment) for moment in MOMENTS):
            raise GanLibError(f"{cb!r} is not a callback: give a function of the trainer, or an object with "
                              f"__call__ or one of {', '.join(MOMENTS)}")
    return sorted(callbacks, key=lambda cb: getattr(cb, "order", 0))


def call_moment(callbacks: Sequence[Any], moment: str, trainer: TrainerLike) -> None:
    """Call `moment` ("before_fit", "before_step" or "finish") on every callback that has it."""
    for cb in callbacks:
        method = getattr(cb, moment, None)
        if method is not None:
            method(trainer)


def shows_progress(callback: object) -> bool:
    """Whether a callback displays training progress itself (then `fit` adds no progress bar)."""
    return bool(getattr(callback, "shows_progress", False))


def duration(seconds: float) -> str:
    """Format seconds as 42s, 3m05s or 1h02m."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def training_progress(trainer: TrainerLike) -> tuple[float, str]:
    """(fraction done, a line like 'step 1,234 | 3m05s of 15m00s | 6.7 steps/s | 11m55s left').

    With a time budget the fraction is time-based; with a step limit too, whichever ends first counts.
    """
    c, step, seconds = trainer.config, trainer.step, trainer.seconds
    rate = step / seconds if seconds > 0 else 0.0
    fractions, left = [], []
    if c.minutes is not None:
        fractions.append(seconds / (c.minutes * 60))
        left.append(c.minutes * 60 - seconds)
    if c.steps is not None:
        fractions.append(step / c.steps)
        if rate:
            left.append((c.steps - step) / rate)
    fraction = min(1.0, max(fractions, default=0.0))
    parts = [f"step {step:,}" + (f"/{c.steps:,}" if c.steps is not None and c.minutes is None else "")]
    parts.append(duration(seconds) + (f" of {duration(c.minutes * 60)}" if c.minutes is not None else ""))
    if rate:
        parts.append(f"{rate:.1f} steps/s")
    if left and fraction < 1:
        parts.append(f"{duration(max(0.0, min(left)))} left")
    return fraction, " | ".join(parts)


_STATUS_KEYS = [("loss_d", "loss D"), ("loss_g", "G"), ("d_real", "| D(x)"), ("d_fake", "D(G(z))")]


def last_values(history: History) -> str:
    """Last logged losses and D outputs, e.g. 'loss D 1.21 G 0.93 | D(x) 0.62 D(G(z)) 0.35'."""
    if not history:
        return "no records yet"
    last = history[-1]
    return " ".join(f"{name} {float(last[key]):.3f}" for key, name in _STATUS_KEYS if last.get(key) is not None)


def ended_well(trainer: TrainerLike) -> bool:
    """True when training reached its planned end (steps or time budget), not a Stop or Ctrl-C."""
    return trainer.stop_reason in ("steps", "time")


class ProgressBar:
    """A terminal progress bar (tqdm) over the time budget when there is one, else over the steps."""

    shows_progress = True
    RESOLUTION = 1000  # the bar counts thousandths of the run

    def __init__(self, every: int = 10) -> None:
        self.every = every  # update the text every N steps: the bar itself is cheap, the text is not
        self._bar: Any = None

    def before_fit(self, trainer: TrainerLike) -> None:
        self._bar = tqdm(total=self.RESOLUTION, desc="training", bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix}")

    def __call__(self, trainer: TrainerLike) -> None:
        if self._bar is None:  # used outside Trainer.fit, which calls before_fit first
            self.before_fit(trainer)
        if trainer.step % self.every == 0:
            self._update(trainer)

    def _update(self, trainer: TrainerLike) -> None:
        fraction, text = training_progress(trainer)
        self._bar.n = round(fraction * self.RESOLUTION)
        self._bar.set_postfix_str(f"{text} | {last_values(trainer.history)}", refresh=False)
        self._bar.refresh()

    def finish(self, trainer: TrainerLike) -> None:
        if self._bar is None:
            return
        self._update(trainer)
        if ended_well(trainer):
            self._bar.n = self.RESOLUTION  # a budget that ran out is a normal end: a full bar, not a red one
        self._bar.close()
        self._bar = None


class SaveProgress:
    """For command-line runs: sample grids, checkpoints and metrics.jsonl in an output folder.

    The intervals default to config.SAMPLE_EVERY and config.CHECKPOINT_EVERY, as the CLI's options do.
    """

    order = 50  # after the callbacks that add to the history (the monitor's "swd"), so the file holds it

    def __init__(self, out_dir: Path | str, sample_every: int = SAMPLE_EVERY,
                 checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.sample_every, self.checkpoint_every = sample_every, checkpoint_every
        self._logged = 0
        # The first write replaces metrics.jsonl with the trainer's history, so a resumed run's file
        # never repeats records logged after its checkpoint.
        self._mode = "w"

    def __call__(self, trainer: TrainerLike) -> None:
        if trainer.step % self.sample_every == 0:
            self._write_metrics(trainer)
            save_grid(trainer.sample_fixed(), self.out_dir / "samples" / f"step_{trainer.step:06d}.png")
        if trainer.step % self.checkpoint_every == 0:
            self._write_metrics(trainer)
            trainer.save(self.out_dir / "checkpoint.pt")

    def finish(self, trainer: TrainerLike) -> None:
        """Write everything once more at the end of a run (or when it is interrupted)."""
        self._write_metrics(trainer)
        save_grid(trainer.sample_fixed(), self.out_dir / "samples" / f"step_{trainer.step:06d}.png")
        trainer.save(self.out_dir / "checkpoint.pt")

    def _write_metrics(self, trainer: TrainerLike) -> None:
        with open(self.out_dir / "metrics.jsonl", self._mode) as f:
            for record in trainer.history[self._logged:]:
                f.write(json.dumps(record) + "\n")
        self._logged, self._mode = len(trainer.history), "a"


def has_notebook_frontend() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, Colab); False in scripts and pytest."""
    forced = os.environ.get("GAN_LIB_DASHBOARD")  # "text" or "widget": force a mode
    if forced in ("text", "widget"):
        return forced == "widget"
    return in_notebook_kernel()


def _mode(mode: str) -> str:
    if mode not in ("auto", "widget", "text"):
        raise GanLibError(f"mode must be 'auto', 'widget' or 'text', got {mode!r}")
    return mode if mode != "auto" else ("widget" if has_notebook_frontend() else "text")


class LiveDashboard:
    """Shows progress, curves and fixed-noise samples while training.

    In Jupyter it displays widgets once and updates them in place; elsewhere (scripts, pytest)
    it prints one status line every `every` steps. Either way it can also save curves.png and
    samples.png into `out_dir`.
    """

    shows_progress = True

    def __init__(self, every: int = 25, mode: str = "auto", out_dir: str | os.PathLike | None = None,
                 smoothing: float = 0.6, nrow: int | None = None, watch: bool = True) -> None:
        if every < 1:
            raise GanLibError(f"every must be at least 1, got {every}")
        self.every, self.smoothing, self.nrow = every, smoothing, nrow
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.mode = _mode(mode)
        # The live quality number and the alerts ("D is winning", "possible mode collapse").
        self.monitor = TrainingMonitor(say=print if self.mode == "text" else None) if watch else None
        self.curves_png: bytes | None = None  # the latest renders, kept for tests and for saving
        self.samples_png: bytes | None = None
        self.stop_requested = False
        self._fig = NotebookFigure(figsize=(7, 6), dpi=80, layout="constrained")
        self._trainer: TrainerLike | None = None
        self._last_render_step: int | None = None
        self._last_progress = 0.0

    def before_fit(self, trainer: TrainerLike) -> None:
        """Before the first step: display the widgets once (widget mode), and set up the monitor."""
        self._begin(trainer)
        if self.monitor is not None:
            self.monitor.before_fit(trainer)

    def __call__(self, trainer: TrainerLike) -> None:
        """Update after a training step: progress a few times a second, pictures every `every` steps."""
        self._trainer = trainer
        if self.monitor is not None:
            self.monitor(trainer)
        if self.mode == "widget" and time.perf_counter() - self._last_progress > 0.25:
            self._update_progress(trainer)
        if self._last_render_step is None or trainer.step % self.every == 0:
            self.render(trainer)

    def _begin(self, trainer: TrainerLike) -> None:
        """Build and display the widgets once (widget mode)."""
        if self._trainer is not None:  # a second fit with the same dashboard updates the same widgets
            return
        self._trainer = trainer
        if self.mode == "widget":
            from IPython.display import display

            display(self._build_widgets())

    def _build_widgets(self) -> Any:
        """Create the progress bar, label, Stop button and the two image widgets."""
        import ipywidgets as widgets

        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="training")
        self.label = widgets.Label(value="starting...")
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                          tooltip="Stop after this step")
        self.stop_button.on_click(self._on_stop)
        self.samples_image = widgets.Image(format="png", layout=widgets.Layout(width="40%"))
        self.curves_image = widgets.Image(format="png", layout=widgets.Layout(width="47%"))
        self.alerts = widgets.HTML(value="")
        header = widgets.HBox([self.progress, self.stop_button])
        self.box = widgets.VBox([header, self.label, self.alerts, widgets.HBox([self.samples_image, self.curves_image])])
        # Stable CSS hooks, so a browser test (tests/test_browser.py) or a course theme can find them.
        for widget, name in [(self.box, "gan-dashboard"), (self.progress, "gan-dashboard-progress"),
                             (self.label, "gan-dashboard-status"), (self.stop_button, "gan-dashboard-stop"),
                             (self.samples_image, "gan-dashboard-samples"),
                             (self.curves_image, "gan-dashboard-curves"), (self.alerts, "gan-dashboard-alerts")]:
            widget.add_class(name)
        return self.box

    def _on_stop(self, _button: Any = None) -> None:
        """Stop button: ask the trainer to stop after the current step."""
        if self.stop_button.disabled:  # a click that reached the kernel after training ended (ipykernel 6)
            return
        self.stop_requested = True
        if self._trainer is not None:
            self._trainer.request_stop()
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping..."

    def status_line(self, trainer: TrainerLike) -> str:
        """One line: progress (steps, time, speed, time left), last losses and D outputs."""
        return f"{training_progress(trainer)[1]} | {last_values(trainer.history)}"

    def _update_progress(self, trainer: TrainerLike) -> None:
        """Move the progress bar and refresh the status label."""
        self.progress.value = training_progress(trainer)[0]
        self.label.value = self.status_line(trainer)
        self._last_progress = time.perf_counter()

    def alerts_html(self) -> str:
        """The monitor's alerts as a short list (newest first), for the widget."""
        if self.monitor is None or not self.monitor.alerts:
            return ""
        import html

        items = "".join(f"<li>{html.escape(str(a))}</li>" for a in reversed(self.monitor.alerts[-3:]))
        return f'<div style="color:#a15c00"><b>&#9888; Watch out</b><ul style="margin:2px 0">{items}</ul></div>'

    def render(self, trainer: TrainerLike) -> None:
        """Redraw curves and samples, then show them (widgets) or print a status line (text)."""
        plot_history(trainer.history, fig=self._fig, smoothing=self.smoothing, stacked=True)
        self.curves_png = figure_png(self._fig)
        self.samples_png = png_bytes(image_grid(trainer.sample_fixed(), self.nrow))
        self._last_render_step = trainer.step
        if self.out_dir is not None:
            write_bytes_atomically(self.out_dir / "curves.png", self.curves_png)
            write_bytes_atomically(self.out_dir / "samples.png", self.samples_png)
        if self.mode == "widget":
            self.curves_image.value = self.curves_png
            self.samples_image.value = self.samples_png
            self.alerts.value = self.alerts_html()
            self._update_progress(trainer)
        else:
            print(self.status_line(trainer), flush=True)

    def finish(self, trainer: TrainerLike) -> None:
        """Final update after training: last pictures, full status, and how training ended."""
        if self._trainer is None:
            self._begin(trainer)
        if self._last_render_step != trainer.step:
            self.render(trainer)
        ending = {"steps": "done", "time": "done: time budget reached", "stopped": "stopped by the Stop button",
                  "interrupted": "interrupted"}.get(trainer.stop_reason or "", "ended")
        if self.mode == "widget":
            self._update_progress(trainer)
            self.label.value = f"{ending} | {self.label.value}"
            if ended_well(trainer):
                self.progress.value = 1.0
            self.progress.bar_style = "success" if ended_well(trainer) else "warning"
            self.stop_button.disabled = True
            self.stop_button.description = "Done" if ended_well(trainer) else "Stopped"
            self.stop_button.button_style = "success" if ended_well(trainer) else "warning"
            self.stop_button.icon = "check" if ended_well(trainer) else "stop"
        else:
            print(f"{ending}: {self.status_line(trainer)}", flush=True)


class SnapshotRecorder:
    """Keeps the fixed-noise samples every `every` steps, for animations.

    Frames are kept as uint8 (a quarter of float32's memory). A long run keeps at most `max_frames`:
    when there are more, every other frame is dropped and recording slows down to match.
    """

    def __init__(self, every: int = 100, max_frames: int = 200) -> None:
        self.every, self.max_frames = every, max_frames
        self.frames: list[torch.Tensor] = []
        self.steps: list[int] = []

    def __call__(self, trainer: TrainerLike) -> None:
        if trainer.step % self.every == 0 or trainer.step == 1:
            self._keep(trainer)

    def finish(self, trainer: TrainerLike) -> None:
        """Keep the final samples too, unless they were just recorded."""
        if not self.steps or self.steps[-1] != trainer.step:
            self._keep(trainer)

    def _keep(self, trainer: TrainerLike) -> None:
        self.frames.append(to_uint8(trainer.sample_fixed()))
        self.steps.append(trainer.step)
        if len(self.frames) > self.max_frames:
            self.frames, self.steps = self.frames[::2], self.steps[::2]
            self.every *= 2


class LiveCurves:
    """A plot of training records that updates in place in a notebook (a status line elsewhere)."""

    def __init__(self, keys: Sequence[str] = ("loss_d", "d_real", "d_fake"), mode: str = "auto") -> None:
        self.keys = list(keys)
        self.mode = _mode(mode)
        self._fig = NotebookFigure(figsize=(8, 3), dpi=80, layout="constrained")
        self.png: bytes | None = None
        self._image = None

    def update(self, history: History) -> None:
        """Redraw the curves of `keys` from a list of records (dicts with a "step" key)."""
        self._fig.clear()
        ax = self._fig.subplots()
        for i, key in enumerate(self.keys):
            plot_series(ax, history, key, key, 0.0, f"C{i}")
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
        self.png = figure_png(self._fig)
        if self.mode == "widget":
            if self._image is None:
                import ipywidgets as widgets
                from IPython.display import display

                self._image = widgets.Image(format="png")
                display(self._image)
            self._image.value = self.png
        elif history:
            print(" | ".join(f"{k} {float(history[-1][k]):.3f}" for k in ["step", *self.keys] if k in history[-1]))


# --- watching for trouble ---------------------------------------------------------------------


@dataclass
class Alert:
    """Something that looks wrong in a training run, with what usually fixes it."""

    step: int
    kind: str  # "D is winning", "possible mode collapse"
    evidence: str
    fix: str

    def __str__(self) -> str:
        return f"step {self.step:,}: {self.kind} ({self.evidence}). Likely fix: {self.fix}"


def diversity(images: torch.Tensor) -> float:
    """Mean distance between two images of a batch (floats in [-1, 1]), compared at 16x16: how different they are."""
    small = torch.nn.functional.adaptive_avg_pool2d(images.float(), 16).flatten(1)
    distances = torch.cdist(small, small)
    n = len(small)
    return float(distances.sum() / (n * (n - 1)))


class TrainingMonitor:
    """Watches a run and says when it looks wrong, and tracks a live quality number.

    - "D is winning": D(x) above 0.9 and D(G(z)) below 0.1 on average over the last `window` logged steps.
    - "possible mode collapse": the fixed-noise samples are less than `collapse_ratio` as diverse as
      the photos (after `warmup` steps, when an untrained G's samples no longer count).
    - Divergence (NaN) stops training with its own diagnosis (training.TrainingDiverged).
    - Quality: the sliced Wasserstein distance (SWD, extractor-free; lower is better) of `quality_samples`
      EMA samples against as many photos, added to the history as "swd". It runs only while its total
      cost stays under `budget` (5%) of the training time, so it never slows training noticeably.

    Alerts are kept in `alerts`, and `say` (e.g. print) is called with each new one.
    """

    def __init__(self, say: Any = None, window: int = 200, warmup: int = 500, collapse_ratio: float = 0.5,
                 quality_samples: int = 256, budget: float = 0.05) -> None:
        self.say, self.window, self.warmup, self.collapse_ratio = say, window, warmup, collapse_ratio
        self.quality_samples, self.budget = quality_samples, budget
        self.alerts: list[Alert] = []
        self._active: set[str] = set()  # alerts raised and not yet cleared: say each once per episode
        self._seconds = 0.0  # time spent here
        self._photos = self._z = self._labels = None  # set before the first step

    def before_fit(self, trainer: TrainerLike) -> None:
        """The yardsticks, fixed for the run: photos, and the noise (and labels) the quality samples come from."""
        if self._photos is not None:  # a second fit of the same run keeps them, so its numbers compare
            return
        self._photos = trainer.photos(self.quality_samples)
        model = trainer.config.model
        self._z = torch.randn(len(self._photos), model.latent_dim, generator=torch.Generator().manual_seed(7))
        self._labels = torch.arange(len(self._photos)) % model.num_classes if model.num_classes else None

    def __call__(self, trainer: TrainerLike) -> None:
        if self._photos is None:  # used outside Trainer.fit, which calls before_fit first
            self.before_fit(trainer)
        history = trainer.history
        if not history or history[-1]["step"] != trainer.step:  # only on steps that were logged
            return
        self._check_d_winning(trainer)  # cheap: every logged step
        if self._seconds > self.budget * max(trainer.seconds, 1e-9):  # the rest only within the time budget
            return
        start = time.perf_counter()
        if trainer.step >= self.warmup:
            self._check_collapse(trainer)
        history[-1]["swd"] = self.quality(trainer)
        self._seconds += time.perf_counter() - start

    def _raise(self, trainer: TrainerLike, kind: str, evidence: str | None, fix: str) -> None:
        """Record (and say) an alert when its condition starts; forget it when the condition clears."""
        if evidence is None:
            self._active.discard(kind)
            return
        if kind in self._active:
            return
        self._active.add(kind)
        alert = Alert(trainer.step, kind, evidence, fix)
        self.alerts.append(alert)
        if self.say is not None:
            self.say(f"warning: {alert}")

    def _check_d_winning(self, trainer: TrainerLike) -> None:
        recent = []
        for record in reversed(trainer.history):  # the records of the last `window` steps
            if record["step"] <= trainer.step - self.window:
                break
            recent.append(record)
        d_real = sum(r["d_real"] for r in recent) / len(recent)
        d_fake = sum(r["d_fake"] for r in recent) / len(recent)
        winning = d_real > 0.9 and d_fake < 0.1 and len(recent) >= 3
        self._raise(trainer, "D is winning",
                    f"D(x) {d_real:.2f}, D(G(z)) {d_fake:.2f} on average over steps {int(recent[-1]['step'])}-"
                    f"{int(recent[0]['step'])}" if winning else None,
                    "weaken D: spectral norm (--d-norm spectral), DiffAugment, a lower lr_d (TTUR), or "
                    "label smoothing; G gets almost no signal while D is this sure")

    def _check_collapse(self, trainer: TrainerLike) -> None:
        ratio = diversity(trainer.sample_fixed()) / diversity(to_float(self._photos))
        self._raise(trainer, "possible mode collapse",
                    f"the fixed samples are {ratio:.0%} as diverse as the photos" if ratio < self.collapse_ratio else None,
                    "look at the samples: many alike means collapse. Try the non-saturating or hinge loss, "
                    "spectral norm in D, a lower learning rate, or resume from an earlier checkpoint")

    @torch.no_grad()
    def quality(self, trainer: TrainerLike) -> float:
        """SWD x 1e3 of EMA samples against photos (a light version of distances.sliced_wasserstein)."""
        from .distances import sliced_wasserstein  # the metric modules load only when a monitor is used

        fakes = to_uint8(trainer.sample(self._z, self._labels))
        return round(sliced_wasserstein(fakes, self._photos, descriptors_per_image=64, dir_repeats=2)["swd"], 2)
