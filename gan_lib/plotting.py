"""Pictures for the course: image grids, training curves, a live dashboard and animations.

Conventions: `show_images` draws with pyplot (it appears under the cell, like plt.imshow);
the `plot_*` functions and `animation_strip` return a `NotebookFigure`, which Jupyter shows
once when it is the last value of a cell and which you can save with `fig.savefig(path)`.
Everything that runs during training renders off-screen with Agg, so nothing leaks into outputs.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from gan_lib.data import to_uint8
from gan_lib.errors import GanLibError

History = Sequence[Mapping[str, Any]]


# ---------------------------------------------------------------------------------------------
# Image grids


def _to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Return images as a uint8 N x C x H x W CPU tensor (floats are read as [-1, 1])."""
    if not isinstance(images, torch.Tensor):
        raise GanLibError(f"expected a torch.Tensor of images, got {type(images).__name__}")
    images = images.detach().cpu()
    if images.dim() == 3:  # a single image
        images = images.unsqueeze(0)
    if images.dim() != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise GanLibError(f"expected images shaped N x 3 x H x W, got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise GanLibError(f"expected uint8 or float images, got {images.dtype}")
    return to_uint8(images)


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile images (float in [-1, 1] or uint8, N x 3 x H x W) into one H x W x 3 uint8 array."""
    images = _to_uint8(images)
    nrow = nrow or math.ceil(math.sqrt(len(images)))  # default: as square as possible
    grid = make_grid(images, nrow=nrow, padding=padding, pad_value=255)
    return grid.permute(1, 2, 0).contiguous().numpy()


def show_images(
    images: torch.Tensor, title: str | None = None, nrow: int | None = None, ax: Axes | None = None
) -> None:
    """Draw images as one grid without axes, on `ax` or on a new pyplot figure."""
    grid = image_grid(images, nrow)
    if ax is None:
        import matplotlib.pyplot as plt  # only here: the rest of the module never touches pyplot

        height, width = grid.shape[:2]
        _, ax = plt.subplots(figsize=(6, 6 * height / width))
    ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def _png_bytes(array: np.ndarray) -> bytes:
    """Encode an H x W x 3 uint8 array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to a temp file next to `path`, then rename it, so no reader sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None) -> Path:
    """Save images as one PNG grid at `path` and return the path."""
    return _write_atomic(path, _png_bytes(image_grid(images, nrow)))


# ---------------------------------------------------------------------------------------------
# Curves


class NotebookFigure(Figure):
    """An Agg-backed matplotlib Figure that Jupyter shows as a PNG (no pyplot, no double plots)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)  # attaches itself as self.canvas

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def figure_png(fig: Figure, dpi: float | None = None) -> bytes:
    """Render a figure to PNG bytes off-screen."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def ema(values: Sequence[float], smoothing: float) -> list[float]:
    """Exponential moving average, debiased like TensorBoard; smoothing=0 returns the values."""
    if not 0.0 <= smoothing < 1.0:
        raise GanLibError(f"smoothing must be in [0, 1), got {smoothing}")
    out, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = smoothing * average + (1 - smoothing) * value
        out.append(average / (1 - smoothing**i))  # early values are not pulled towards 0
    return out


def _series(records: History, key: str) -> tuple[list[float], list[float]]:
    """Steps and values of `key`, skipping records where it is missing or not a finite number."""
    steps, values = [], []
    for i, record in enumerate(records):
        value = record.get(key)
        if value is None or not math.isfinite(float(value)):
            continue
        steps.append(float(record.get("step", i)))
        values.append(float(value))
    return steps, values


def _plot_series(
    ax: Axes, records: History, key: str, label: str, smoothing: float, color: str
) -> bool:
    """Plot one key (faint raw line + smoothed line); return False when no record has it."""
    steps, values = _series(records, key)
    if not steps:
        return False
    if smoothing > 0:
        ax.plot(steps, values, color=color, alpha=0.25, linewidth=1)
    ax.plot(steps, ema(values, smoothing), color=color, label=label, linewidth=1.5)
    return True


