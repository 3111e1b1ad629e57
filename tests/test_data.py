import warnings

import pytest
import torch
from conftest import write_image
from PIL import Image

import gan_lib.data as data_mod
from gan_lib.data import (Batches, ImageData, class_name, load_images, random_flip, to_float, to_rgb,
                          to_uint8)
from gan_lib.errors import GanLibError


def test_odd_and_broken_files(tmp_path, capsys):
    root = tmp_path / "odd"
    write_image(root / "a" / "rgb.jpg")
    write_image(root / "a" / "gray.png", mode="L")
    write_image(root / "a" / "palette.png", mode="P")
    write_image(root / "a" / "rgba.png", mode="RGBA")
    write_image(root / "b" / "cmyk.jpg", mode="CMYK")
    Image.new("I;16", (30, 30), 40000).save(root / "b" / "sixteen.png")
    (root / "b" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg" * 10)
    good = (root / "a" / "rgb.jpg").read_bytes()
    (root / "b" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "b" / "notes.txt").write_text("not an image")
    (root / "b" / ".DS_Store").write_bytes(b"\0")  # hidden files are not candidates at all
    d = load_images(root, 32, cache_dir=tmp_path / "cache", progress=False)
    report = capsys.readouterr().out
    assert report.startswith("note: skipped 3 of 9 files that are not readable images:")
    for name in ("b/corrupt.jpg: truncated or corrupt image data", "b/truncated.jpg: truncated or corrupt",
                 "b/notes.txt: not an image"):
        assert name in report, report
    assert "UserWarning" not in report and "data.py" not in report
    assert d.images.shape == (6, 3, 32, 32) and d.images.dtype == torch.uint8
    assert d.labels.tolist() == [0, 0, 0, 0, 1, 1]
    assert d.class_names == ["a", "b"]


def test_transparency_becomes_white_and_gray_becomes_rgb():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert to_rgb(rgba).getpixel((0, 0)) == (255, 255, 255)
    gray = Image.new("L", (4, 4), 77)
    assert to_rgb(gray).mode == "RGB" and to_rgb(gray).getpixel((1, 1)) == (77, 77, 77)


def test_centre_crop(tmp_path):
    img = Image.new("RGB", (90, 30), (255, 0, 0))  # red sides, a blue centre square
    img.paste((0, 0, 255), (30, 0, 60, 30))
    (tmp_path / "x").mkdir()
    img.save(tmp_path / "x" / "wide.png")
    d = load_images(tmp_path / "x", 32, cache_dir=tmp_path / "cache", progress=False)
    mean = d.images.float().mean(dim=(0, 2, 3))
    assert mean[2] > 250 and mean[0] < 5


def test_bounding_box_crops_one_per_dog(tmp_path):
    images, annotations = tmp_path / "Images", tmp_path / "Annotation"
    breed = "n02085620-Chihuahua"
    img = Image.new("RGB", (200, 100), (0, 0, 0))
    img.paste((255, 0, 0), (10, 10, 50, 90))  # dog 1: red, 40 x 80
    img.paste((0, 255, 0), (120, 30, 180, 70))  # dog 2: green, 60 x 40
    (images / breed).mkdir(parents=True)
    img.save(images / breed / "n02085620_7.jpg", quality=95)
    write_image(images / breed / "n02085620_8.jpg")  # no annotation: centre crop
    (annotations / breed).mkdir(parents=True)
    objects = "".join(f"<object><name>{breed}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax>"
                      f"<ymax>{e}</ymax></bndbox></object>" for a, b, c, e in [(10, 10, 50, 90), (120, 30, 180, 70)])
    (annotations / breed / "n02085620_7").write_text(
        f"<annotation><size><width>200</width><height>100</height><depth>3</depth></size>{objects}</annotation>")
    d = load_images(images, 32, annotations=annotations, cache_dir=tmp_path / "cache", progress=False)
    assert len(d) == 3 and d.class_names == ["Chihuahua"]
    red, green = d.images[0].float().mean(dim=(1, 2)), d.images[1].float().mean(dim=(1, 2))
    # Each square crop is centred on its dog and at least as big as its box.
    assert red[0] > 100 and red[1] < 30 and green[1] > 100 and green[0] < 30
    assert red[0] < 250  # an 80 px square around a 40 px wide dog also holds background


def test_class_names():
    assert class_name("n02099601") == "golden retriever"
    assert class_name("n02085620-Chihuahua") == "Chihuahua"
    assert class_name("n02113799-standard_poodle") == "standard poodle"
    assert class_name("my-dogs") == "my-dogs"


def test_flat_folder_is_one_class(tmp_path):
    for i in range(3):
        write_image(tmp_path / "flat" / f"{i}.png")
    d = load_images(tmp_path / "flat", 32, cache_dir=tmp_path / "cache", progress=False)
    assert len(d) == 3 and d.class_names == ["flat"]


def test_missing_and_empty_folders_say_what_to_do(tmp_path):
    with pytest.raises(GanLibError, match="does not exist.*GAN_DATA"):
        load_images(tmp_path / "nope", 32)
    (tmp_path / "empty" / "breed").mkdir(parents=True)
    with pytest.raises(GanLibError, match="No images found.*--data"):
        load_images(tmp_path / "empty", 32)
    (tmp_path / "junk" / "breed").mkdir(parents=True)
    (tmp_path / "junk" / "breed" / "a.jpg").write_bytes(b"junk")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GanLibError, match="could be read"):
            load_images(tmp_path / "junk", 32, cache_dir=tmp_path / "cache")


