"""The breed picker and the latent explorer, driven from code as a student drives them with the mouse."""
from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from gan_lib.config import ModelConfig
from gan_lib.errors import GanLibError
from gan_lib.latent import principal_directions
from gan_lib.models import Generator
from gan_lib.widgets import BreedPicker, LatentExplorer, picture

pytest.importorskip("ipywidgets")
NAMES = ["Samoyed", "beagle", "golden retriever"]


def generator(num_classes: int = 0) -> Generator:
    torch.manual_seed(0)
    return Generator(ModelConfig(resolution=32, g_width=8, latent_dim=16, num_classes=num_classes))


def size_of(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_picture_scales_every_pixel():
    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    one = size_of(picture(images, nrow=2, scale=1))
    assert size_of(picture(images, nrow=2, scale=3)) == (one[0] * 3, one[1] * 3)


def test_breed_picker_redraws_when_the_breed_changes():
    picker = BreedPicker(generator(num_classes=3), NAMES, n=4)
    first = picker.image.value
    assert size_of(first)[0] > 4 * 32  # four dogs side by side, enlarged
    picker.dropdown.value = "beagle"
    assert picker.image.value != first
    picker.dropdown.value = "Samoyed"
    assert picker.image.value == first  # the same noise: the same dogs again
    picker.new_dogs.click()
    assert picker.image.value != first and picker.seed == 1


def test_breed_picker_needs_a_conditional_generator_and_its_names():
    with pytest.raises(GanLibError, match="conditional"):
        BreedPicker(generator(), NAMES)
    with pytest.raises(GanLibError, match="knows 3 breeds"):
        BreedPicker(generator(num_classes=3), NAMES[:2])


def test_explorer_sliders_move_the_dog_and_reset_brings_it_back():
    G = generator()
    explorer = LatentExplorer(G, principal_directions(G, k=3, n=100))
    first, dog = explorer.image.value, explorer.dog()
    assert dog.shape == (3, 32, 32) and dog.dtype == torch.uint8
    explorer.sliders[0].value = 2.5
    assert explorer.image.value != first
    explorer.sliders[1].value = -1.0
    drawn = []
    explorer.image.observe(lambda change: drawn.append(change), names="value")
    explorer.reset.click()
    assert [s.value for s in explorer.sliders] == [0.0] * 3 and explorer.image.value == first
    assert len(drawn) == 1  # one redraw for the reset, not one per slider
    explorer.truncation.value = 0.5
    assert explorer.image.value != first and explorer.noise().abs().max() <= 0.5
    explorer.truncation.value = explorer.truncation.max  # the end of the slider: no truncation
    assert explorer.image.value == first
    explorer.new_dog.click()
    assert explorer.seed.value == 1 and explorer.image.value != first
    explorer.truncation.value, explorer.sliders[2].value = 0.1, 1.0
    explorer.reset.click()  # every control back: the first dog comes back
    assert explorer.seed.value == 0 and explorer.truncation.value == explorer.truncation.max
    assert [s.value for s in explorer.sliders] == [0.0] * 3 and explorer.image.value == first


def test_explorer_breed_menu_for_a_conditional_generator():
    G = generator(num_classes=3)
    explorer = LatentExplorer(G, principal_directions(G, k=2, n=60), class_names=NAMES)
    first = explorer.image.value
    explorer.breed.value = "golden retriever"
    assert explorer.image.value != first
    explorer.reset.click()
    assert explorer.breed.value == NAMES[0] and explorer.image.value == first
    with pytest.raises(GanLibError, match="class_names"):
        LatentExplorer(G, torch.eye(16)[:2])
    with pytest.raises(GanLibError, match="one name per direction"):
        LatentExplorer(G, torch.eye(16)[:2], class_names=NAMES, names=["only one"])


def test_save_writes_the_dog_you_see_as_numbered_pngs(tmp_path):
    G = generator()
    explorer = LatentExplorer(G, torch.eye(16)[:2], save_dir=tmp_path / "mine")
    explorer.sliders[1].value = 1.0
    explorer.save.click()
    path = tmp_path / "mine" / "dog_001.png"
    saved = torch.from_numpy(__import__("numpy").array(Image.open(path))).permute(2, 0, 1)
    shown = torch.from_numpy(__import__("numpy").array(Image.open(io.BytesIO(explorer.image.value)))).permute(2, 0, 1)
    assert saved.shape[1:] == (32 * explorer.scale, 32 * explorer.scale)  # 192 px, not the network's 32
    assert torch.equal(saved, shown)  # exactly the picture on the screen
    assert torch.equal(saved[:, ::explorer.scale, ::explorer.scale], explorer.dog())
    assert explorer.status.value == f"saved {path}"
    assert explorer.save_png().name == "dog_002.png"
    assert not list((tmp_path / "mine").glob(".*"))  # written atomically: no temporary files left


def test_widgets_show_through_display_as_ipywidgets_7_needs(monkeypatch):
    """Colab renders ipywidgets 7, whose widgets have no `_repr_mimebundle_`: the widgets go through `display`."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    G = generator(num_classes=3)
    picker, explorer = BreedPicker(G, NAMES, n=2), LatentExplorer(G, principal_directions(G, k=2, n=50), class_names=NAMES)
    for widget in (picker, explorer):
        assert not hasattr(widget, "_repr_mimebundle_")  # IPython falls back to _ipython_display_
        widget._ipython_display_()
    assert shown == [picker.box, explorer.box]