def _legend(ax: Axes) -> None:
    """Add a legend only if something was labelled (avoids matplotlib's warning)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")


def plot_history(
    history: History, fig: Figure | None = None, smoothing: float = 0.6, stacked: bool = False
) -> Figure:
    """Plot D/G losses and D(x), D(G(z)) from Trainer.history records; draws on `fig` if given."""
    fig = fig if fig is not None else NotebookFigure(figsize=(10, 3.5), layout="constrained")
    fig.clear()
    ax_loss, ax_d = fig.subplots(2, 1) if stacked else fig.subplots(1, 2)
    has_loss = _plot_series(ax_loss, history, "loss_d", "D loss", smoothing, "C0")
    has_loss |= _plot_series(ax_loss, history, "loss_g", "G loss", smoothing, "C1")
    if not has_loss:
        ax_loss.text(0.5, 0.5, "no losses logged yet", ha="center", transform=ax_loss.transAxes)
    ax_loss.set(title="Losses", xlabel="step", ylabel="loss")
    # D outputs 0.5 when it cannot tell real from fake, the theoretical end point of training.
    ax_d.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="0.5: can't tell")
    _plot_series(ax_d, history, "d_real", "D(x), real", smoothing, "C2")
    _plot_series(ax_d, history, "d_fake", "D(G(z)), fake", smoothing, "C3")
    ax_d.set(title="Discriminator outputs", xlabel="step", ylabel="mean P(real)", ylim=(0, 1))
    _legend(ax_loss)
    _legend(ax_d)
    return fig


def plot_metric_curve(
    records: History, key: str, ax: Axes | None = None, label: str | None = None, smoothing: float = 0.0
) -> Figure:
    """Plot one metric (e.g. "fid" or "swd") against "step"; pass `ax` to overlay several runs."""
    if not _series(records, key)[0]:
        known = sorted({k for record in records for k in record})
        raise GanLibError(f"no record has a value for {key!r}; keys found: {known}")
    if ax is None:
        ax = NotebookFigure(figsize=(6, 3.5), layout="constrained").subplots()
    _plot_series(ax, records, key, label or key, smoothing, color=f"C{len(ax.lines) % 10}")
    ax.set(xlabel="step", ylabel=key, title=f"{key} over training")
    _legend(ax)
    return ax.figure


# ---------------------------------------------------------------------------------------------
# Live dashboard (a Trainer callback)


class TrainerLike(Protocol):
    """The part of gan_lib.training.Trainer that the dashboard uses."""

    step: int
    config: Any  # needs .steps (total planned steps)
    history: list[dict[str, float]]

    def sample_fixed(self) -> torch.Tensor: ...

    def request_stop(self) -> None: ...


def has_notebook_frontend() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, Colab); False in scripts and pytest."""
    forced = os.environ.get("GAN_LIB_DASHBOARD")  # "text" or "widget", e.g. for nbval runs
    if forced in ("text", "widget"):
        return forced == "widget"
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    # Kernel shells (ZMQInteractiveShell and Colab's subclass) have a .kernel; terminal IPython not.
    return getattr(get_ipython(), "kernel", None) is not None


