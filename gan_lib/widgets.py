"""Interactive pictures for notebooks 07 and 08: pick a breed, and explore G's latent space live.

Both draw with the generator in eval mode from fixed noise, so a picture changes only when a
control changes. Every control is a plain attribute (`picker.dropdown`, `explorer.sliders[0]`),
so tests and instructors can drive them from code exactly as a student does with the mouse.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from .data import to_uint8
from .errors import GanLibError
from .files import write_bytes_atomically
from .latent import Directions, move
from .models import Generator, sample_noise
from .plotting import image_grid, png_bytes
from .sampling import breed_labels, generate


def picture(images: Tensor, nrow: int | None = None, scale: int = 4) -> bytes:
    """PNG bytes of a grid of images, each pixel drawn as a scale x scale block (small images stay sharp)."""
    grid = torch.from_numpy(image_grid(images, nrow))
    return png_bytes(grid.repeat_interleave(scale, dim=0).repeat_interleave(scale, dim=1).numpy())


def _check_conditional(G: Generator, class_names: Sequence[str] | None) -> None:
    if G.cfg.num_classes and (class_names is None or len(class_names) != G.cfg.num_classes):
        raise GanLibError(f"this generator knows {G.cfg.num_classes} breeds: pass their names as class_names "
                          "(a checkpoint has them: Checkpoint.load(path).class_names)")


def show_widget(widget: Any) -> None:
    """Display an ipywidget in the notebook: `display` works with ipywidgets 7 (Colab's) and 8 alike,
    where a widget's own `_repr_mimebundle_` exists only in 8."""
    from IPython.display import display

    display(widget)


class BreedPicker:
    """A breed dropdown over a grid of new dogs of that breed; every breed is drawn from the same noise."""

    def __init__(self, G: Generator, class_names: Sequence[str], n: int = 8, seed: int = 0,
                 scale: int = 3) -> None:
        import ipywidgets as widgets

        if not G.cfg.num_classes:
            raise GanLibError("the breed picker needs a conditional generator (trained with num_classes > 0)")
        _check_conditional(G, class_names)
        self.G, self.class_names, self.n, self.scale = G.eval(), list(class_names), n, scale
        self.seed = seed
        self.dropdown = widgets.Dropdown(options=self.class_names, value=self.class_names[0], description="breed")
        self.new_dogs = widgets.Button(description="new dogs", icon="refresh")
        self.image = widgets.Image(format="png")
        self.dropdown.observe(lambda _change: self.draw(), names="value")
        self.new_dogs.on_click(lambda _button: self.reseed(self.seed + 1))
        self.box = widgets.VBox([widgets.HBox([self.dropdown, self.new_dogs]), self.image])
        for widget, name in ((self.box, "gan-breed-picker"), (self.dropdown, "gan-breed-menu"),
                             (self.image, "gan-breed-picture")):
            widget.add_class(name)  # names for the browser test and for styling
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """New noise (the same for every breed), then redraw."""
        self.seed = seed
        self.z = sample_noise(self.n, self.G.cfg.latent_dim, generator=torch.Generator().manual_seed(seed))
        self.draw()

    def images(self) -> Tensor:
        """The current breed's dogs as uint8 images."""
        return to_uint8(generate(self.G, self.z, breed_labels(self.class_names, self.n, self.dropdown.value)))

    def draw(self) -> None:
        """Put the current breed's dogs into the picture."""
        self.image.value = picture(self.images(), nrow=self.n, scale=self.scale)

    def _ipython_display_(self) -> None:
        show_widget(self.box)


class LatentExplorer:
    """One dog, and a slider per latent direction that moves its noise vector; the picture follows live.

    Also: a truncation slider (redraw every entry of z beyond it), "new dog" (new noise), a breed
    dropdown for a conditional G, "reset", and "save PNG" (writes the dog into `save_dir`).
    """

    def __init__(self, G: Generator, directions: Directions | Tensor, class_names: Sequence[str] | None = None,
                 seed: int = 0, max_amount: float = 3.0, save_dir: Path | str = "my_dogs", scale: int = 6,
                 names: Sequence[str] | None = None) -> None:
        import ipywidgets as widgets

        _check_conditional(G, class_names)
        vectors = directions.vectors if isinstance(directions, Directions) else directions
        self.G, self.directions, self.scale, self.save_dir = G.eval(), vectors, scale, Path(save_dir)
        self.class_names = list(class_names) if G.cfg.num_classes and class_names else None
        self._holding = False  # True while several controls change at once: draw once at the end
        names = list(names) if names is not None else [f"PC{j + 1}" for j in range(len(vectors))]
        if len(names) != len(vectors):
            raise GanLibError(f"one name per direction: got {len(names)} names for {len(vectors)} directions")
        slider = dict(min=-max_amount, max=max_amount, step=0.1, value=0.0, continuous_update=True)
        self.sliders = [widgets.FloatSlider(description=name, **slider) for name in names]
        self.truncation = widgets.FloatSlider(description="truncation", min=0.1, max=3.0, step=0.1, value=3.0,
                                              continuous_update=True, tooltip="at the right end (3.0): off")
        self.seed = widgets.IntText(description="seed", value=seed, layout=widgets.Layout(width="160px"))
        self.breed = (widgets.Dropdown(options=self.class_names, value=self.class_names[0], description="breed")
                      if self.class_names else None)
        self.new_dog = widgets.Button(description="new dog", icon="paw")
        self.reset = widgets.Button(description="reset", icon="undo")
        self.save = widgets.Button(description="save PNG", icon="save")
        self.status = widgets.Label(value="")
        self.image = widgets.Image(format="png")
        for control in [*self.sliders, self.truncation, self.seed, *([self.breed] if self.breed else [])]:
            control.observe(lambda _change: self.draw(), names="value")
        self.new_dog.on_click(lambda _b: setattr(self.seed, "value", self.seed.value + 1))
        self.reset.on_click(lambda _b: self.zero())
        self._start = {c: c.value for c in (self.truncation, self.seed, *([self.breed] if self.breed else []))}
        self.save.on_click(lambda _b: self.save_png())
        controls = widgets.VBox([*([self.breed] if self.breed else []), *self.sliders, self.truncation,
                                 widgets.HBox([self.seed, self.new_dog, self.reset]), widgets.HBox([self.save, self.status])])
        # Top-aligned: stretched to the controls' height, the picture would be distorted.
        self.box = widgets.HBox([self.image, controls], layout=widgets.Layout(align_items="flex-start"))
        self.box.add_class("gan-explorer")
        self.image.add_class("gan-explorer-picture")
        for slider in self.sliders:
            slider.add_class("gan-explorer-direction")
        self.draw()

    def noise(self) -> Tensor:
        """The current z: the seed's noise (truncated by resampling), moved along every direction by its slider."""
        t = self.truncation.value if self.truncation.value < self.truncation.max else None  # the max means off
        z = sample_noise(1, self.G.cfg.latent_dim, truncation=t, generator=torch.Generator().manual_seed(self.seed.value))
        return move(z, self.directions, [s.value for s in self.sliders])

    def dog(self) -> Tensor:
        """The current dog as one uint8 image (3 x H x W)."""
        labels = breed_labels(self.class_names, 1, self.breed.value) if self.breed else None
        return to_uint8(generate(self.G, self.noise(), labels))[0]

    def draw(self) -> None:
        """Redraw the picture from the controls."""
        if not self._holding:
            self.image.value = picture(self.dog(), scale=self.scale)

    def zero(self) -> None:
        """Back to the dog you started from: every direction slider at 0, and the truncation, seed and breed
        as they were at the start; then one redraw (not one per control)."""
        self._holding = True
        try:
            for s in self.sliders:
                s.value = 0.0
            for control, value in self._start.items():
                control.value = value
        finally:
            self._holding = False
        self.draw()

    def save_png(self) -> Path:
        """Save the current dog as you see it (each pixel a scale x scale block, no border) as the next free
        my_dogs/dog_NNN.png."""
        self.save_dir.mkdir(parents=True, exist_ok=True)
        number = 1 + max((int(p.stem[4:]) for p in self.save_dir.glob("dog_*.png") if p.stem[4:].isdigit()), default=0)
        seen = self.dog().repeat_interleave(self.scale, dim=1).repeat_interleave(self.scale, dim=2)
        path = write_bytes_atomically(self.save_dir / f"dog_{number:03d}.png",
                                      png_bytes(seen.permute(1, 2, 0).contiguous().numpy()))
        self.status.value = f"saved {path}"
        return path

    def _ipython_display_(self) -> None:
        show_widget(self.box)
