"""Stanford Dogs bounding boxes: read the Pascal-VOC annotations and turn boxes into square crops."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .errors import GanLibError

# (xmin, ymin, xmax, ymax) in pixels, used like PIL's crop box: width = xmax - xmin.
Box = tuple[int, int, int, int]


def annotations_beside(images_dir: Path | str) -> Path:
    """Where Stanford Dogs keeps the boxes of an Images/ folder: its sibling Annotation/."""
    return Path(images_dir).parent / "Annotation"


def annotation_path(image_path: Path | str, annotations_dir: Path | str | None = None) -> Path:
    """The VOC file of a Stanford Dogs photo: Images/<breed>/<stem>.jpg -> Annotation/<breed>/<stem>."""
    image_path = Path(image_path)
    if annotations_dir is None:
        annotations_dir = annotations_beside(image_path.parent.parent)
    return Path(annotations_dir) / image_path.parent.name / image_path.stem


def _parse(path: Path | str) -> ET.Element:
    """The root element of a VOC file; GanLibError if it is missing or not XML."""
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        raise GanLibError(f"Cannot read annotation {path}: {e}. Re-extract the dataset or delete this file.") from None


def _number(element: ET.Element, tag: str, path: Path | str) -> int:
    """The integer in child `tag` (VOC sometimes writes '71.0'); GanLibError if absent."""
    text = element.findtext(tag)
    try:
        return round(float(text))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise GanLibError(f"Annotation {path} has no valid <{tag}> ({text!r}); fix or delete this file.") from None


def read_voc_boxes(path: Path | str) -> list[Box]:
    """All <object> bounding boxes in a VOC file.

    Malformed files (not XML, a missing or non-numeric coordinate) raise GanLibError naming the
    file; boxes with zero or negative width or height are dropped because nothing can be cropped.
    """
    boxes = []
    for obj in _parse(path).iter("object"):
        bndbox = obj.find("bndbox")
        if bndbox is None:
            raise GanLibError(f"Annotation {path} has an <object> without <bndbox>; fix or delete this file.")
        box = tuple(_number(bndbox, tag, path) for tag in ("xmin", "ymin", "xmax", "ymax"))
        if box[2] > box[0] and box[3] > box[1]:
            boxes.append(box)
    return boxes  # type: ignore[return-value]


def square_box(box: Box, width: int, height: int) -> Box:
    """The square around the box's centre with side max(w, h), moved inside a width x height image.

    If that side is longer than the image's shorter side it shrinks to the shorter side, so the
    square still fits and stays as close to the box as possible.

    Taught in notebook 01.
    """
    xmin, ymin, xmax, ymax = box
    if xmax <= xmin or ymax <= ymin or width <= 0 or height <= 0:
        raise GanLibError(f"empty box {box} or image size {width}x{height}: fix or delete this annotation")
    side = min(max(xmax - xmin, ymax - ymin), width, height)
    left = _clamp((xmin + xmax - side) // 2, 0, width - side)
    top = _clamp((ymin + ymax - side) // 2, 0, height - side)
    return left, top, left + side, top + side


def _clamp(value: int, low: int, high: int) -> int:
    """`value` limited to [low, high]."""
    return max(low, min(value, high))