def _duration(seconds: float) -> str:
    """Format seconds as 42s, 3m05s or 1h02m."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


_STATUS_KEYS = [("loss_d", "loss D"), ("loss_g", "G"), ("d_real", "| D(x)"), ("d_fake", "D(G(z))")]


def _last_values(history: History) -> str:
    """Last logged losses and D outputs, e.g. 'loss D 1.21 G 0.93 | D(x) 0.62 D(G(z)) 0.35'."""
    if not history:
        return "no records yet"
    last = history[-1]
    parts = [
        f"{name} {float(last[key]):.3f}"
        for key, name in _STATUS_KEYS
        if last.get(key) is not None
    ]
    return " ".join(parts)


class LiveDashboard:
    """Trainer callback that shows progress, curves and fixed-noise samples while training.

    In Jupyter it displays widgets once and updates them in place; elsewhere (scripts, pytest)
    it prints one status line every `every` steps. Either way it can also save curves.png and
    samples.png into `out_dir`. Call `finish(trainer)` after training for the final picture.
    """

    def __init__(
        self,
        every: int = 25,
        mode: str = "auto",
        out_dir: str | os.PathLike | None = None,
        smoothing: float = 0.6,
        nrow: int | None = None,
    ) -> None:
        if every < 1:
            raise GanLibError(f"every must be at least 1, got {every}")
        if mode not in ("auto", "widget", "text"):
            raise GanLibError(f"mode must be 'auto', 'widget' or 'text', got {mode!r}")
        self.every, self.smoothing, self.nrow = every, smoothing, nrow
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.mode = mode if mode != "auto" else ("widget" if has_notebook_frontend() else "text")
        self.curves_png: bytes | None = None  # the latest renders, kept for tests and for saving
        self.samples_png: bytes | None = None
        self.stop_requested = False
        self._fig = NotebookFigure(figsize=(7, 6), dpi=80, layout="constrained")
        self._trainer: TrainerLike | None = None
        self._start_time = 0.0
        self._start_step = 0
        self._last_render_step: int | None = None

    def __call__(self, trainer: TrainerLike) -> None:
        """Update after a training step: progress every call, pictures every `every` steps."""
        if self._trainer is None:
            self._begin(trainer)
        self._trainer = trainer
        if self.mode == "widget":
            self._update_progress(trainer)
        finished = trainer.step >= trainer.config.steps
        if self._last_render_step is None or trainer.step % self.every == 0 or finished:
            self.render(trainer)

    def _begin(self, trainer: TrainerLike) -> None:
        """First call: start the clock and, in widget mode, build and display the widgets once."""
        self._trainer = trainer
        self._start_time = time.perf_counter()
        self._start_step = trainer.step
        if self.mode == "widget":
            from IPython.display import display

            display(self._build_widgets(trainer.config.steps))

    def _build_widgets(self, total_steps: int) -> Any:
        """Create the progress bar, label, Stop button and the two image widgets."""
        import ipywidgets as widgets

        self.progress = widgets.IntProgress(value=0, min=0, max=max(total_steps, 1), description="step")
        self.label = widgets.Label(value="starting...")
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", button_style="danger", tooltip="Stop after this step"
        )
        self.stop_button.on_click(self._on_stop)
        self.samples_image = widgets.Image(format="png", layout=widgets.Layout(width="40%"))
        self.curves_image = widgets.Image(format="png", layout=widgets.Layout(width="47%"))
        header = widgets.HBox([self.progress, self.stop_button, self.label])
        self.box = widgets.VBox([header, widgets.HBox([self.samples_image, self.curves_image])])
        # Stable CSS hooks, so a browser test (tests/test_browser.py) or a course theme can find them.
        for widget, name in [(self.box, "gan-dashboard"), (self.progress, "gan-dashboard-progress"),
                             (self.label, "gan-dashboard-status"), (self.stop_button, "gan-dashboard-stop"),
                             (self.samples_image, "gan-dashboard-samples"),
                             (self.curves_image, "gan-dashboard-curves")]:
            widget.add_class(name)
        return self.box

    def _on_stop(self, _button: Any = None) -> None:
        """Stop button: ask the trainer to stop after the current step."""
        self.stop_requested = True
        if self._trainer is not None:
            self._trainer.request_stop()
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping..."

    def status_line(self, trainer: TrainerLike) -> str:
        """One line: step/total, elapsed time, speed, time left, last losses and D outputs."""
        total = trainer.config.steps
        elapsed = time.perf_counter() - self._start_time
        done = trainer.step - self._start_step
        speed = ""
        if done > 0 and elapsed > 0:
            rate = done / elapsed
            speed = f", {rate:.2f} steps/s, {_duration(max(total - trainer.step, 0) / rate)} left"
        progress = f"step {trainer.step}/{total} | {_duration(elapsed)}{speed}"
        return f"{progress} | {_last_values(trainer.history)}"

    def _update_progress(self, trainer: TrainerLike) -> None:
        """Move the progress bar and refresh the status label."""
        self.progress.value = min(trainer.step, self.progress.max)
        self.label.value = self.status_line(trainer)

    def render(self, trainer: TrainerLike) -> None:
        """Redraw curves and samples, then show them (widgets) or print a status line (text)."""
        plot_history(trainer.history, fig=self._fig, smoothing=self.smoothing, stacked=True)
        self.curves_png = figure_png(self._fig)
        self.samples_png = _png_bytes(image_grid(trainer.sample_fixed(), self.nrow))
        self._last_render_step = trainer.step
        if self.out_dir is not None:
            _write_atomic(self.out_dir / "curves.png", self.curves_png)
            _write_atomic(self.out_dir / "samples.png", self.samples_png)
        if self.mode == "widget":
            self.curves_image.value = self.curves_png
            self.samples_image.value = self.samples_png
        else:
            print(self.status_line(trainer), flush=True)

    def finish(self, trainer: TrainerLike) -> None:
        """Final update after training: last pictures, full status, Stop button disabled."""
        if self._trainer is None:
            self._begin(trainer)
        if self._last_render_step != trainer.step:
            self.render(trainer)
        if self.mode == "widget":
            self._update_progress(trainer)
            stopped_early = trainer.step < trainer.config.steps
            self.progress.bar_style = "warning" if stopped_early else "success"
            self.stop_button.disabled = True
            self.stop_button.description = "Stopped" if stopped_early else "Done"
        else:
            print(f"finished: {self.status_line(trainer)}", flush=True)


# ---------------------------------------------------------------------------------------------
# Watching the fixed-noise samples evolve


def animation_strip(
    grids: Sequence[torch.Tensor], steps: Sequence[int], nrow: int | None = None, panel_size: float = 2.5
) -> Figure:
    """One row of fixed-noise sample grids, each titled with its training step."""
    if len(grids) != len(steps) or not grids:
        raise GanLibError(f"need one step per grid, got {len(grids)} grids and {len(steps)} steps")
    fig = NotebookFigure(figsize=(panel_size * len(grids), panel_size + 0.4), layout="constrained")
    axes = fig.subplots(1, len(grids), squeeze=False)[0]
    for ax, images, step in zip(axes, grids, steps):
        ax.imshow(image_grid(images, nrow), interpolation="nearest")
        ax.set_title(f"step {step}")
        ax.set_axis_off()
    return fig


def _frame(images: torch.Tensor | np.ndarray, nrow: int | None, label: str | None) -> Image.Image:
    """One GIF frame: an image batch (tiled) or an H x W x 3 uint8 array, with an optional label."""
    array = images if isinstance(images, np.ndarray) else image_grid(images, nrow)
    frame = Image.fromarray(array)
    if label is None:
        return frame
    banner = 16  # pixels of white space above the grid for the label
    labelled = Image.new("RGB", (frame.width, frame.height + banner), "white")
    labelled.paste(frame, (0, banner))
    ImageDraw.Draw(labelled).text((2, 2), label, fill="black")
    return labelled


def save_gif(
    frames: Sequence[torch.Tensor | np.ndarray],
    path: str | os.PathLike,
    steps: Sequence[int] | None = None,
    duration_ms: int = 300,
    nrow: int | None = None,
) -> Path:
    """Save an animated GIF (looping) of sample grids, labelled "step N" if `steps` is given."""
    if not frames or (steps is not None and len(steps) != len(frames)):
        raise GanLibError("save_gif needs at least one frame and, if given, one step per frame")
    labels = [f"step {s}" for s in steps] if steps is not None else [None] * len(frames)
    images = [_frame(f, nrow, label) for f, label in zip(frames, labels)]
    buffer = io.BytesIO()
    # Note: Pillow merges consecutive identical frames, so a frozen generator gives fewer frames.
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0
    )
    return _write_atomic(path, buffer.getvalue())


class SnapshotRecorder:
    """Trainer callback that keeps the fixed-noise samples every `every` steps, for animations.

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


