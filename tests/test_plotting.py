"""Tests for gan_lib.plotting: grids, curves, the live dashboard (both modes) and animations."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import IPython.display
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from gan_lib.callbacks import LiveDashboard, SnapshotRecorder, has_notebook_frontend
from gan_lib.errors import GanLibError
from gan_lib.plotting import (
    NotebookFigure,
    animation_strip,
    image_grid,
    plot_history,
    save_gif,
    save_grid,
    show_images,
    smooth,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class FakeTrainer:
    """The parts of gan_lib.training.Trainer the dashboard uses, with a controllable sample batch."""

    def __init__(self, steps: int = 10) -> None:
        self.step = 0
        self.seconds = 0.0
        self.stop_reason = None
        self.config = SimpleNamespace(steps=steps, minutes=None, model=SimpleNamespace(latent_dim=8, num_classes=0))
        self.history: list[dict[str, float]] = []
        self.samples = torch.full((4, 3, 8, 8), -1.0)
        self.stop_calls = 0

    def sample_fixed(self) -> torch.Tensor:
        return self.samples.clone()

    def request_stop(self) -> None:
        self.stop_calls += 1

    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.samples[torch.arange(len(z)) % len(self.samples)]

    def photos(self, n: int) -> torch.Tensor:
        return torch.randint(0, 256, (min(n, 16), *self.samples.shape[1:]), dtype=torch.uint8,
                             generator=torch.Generator().manual_seed(0))

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            self.step += 1
            self.seconds += 0.5
            record = {"step": self.step, "loss_d": 1 / self.step, "loss_g": 2.0, "d_real": 0.7, "d_fake": 0.3}
            self.history.append(record)


def run_steps(dashboard: LiveDashboard, trainer: FakeTrainer, n: int) -> None:
    if trainer.step == 0:
        dashboard.before_fit(trainer)  # as Trainer.fit does before the first step
    for _ in range(n):
        trainer.advance()
        dashboard(trainer)


# ---- image grids ---------------------------------------------------------------------------


def test_image_grid_float_maps_minus_one_to_zero_and_one_to_255():
    images = torch.stack([torch.full((3, 8, 8), value) for value in (-1.0, 1.0, 0.0, -5.0)])
    grid = image_grid(images)  # default nrow=2 -> 2 x 2 tiles, 2px padding around each
    assert grid.shape == (2 + 8 + 2 + 8 + 2, 22, 3) and grid.dtype == np.uint8
    assert (grid[2:10, 2:10] == 0).all()  # first tile: -1 -> 0
    assert (grid[2:10, 12:20] == 255).all()  # second tile: 1 -> 255
    assert (grid[12:20, 2:10] == 128).all()  # third tile: 0 -> mid grey
    assert (grid[12:20, 12:20] == 0).all()  # fourth tile: out of range values are clipped
    assert (grid[0, :] == 255).all() and (grid[:, 10:12] == 255).all()  # white padding


def test_image_grid_uint8_matches_float_and_respects_nrow():
    uint8 = torch.randint(0, 256, (6, 3, 5, 7), dtype=torch.uint8)
    as_float = uint8.float() / 127.5 - 1
    assert np.array_equal(image_grid(uint8, nrow=3), image_grid(as_float, nrow=3))
    assert image_grid(uint8, nrow=6).shape == (5 + 4, 6 * 7 + 7 * 2, 3)
    assert image_grid(uint8[0]).shape == (5, 7, 3)  # a single C x H x W image


def test_image_grid_rejects_wrong_shapes():
    with pytest.raises(GanLibError):
        image_grid(torch.zeros(2, 5, 8, 8))
    with pytest.raises(GanLibError):
        image_grid(np.zeros((2, 3, 8, 8)))


def test_save_grid_writes_png_of_grid_size(tmp_path: Path):
    images = torch.rand(5, 3, 6, 6) * 2 - 1
    path = save_grid(images, tmp_path / "sub" / "grid.png", nrow=5)
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert np.array_equal(np.asarray(img.convert("RGB")), image_grid(images, nrow=5))
    assert [p.name for p in path.parent.iterdir()] == ["grid.png"]  # no temp file left over


def test_show_images_hides_axes_and_sets_title():
    ax = Figure().subplots()
    show_images(torch.zeros(4, 3, 8, 8), title="hello", ax=ax)
    assert ax.get_title() == "hello" and not ax.axison and len(ax.images) == 1


# ---- curves --------------------------------------------------------------------------------


def test_smooth_is_identity_without_smoothing_and_debiased_with_it():
    assert smooth([1.0, 5.0, 2.0], 0.0) == [1.0, 5.0, 2.0]
    assert smooth([3.0, 3.0, 3.0], 0.9) == pytest.approx([3.0, 3.0, 3.0])  # no pull towards 0
    noisy = [0.0, 1.0] * 20
    assert np.std(smooth(noisy, 0.8)[10:]) < 0.5 * np.std(noisy)
    with pytest.raises(GanLibError):
        smooth([1.0], 1.0)


def test_plot_history_handles_partial_records():
    history = [
        {"step": 1, "loss_d": 1.4, "loss_g": 0.7},  # no D outputs, no grad norms
        {"step": 2, "loss_d": 1.2, "loss_g": 0.9, "d_real": 0.6, "d_fake": 0.4, "grad_norm_d": 3.0},
        {"step": 3, "loss_d": float("nan"), "loss_g": 1.0, "d_real": 0.7, "d_fake": 0.3},
    ]
    fig = plot_history(history, smoothing=0.0)
    ax_loss, ax_d = fig.axes
    lines = {line.get_label(): line for ax in fig.axes for line in ax.lines}
    assert list(lines["D loss"].get_xdata()) == [1, 2]  # the NaN record is skipped
    assert list(lines["G loss"].get_ydata()) == [0.7, 0.9, 1.0]
    assert list(lines["D(x), real"].get_xdata()) == [2, 3]
    assert list(lines["D(G(z)), fake"].get_ydata()) == [0.4, 0.3]
    assert ax_d.get_ylim() == (0, 1) and ax_d.get_legend() is not None


def test_plot_history_smoothing_adds_faint_raw_lines_and_reuses_figure():
    history = [{"step": i, "loss_d": float(i % 2), "loss_g": 1.0} for i in range(20)]
    fig = plot_history(history, smoothing=0.6)
    assert len(fig.axes[0].lines) == 4  # raw + smoothed for each loss
    assert plot_history([], fig=fig) is fig and len(fig.axes) == 2  # redrawn, not stacked up
    stacked = plot_history(history, stacked=True)
    assert stacked.axes[0].get_subplotspec().get_geometry()[:2] == (2, 1)


def test_notebook_figure_has_png_repr():
    fig = NotebookFigure(figsize=(2, 2))
    fig.subplots().plot([0, 1])
    assert fig._repr_mimebundle_()["image/png"].startswith(PNG_MAGIC)


# ---- live dashboard ------------------------------------------------------------------------


def test_dashboard_widget_mode_updates_images_in_place(monkeypatch: pytest.MonkeyPatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    trainer, dashboard = FakeTrainer(steps=10), LiveDashboard(every=3, mode="widget", watch=False)
    run_steps(dashboard, trainer, 1)
    assert shown == [dashboard.box]
    first_samples, first_curves = dashboard.samples_png, dashboard.curves_png
    assert dashboard.samples_image.value == first_samples and first_samples.startswith(PNG_MAGIC)
    assert dashboard.curves_image.value == first_curves and first_curves.startswith(PNG_MAGIC)

    trainer.samples = torch.ones(4, 3, 8, 8)  # the generator "learned" something
    run_steps(dashboard, trainer, 1)  # step 2: not a render step
    assert dashboard.samples_image.value == first_samples
    run_steps(dashboard, trainer, 1)  # step 3: render step
    assert dashboard.samples_image.value == dashboard.samples_png != first_samples
    assert dashboard.curves_image.value != first_curves
    assert dashboard.progress.value == pytest.approx(0.3) and "step 3/10" in dashboard.label.value
    assert shown == [dashboard.box]  # displayed once, then updated in place


def test_dashboard_stop_button_requests_stop_and_finish_marks_early_stop(monkeypatch):
    monkeypatch.setattr(IPython.display, "display", lambda *objs: None)
    trainer, dashboard = FakeTrainer(steps=10), LiveDashboard(every=5, mode="widget", watch=False)
    run_steps(dashboard, trainer, 2)
    dashboard.stop_button.click()
    assert trainer.stop_calls == 1 and dashboard.stop_button.disabled
    dashboard.finish(trainer)
    assert dashboard.progress.bar_style == "warning" and dashboard.stop_button.description == "Stopped"
    dashboard._on_stop()  # a click queued by the kernel (ipykernel 6, Colab's) arriving after the end
    assert trainer.stop_calls == 1 and dashboard.stop_button.description == "Stopped"


def test_dashboard_follows_the_time_budget_and_shows_its_end_as_success(monkeypatch):
    monkeypatch.setattr(IPython.display, "display", lambda *objs: None)
    trainer, dashboard = FakeTrainer(steps=None), LiveDashboard(every=5, mode="widget", watch=False)
    trainer.config.minutes = 0.1  # 6 s; FakeTrainer trains half a second per step
    run_steps(dashboard, trainer, 5)
    assert dashboard.progress.value == pytest.approx(2.5 / 6)
    assert "step 5 | 2s of 6s | 2.0 steps/s | 3s left" in dashboard.label.value
    trainer.stop_reason = "time"
    dashboard.finish(trainer)
    assert dashboard.progress.value == 1.0 and dashboard.progress.bar_style == "success"
    assert dashboard.stop_button.description == "Done" and "time budget reached" in dashboard.label.value


def test_progress_bar_is_time_based_and_full_at_a_normal_end(capsys):
    from gan_lib.callbacks import ProgressBar, training_progress

    trainer, bar = FakeTrainer(steps=1000), ProgressBar(every=1)
    trainer.config.minutes = 1.0
    bar.before_fit(trainer)
    for _ in range(12):
        trainer.advance()
        bar(trainer)
    assert training_progress(trainer) == (pytest.approx(0.1), "step 12 | 6s of 1m00s | 2.0 steps/s | 54s left")
    assert bar._bar.n == 100  # thousandths of the run
    trainer.stop_reason = "time"
    bar.finish(trainer)
    assert "100%" in capsys.readouterr().err


def test_dashboard_shows_alerts_and_the_live_quality_number(monkeypatch):
    monkeypatch.setattr(IPython.display, "display", lambda *objs: None)
    trainer, dashboard = FakeTrainer(steps=400), LiveDashboard(every=50, mode="widget")
    trainer.samples = torch.rand(4, 3, 16, 16) * 2 - 1  # SWD needs 16 px or more
    dashboard.before_fit(trainer)
    for _ in range(300):
        trainer.advance()
        trainer.history[-1].update(d_real=0.98, d_fake=0.01)  # D wins by a mile
        dashboard(trainer)
    assert "D is winning" in dashboard.alerts.value and "spectral norm" in dashboard.alerts.value
    assert any("swd" in r for r in trainer.history)
    assert [ax.get_title() for ax in dashboard._fig.axes][-1].startswith("Quality: SWD")


def test_dashboard_text_mode_prints_status_and_saves_pngs(tmp_path: Path, capsys):
    trainer, dashboard = FakeTrainer(steps=10), LiveDashboard(every=4, mode="text", watch=False, out_dir=tmp_path)
    run_steps(dashboard, trainer, 9)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" |")[0] for line in lines] == ["step 1/10", "step 4/10", "step 8/10"]
    assert "loss D 0.125" in lines[-1] and "D(G(z)) 0.300" in lines[-1]
    assert not hasattr(dashboard, "box")  # no widgets in text mode
    with Image.open(tmp_path / "samples.png") as img:
        assert img.size == (8 * 2 + 2 * 3, 8 * 2 + 2 * 3)
    assert (tmp_path / "curves.png").read_bytes() == dashboard.curves_png
    dashboard.finish(trainer)
    assert capsys.readouterr().out.startswith("step 9/10")  # final render, then the summary line


def test_dashboard_auto_mode_is_text_under_pytest_unless_forced(monkeypatch: pytest.MonkeyPatch):
    assert not has_notebook_frontend()
    assert LiveDashboard(mode="auto").mode == "text"
    monkeypatch.setenv("GAN_LIB_DASHBOARD", "widget")
    assert LiveDashboard().mode == "widget"
    with pytest.raises(GanLibError):
        LiveDashboard(mode="fancy")


# ---- animations ----------------------------------------------------------------------------


def test_animation_strip_has_one_titled_panel_per_grid():
    grids = [torch.rand(4, 3, 8, 8) * 2 - 1 for _ in range(3)]
    fig = animation_strip(grids, [0, 500, 1000])
    assert [ax.get_title() for ax in fig.axes] == ["step 0", "step 500", "step 1000"]
    with pytest.raises(GanLibError):
        animation_strip(grids, [0, 500])


def test_save_gif_writes_one_frame_per_grid(tmp_path: Path):
    frames = [torch.full((4, 3, 8, 8), value) for value in (-1.0, 0.0, 1.0)]
    path = save_gif(frames, tmp_path / "training.gif", steps=[0, 10, 20])
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3
        assert gif.size == (22, 22 + 16)  # grid plus the label banner
    plain = save_gif(frames[:2], tmp_path / "plain.gif")
    with Image.open(io.BytesIO(plain.read_bytes())) as gif:
        assert gif.n_frames == 2 and gif.size == (22, 22)


def test_snapshot_recorder_keeps_uint8_frames_and_thins_long_runs():
    class StepCounter:  # the two things the recorder reads from a Trainer
        step = 0

        def sample_fixed(self):
            return torch.full((4, 3, 8, 8), self.step / 1000 - 1)

    trainer, recorder = StepCounter(), SnapshotRecorder(every=10, max_frames=5)
    for step in range(1, 201):
        trainer.step = step
        recorder(trainer)
    recorder.finish(trainer)
    assert len(recorder.frames) <= 6 and recorder.frames[0].dtype == torch.uint8
    assert recorder.steps[0] == 1 and recorder.steps[-1] == 200 and recorder.steps == sorted(recorder.steps)
    assert recorder.every > 10  # recording slowed down as frames were thinned
    assert recorder.frames[-1].shape == (4, 3, 8, 8)


def test_crop_demo_has_a_legend_for_both_outlines():
    from gan_lib.plotting import show_crops

    photo = Image.new("RGB", (120, 80), "white")
    fig = show_crops(photo, [(10, 20, 50, 70), (60, 10, 90, 40)], [(5, 20, 55, 70), (50, 0, 90, 40)])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["dog's bounding box", "square crop"]  # one entry per kind, not per outline
    assert [ax.get_title() for ax in fig.axes[1:]] == ["square crop", "square crop"]


def test_crop_demo_draws_a_box_visible_where_it_shares_a_side_with_its_square():
    """The red box's sides that coincide with the green square's lie on top of it and inside its width."""
    import numpy as np

    from gan_lib.plotting import figure_png, show_crops

    photo = Image.new("RGB", (100, 100), "white")
    fig = show_crops(photo, [(20, 10, 60, 90)], [(0, 10, 80, 90)])  # a tall box: the square shares its top and bottom
    box, square = fig.axes[0].patches
    assert box.get_zorder() > square.get_zorder() and box.get_linewidth() < square.get_linewidth()
    pixels = np.array(Image.open(io.BytesIO(figure_png(fig))).convert("RGB")).astype(int)
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    green = (pixels[..., 1] > 200) & (pixels[..., 0] < 80) & (pixels[..., 2] < 80)
    assert red.sum() > 0 and green.sum() > 0


def test_figures_show_once_whether_last_value_or_plt_show(tmp_path):
    """In a real kernel: `plot_history(...); plt.show()`, `plot_history(...)` as the cell's value, and a
    figure assigned to a name each show exactly one picture."""
    import nbformat
    from nbclient import NotebookClient

    cells = ["from gan_lib.plotting import plot_history\nimport matplotlib.pyplot as plt\n"
             "h = [{'step': i, 'loss_d': 1.0, 'loss_g': 2.0, 'd_real': 0.6, 'd_fake': 0.4} for i in range(5)]",
             "plot_history(h); plt.show()", "plot_history(h)", "fig = plot_history(h)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    pictures = [sum("image/png" in out.get("data", {}) for out in cell.outputs) for cell in nb.cells]
    assert pictures == [0, 1, 1, 1]


def test_the_quality_panel_shows_its_first_value_on_an_axis_from_zero():
    """One SWD value so far: a visible dot with its number, on an axis from 0, not an empty 9.6-10.4 panel."""
    from gan_lib.plotting import plot_history

    history = [{"step": i, "loss_d": 1.0, "loss_g": 2.0, "d_real": 0.6, "d_fake": 0.4} for i in range(1, 30)]
    history[-1]["swd"] = 10.0
    ax = plot_history(history, stacked=True).axes[2]
    assert ax.get_ylim() == pytest.approx((0, 11.5))
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 1 and list(dots[0].get_ydata()) == [10.0]
    assert [t.get_text() for t in ax.texts] == ["10.0"]
