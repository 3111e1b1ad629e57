"""Pictures for the course: image grids, training curves, animations, and the notebooks' small helpers.

Conventions: `show_images` draws with pyplot (it appears under the cell, like plt.imshow); the other
functions return a figure that a notebook shows exactly once, whether it is the cell's last value or
followed by `plt.show()`, and that you can save with `fig.savefig(path)`. Outside a notebook they
render off-screen with Agg. What runs *during* training (the dashboard) lives in callbacks.py.
"""

from __future__ import annotations

import io
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from .data import to_uint8
from .errors import GanLibError
from .files import write_bytes_atomically

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


def png_bytes(array: np.ndarray) -> bytes:
    """Encode an H x W x 3 uint8 array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None) -> Path:
    """Save images as one PNG grid at `path` and return the path."""
    return write_bytes_atomically(path, png_bytes(image_grid(images, nrow)))


# ---------------------------------------------------------------------------------------------
# Curves


def in_notebook_kernel() -> bool:
    """True when running inside a Jupyter kernel (JupyterLab, Notebook, Colab, nbval)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return getattr(shell, "kernel", None) is not None


class NotebookFigure(Figure):
    """An Agg-backed matplotlib Figure that Jupyter shows as a PNG, once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)  # attaches itself as self.canvas (pyplot replaces it when it manages the figure)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # Shown as a cell's value: taken out of pyplot first, so the notebook does not show it a second time.
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close(self)
        return {"image/png": figure_png(self), "text/plain": f"<figure, {len(self.axes)} axes>"}


def new_figure(**kwargs: Any) -> NotebookFigure:
    """A figure for a plotting helper. In a notebook pyplot manages it, so `plt.show()` shows it (and a
    figure left unshown appears at the end of the cell); as the cell's value it is shown once."""
    if in_notebook_kernel():
        import matplotlib.pyplot as plt

        return plt.figure(FigureClass=NotebookFigure, **kwargs)
    return NotebookFigure(**kwargs)


def figure_png(fig: Figure, dpi: float | None = None) -> bytes:
    """Render a figure to PNG bytes off-screen."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def smooth(values: Sequence[float], smoothing: float) -> list[float]:
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


def plot_series(
    ax: Axes, records: History, key: str, label: str, smoothing: float, color: str
) -> bool:
    """Plot one key (faint raw line + smoothed line); return False when no record has it."""
    steps, values = _series(records, key)
    if not steps:
        return False
    if smoothing > 0:
        ax.plot(steps, values, color=color, alpha=0.25, linewidth=1)
    ax.plot(steps, smooth(values, smoothing), color=color, label=label, linewidth=1.5)
    return True


def _legend(ax: Axes) -> None:
    """Add a legend only if something was labelled (avoids matplotlib's warning)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")


def plot_history(
    history: History, fig: Figure | None = None, smoothing: float = 0.6, stacked: bool = False
) -> Figure:
    """Plot D/G losses, D(x) and D(G(z)) from Trainer.history records, and the quality (SWD) when the
    history has it (callbacks.TrainingMonitor); draws on `fig` if given."""
    quality = bool(_series(history, "swd")[0])  # a third panel once a TrainingMonitor measured quality
    panels = 3 if quality else 2
    fig = fig if fig is not None else new_figure(figsize=(5 * panels, 3.5), layout="constrained")
    fig.clear()
    axes = fig.subplots(panels, 1) if stacked else fig.subplots(1, panels)
    ax_loss, ax_d = axes[0], axes[1]
    has_loss = plot_series(ax_loss, history, "loss_d", "D loss", smoothing, "C0")
    has_loss |= plot_series(ax_loss, history, "loss_g", "G loss", smoothing, "C1")
    if not has_loss:
        ax_loss.text(0.5, 0.5, "no losses logged yet", ha="center", transform=ax_loss.transAxes)
    ax_loss.set(title="Losses", xlabel="step", ylabel="loss")
    # D outputs 0.5 when it cannot tell real from fake, the theoretical end point of training.
    ax_d.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="0.5: can't tell")
    plot_series(ax_d, history, "d_real", "D(x), real", smoothing, "C2")
    plot_series(ax_d, history, "d_fake", "D(G(z)), fake", smoothing, "C3")
    ax_d.set(title="Discriminator outputs", xlabel="step", ylabel="mean P(real)", ylim=(0, 1))
    _legend(ax_loss)
    _legend(ax_d)
    if quality:
        plot_series(axes[2], history, "swd", "SWD", 0.0, "C4")
        steps, values = _series(history, "swd")
        # The latest value as a dot with its number: the first one shows before there is a line to draw.
        axes[2].plot(steps[-1:], values[-1:], "o", color="C4", markersize=4)
        axes[2].annotate(f"{values[-1]:.1f}", (steps[-1], values[-1]), textcoords="offset points", xytext=(4, 4),
                         fontsize="small", color="C4")
        axes[2].set(title="Quality: SWD to the photos (lower is better)", xlabel="step", ylabel="SWD x 1e3",
                    ylim=(0, 1.15 * max(values)))  # from 0: SWD is a distance, and one value has no scale of its own
    return fig


# ---------------------------------------------------------------------------------------------
# Watching the fixed-noise samples evolve


def animation_strip(
    grids: Sequence[torch.Tensor], steps: Sequence[int], nrow: int | None = None, panel_size: float = 2.5
) -> Figure:
    """One row of fixed-noise sample grids, each titled with its training step."""
    if len(grids) != len(steps) or not grids:
        raise GanLibError(f"need one step per grid, got {len(grids)} grids and {len(steps)} steps")
    fig = new_figure(figsize=(panel_size * len(grids), panel_size + 0.4), layout="constrained")
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
    return write_bytes_atomically(path, buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# Small helpers for the notebooks


def show_source(obj: Any) -> Any:
    """Show the source code of a gan_lib function or class, syntax-highlighted in a notebook."""
    import inspect

    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


def show_breeds(images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], per_breed: int = 8) -> Figure:
    """One row of example images per class, labelled with the class name and its image count."""
    counts = torch.bincount(labels, minlength=len(class_names))
    fig = new_figure(figsize=(per_breed * 0.9 + 2, len(class_names) * 0.9), layout="constrained")
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
    fig = new_figure(figsize=(3.4 * (1 + len(squares)), 3.4), layout="constrained")
    axes = fig.subplots(1, 1 + len(squares), squeeze=False)[0]
    axes[0].imshow(image)
    # A square often shares two sides with its box: the box is drawn thin on top of the wide square, so both show.
    outlines = [(b, "red", "dog's bounding box", 1.5, 3) for b in boxes] + [(s, "lime", "square crop", 5, 2)
                                                                          for s in squares]
    for i, ((x0, y0, x1, y1), color, label, width, z) in enumerate(outlines):
        first_of_kind = all(other[2] != label for other in outlines[:i])  # one legend entry per kind
        axes[0].add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=width,
                                    zorder=z, label=label if first_of_kind else None))
    axes[0].legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small", frameon=False)
    for ax, square in zip(axes[1:], squares):
        ax.imshow(image.crop(square))
        ax.set_title("square crop")
    for ax in axes:
        ax.set_axis_off()
    return fig
