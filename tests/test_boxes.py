"""Tests for gan_lib.boxes: Stanford Dogs VOC parsing and square crop boxes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gan_lib.boxes import annotation_path, read_voc_boxes, square_box
from gan_lib.errors import GanLibError

# The shape of a real Stanford Dogs file (Annotation/n02085620-Chihuahua/n02085620_7), two dogs.
TWO_DOGS = """<annotation>
	<folder>02085620</folder>
	<filename>n02085620_7</filename>
	<source><database>ImageNet database</database></source>
	<size><width>250</width><height>188</height><depth>3</depth></size>
	<segment>0</segment>
	<object>
		<name>Chihuahua</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
		<bndbox><xmin>71</xmin><ymin>1</ymin><xmax>192</xmax><ymax>180</ymax></bndbox>
	</object>
	<object>
		<name>Chihuahua</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
		<bndbox><xmin>10.0</xmin><ymin>20</ymin><xmax>60</xmax><ymax>90</ymax></bndbox>
	</object>
</annotation>
"""


def write(tmp_path: Path, text: str) -> Path:
    """Write an annotation file without extension, as Stanford Dogs names them."""
    path = tmp_path / "n02085620_7"
    path.write_text(text)
    return path


def test_read_voc_boxes_returns_every_object(tmp_path):
    path = write(tmp_path, TWO_DOGS)
    assert read_voc_boxes(path) == [(71, 1, 192, 180), (10, 20, 60, 90)]


def test_empty_boxes_are_dropped(tmp_path):
    path = write(tmp_path, TWO_DOGS.replace("<xmax>60</xmax>", "<xmax>10</xmax>"))
    assert read_voc_boxes(path) == [(71, 1, 192, 180)]


@pytest.mark.parametrize(
    "text, message",
    [
        (TWO_DOGS[:200], "Cannot read annotation .*n02085620_7"),
        (TWO_DOGS.replace("<ymin>20</ymin>", ""), "no valid <ymin> \\(None\\)"),
        (TWO_DOGS.replace("<xmax>192</xmax>", "<xmax>wide</xmax>"), "no valid <xmax> \\('wide'\\)"),
    ],
    ids=["truncated-xml", "missing-coordinate", "not-a-number"],
)
def test_malformed_annotation_raises(tmp_path, text, message):
    with pytest.raises(GanLibError, match=message):
        read_voc_boxes(write(tmp_path, text))


def test_missing_annotation_file_raises(tmp_path):
    with pytest.raises(GanLibError, match="Cannot read annotation"):
        read_voc_boxes(tmp_path / "nope")


def test_annotation_path_maps_images_to_annotation():
    image = Path("data/stanford-dogs/Images/n02085620-Chihuahua/n02085620_7.jpg")
    expected = Path("data/stanford-dogs/Annotation/n02085620-Chihuahua/n02085620_7")
    assert annotation_path(image) == expected
    assert annotation_path(image, "elsewhere") == Path("elsewhere/n02085620-Chihuahua/n02085620_7")


@pytest.mark.parametrize(
    "box, size, expected",
    [
        ((50, 80, 150, 120), (300, 200), (50, 50, 150, 150)),  # wide box: grows vertically
        ((100, 20, 140, 180), (300, 200), (40, 20, 200, 180)),  # tall box: grows horizontally
        ((0, 0, 60, 20), (300, 200), (0, 0, 60, 60)),  # top-left edge: pushed down into the image
        ((280, 150, 300, 200), (300, 200), (250, 150, 300, 200)),  # bottom-right edge: pushed left
        ((20, 10, 280, 190), (300, 200), (50, 0, 250, 200)),  # wider than the short side: side = 200
        ((5, 5, 195, 295), (200, 300), (0, 50, 200, 250)),  # taller than the short side: side = 200
    ],
    ids=["wide", "tall", "top-left-edge", "bottom-right-edge", "too-wide", "too-tall"],
)
def test_square_box(box, size, expected):
    assert square_box(box, *size) == expected


def test_square_box_always_fits_and_covers_the_box_when_possible():
    rng = random.Random(0)
    for _ in range(500):
        width, height = rng.randint(1, 400), rng.randint(1, 400)
        x0, x1 = sorted(rng.sample(range(width + 1), 2))
        y0, y1 = sorted(rng.sample(range(height + 1), 2))
        left, top, right, bottom = square_box((x0, y0, x1, y1), width, height)
        side = right - left
        assert bottom - top == side == min(max(x1 - x0, y1 - y0), width, height)
        assert 0 <= left and right <= width and 0 <= top and bottom <= height
        if max(x1 - x0, y1 - y0) <= min(width, height):
            assert left <= x0 and x1 <= right and top <= y0 and y1 <= bottom


def test_square_box_rejects_empty_box():
    with pytest.raises(GanLibError, match="empty box"):
        square_box((10, 10, 10, 20), 100, 100)