def test_cache_is_reused_and_keyed(tiny_folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_images(tiny_folder, 32, cache_dir=cache, progress=False)
    assert len(list(cache.glob("*.pt"))) == 1

    def fail(*a, **k):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(data_mod, "decode_image", fail)
    again = load_images(tiny_folder, 32, cache_dir=cache, progress=False)
    assert torch.equal(first.images, again.images) and again.class_names == first.class_names
    monkeypatch.undo()
    load_images(tiny_folder, 64, cache_dir=cache, progress=False)  # resolution is part of the key
    load_images(tiny_folder, 32, max_per_class=2, cache_dir=cache, progress=False)  # so is the file list
    write_image(tiny_folder / "dogs" / "0.jpg", size=(50, 40), color=(1, 2, 3))  # and file contents
    changed = load_images(tiny_folder, 32, cache_dir=cache, progress=False)
    assert len(list(cache.glob("*.pt"))) == 4
    assert not torch.equal(changed.images, first.images)


def test_damaged_cache_is_rebuilt(tiny_folder, tmp_path, capsys):
    cache = tmp_path / "cache"
    first = load_images(tiny_folder, 32, cache_dir=cache, progress=False)
    (f,) = cache.glob("*.pt")
    f.write_bytes(b"garbage")
    again = load_images(tiny_folder, 32, cache_dir=cache, progress=False)
    assert "rebuilding it" in capsys.readouterr().out
    assert torch.equal(first.images, again.images)


def test_max_per_class(tiny_folder, tmp_path):
    d = load_images(tiny_folder, 32, max_per_class=2, cache_dir=tmp_path / "c", progress=False)
    assert d.labels.tolist() == [0, 0, 1, 1]


def test_float_conversion_round_trip():
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    f = to_float(x)
    assert f.min() == -1 and f.max() == 1
    assert torch.equal(to_uint8(f), x)
    assert to_uint8(torch.tensor([-3.0, 3.0])).tolist() == [0, 255]


def test_random_flip_mirrors_about_half():
    x = torch.arange(8.0).view(1, 1, 1, 8).repeat(1000, 1, 1, 1)
    y = random_flip(x, torch.Generator().manual_seed(0))
    flipped = (y[:, 0, 0, 0] == 7).float().mean()
    assert 0.4 < flipped < 0.6
    assert ((y[:, 0, 0, 0] == 0) | (y[:, 0, 0, 0] == 7)).all()


def test_batches_cover_epochs_and_resume(tiny_folder, tmp_path):
    d = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    b = Batches(d, batch_size=5, flip=False, seed=1)
    x, y = next(b)
    assert x.shape == (5, 3, 32, 32) and x.dtype == torch.float32 and -1 <= x.min() and x.max() <= 1
    second, _ = next(b)  # 12 images: two batches per epoch, the ragged 2 are dropped
    assert b.epoch == 0
    next(b)
    assert b.epoch == 1
    state = b.state_dict()
    expected = [next(b)[0] for _ in range(3)]
    b2 = Batches(d, batch_size=5, flip=True, seed=99)
    b2.flip = False
    b2.load_state_dict(state)
    assert all(torch.equal(e, next(b2)[0]) for e in expected)
    with pytest.raises(GanLibError, match="batch size"):
        Batches(d, batch_size=100)


def test_batches_flip_about_half_and_resume_with_the_same_flips():
    from gan_lib.data import ImageData

    images = torch.zeros(200, 3, 8, 8, dtype=torch.uint8)
    images[..., :4] = 255  # bright left half: a flipped image is bright on the right
    data = ImageData(images, torch.zeros(200, dtype=torch.long), ["dog"])
    b = Batches(data, batch_size=100, seed=0)
    x, _ = next(b)
    flipped = x[:, 0, 0, -1] > 0  # the top-right pixel of the first channel
    assert 30 < flipped.sum() < 70
    assert torch.equal(x[~flipped], to_float(images[:1]).expand(int((~flipped).sum()), -1, -1, -1))
    state = b.state_dict()
    expected = [next(b)[0] for _ in range(3)]  # into the next epoch, with new flips
    resumed = Batches(data, batch_size=100, seed=7)
    resumed.load_state_dict(state)
    assert all(torch.equal(e, next(resumed)[0]) for e in expected)


def test_real_photos(real_data):
    assert real_data.images.shape[1:] == (3, 32, 32) and len(real_data) == 600
    assert len(real_data.class_names) == 10 and "beagle" in real_data.class_names
    assert torch.bincount(real_data.labels).tolist() == [60] * 10
    # Real photos have varied colours, not a constant.
    assert real_data.images.float().std() > 40


def test_select_classes_keeps_and_renumbers_in_the_order_given():
    images = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1).expand(6, 3, 2, 2).contiguous()
    data = ImageData(images, torch.tensor([0, 1, 2, 0, 1, 2]), ["beagle", "Samoyed", "dingo"])
    picked = data.select_classes(["dingo", "BEAGLE"])
    assert picked.class_names == ["dingo", "beagle"]
    assert picked.images[:, 0, 0, 0].tolist() == [0, 2, 3, 5]  # the original order of the images
    assert picked.labels.tolist() == [1, 0, 1, 0]  # dingo is now 0, beagle 1
    with pytest.raises(GanLibError, match="unknown class 'poodle'.*beagle, Samoyed, dingo"):
        data.select_classes(["poodle"])
    with pytest.raises(GanLibError, match="none given"):
        data.select_classes([])


def test_data_goes_to_the_checkout_or_to_the_users_cache(tmp_path, monkeypatch):
    import gan_lib.data as data_module
    from gan_lib.data import default_data_root

    monkeypatch.delenv("GAN_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    installed = tmp_path / "site-packages"
    (installed / "data").mkdir(parents=True)  # some other package's folder beside the installed gan_lib
    monkeypatch.setattr(data_module, "__file__", str(installed / "gan_lib" / "data.py"))
    assert default_data_root() == tmp_path / "home" / ".cache" / "gan_lib"  # pip-installed (Colab)
    (installed / "pyproject.toml").write_text("")  # now it looks like a source checkout
    assert default_data_root() == installed / "data"
    monkeypatch.setenv("GAN_HOME", str(tmp_path / "drive"))
    assert default_data_root() == tmp_path / "drive"  # e.g. Google Drive, kept between Colab sessions