# ---------------------------------------------------------------------------------------------
# Small helpers for the notebooks


class LiveCurves:
    """A plot of training records that updates in place in a notebook (a status line elsewhere)."""

    def __init__(self, keys: Sequence[str] = ("loss_d", "d_real", "d_fake"), mode: str = "auto") -> None:
        self.keys = list(keys)
        self.mode = mode if mode != "auto" else ("widget" if has_notebook_frontend() else "text")
        self._fig = NotebookFigure(figsize=(8, 3), dpi=80, layout="constrained")
        self.png: bytes | None = None
        self._image = None

    def update(self, history: History) -> None:
        """Redraw the curves of `keys` from a list of records (dicts with a "step" key)."""
        self._fig.clear()
        ax = self._fig.subplots()
        for key in self.keys:
            _plot_series(ax, history, key, key, 0.0, None)
        ax.set_xlabel("step")
        _legend(ax)
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


def show_source(obj: Any) -> Any:
    """Show the source code of a gan_lib function or class, syntax-highlighted in a notebook."""
    import inspect

    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


def show_breeds(images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], per_breed: int = 8) -> Figure:
    """One row of example images per class, labelled with the class name and its image count."""
    counts = torch.bincount(labels, minlength=len(class_names))
    fig = NotebookFigure(figsize=(per_breed * 0.9 + 2, len(class_names) * 0.9), layout="constrained")
    axes = fig.subplots(len(class_names), 1, squeeze=False)[:, 0]
    for label, (ax, name) in enumerate(zip(axes, class_names)):
        examples = images[labels == label][:per_breed]
        if len(examples):
            ax.imshow(image_grid(examples, nrow=per_breed), interpolation="nearest")
        ax.set_axis_off()
        ax.text(-0.01, 0.5, f"{name}\n{int(counts[label])} images", transform=ax.transAxes, ha="right", va="center")
    return fig


def show_crops(image: Image.Image, boxes: Sequence[tuple[int, int, int, int]],
               squares: Sequence[tuple[int, int, int, int]]) -> Figure:
    """A photo with its dog boxes (red) and the square crops taken around them (green), then the crops."""
    fig = NotebookFigure(figsize=(3 * (1 + len(squares)), 3), layout="constrained")
    axes = fig.subplots(1, 1 + len(squares), squeeze=False)[0]
    axes[0].imshow(image)
    for (x0, y0, x1, y1), color in [(b, "red") for b in boxes] + [(s, "lime") for s in squares]:
        axes[0].add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=2))
    axes[0].set_title("photo, boxes")
    for ax, square in zip(axes[1:], squares):
        ax.imshow(image.crop(square))
        ax.set_title("square crop")
    for ax in axes:
        ax.set_axis_off()
    return fig
