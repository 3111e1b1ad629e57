"""Tests for gan_lib.download against a local HTTP server serving archives built here."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import random
import tarfile
from pathlib import Path

import pytest
from PIL import Image

from gan_lib import download
from gan_lib.boxes import annotation_path, read_voc_boxes
from gan_lib.download import DatasetPaths, download_file, ensure_dataset, extract_archive
from gan_lib.errors import GanLibError
from http_server import FileServer, closed_port_url

# ---------------------------------------------------------------- helpers and fixtures


@pytest.fixture
def photos() -> dict[str, list[Path]]:
    """Three real photos from each of two breeds in $GAN_DATA, keyed by wnid folder."""
    root = os.environ.get("GAN_DATA")
    if not root:
        pytest.skip("GAN_DATA is not set: point it at a folder of breed sub-folders with photos")
    breeds = sorted(p for p in Path(root).iterdir() if p.is_dir())[:2]
    return {b.name: sorted(b.glob("*.jp*g"))[:3] for b in breeds}


@pytest.fixture
def server():
    """A running FileServer, stopped after the test."""
    with FileServer() as s:
        yield s


def tar_bytes(entries: list[tuple[str, bytes]], mode: str = "w:gz") -> bytes:
    """A tar archive (gzip-compressed for mode 'w:gz') holding the given files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def random_bytes(n: int, seed: int = 0) -> bytes:
    """Deterministic incompressible bytes."""
    return random.Random(seed).randbytes(n)


def use_files(monkeypatch: pytest.MonkeyPatch, name: str, served: dict[str, bytes]) -> None:
    """Make dataset `name` expect exactly the test's archives (size and sha256)."""
    spec = download.DATASETS[name]
    files = tuple(
        download.RemoteFile(f.name, len(served[f.name]), hashlib.sha256(served[f.name]).hexdigest())
        for f in spec.files
    )
    monkeypatch.setitem(download.DATASETS, name, dataclasses.replace(spec, files=files))


def imagewoof_tgz(photos: dict[str, list[Path]]) -> bytes:
    """An imagewoof2-320.tgz in fast.ai's layout made of real photos."""
    entries = [("imagewoof2-320/noisy_imagewoof.csv", b"path,noisy_labels_0,is_valid\n")]
    for wnid, files in photos.items():
        for i, photo in enumerate(files):
            split = "val" if i == 0 else "train"  # one photo per breed in val, the rest in train
            entries.append((f"imagewoof2-320/{split}/{wnid}/{photo.stem}.JPEG", photo.read_bytes()))
    return tar_bytes(entries)


def voc_xml(folder: str, stem: str, width: int, height: int, boxes: list[tuple[int, int, int, int]]) -> bytes:
    """A Pascal-VOC annotation in the Stanford Dogs style."""
    objects = "".join(
        f"<object><name>dog</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
        f"<bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for b in boxes
    )
    return (
        f"<annotation><folder>{folder}</folder><filename>{stem}</filename>"
        f"<source><database>ImageNet database</database></source>"
        f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"
        f"<segment>0</segment>{objects}</annotation>"
    ).encode()


# ---------------------------------------------------------------- datasets end to end


def test_imagewoof_download_extract_and_second_call_is_instant(photos, server, tmp_path, monkeypatch):
    archive = imagewoof_tgz(photos)
    server.files["imagewoof2-320.tgz"] = archive
    use_files(monkeypatch, "imagewoof", server.files)
    monkeypatch.setenv("GAN_DOWNLOAD_URL", server.url)
    root = tmp_path / "data"

    paths = ensure_dataset("imagewoof", root)

    assert paths == DatasetPaths("imagewoof", root / "imagewoof2-320", root / "imagewoof2-320" / "train", None)
    assert server.requests == [("/imagewoof2-320.tgz", None)]
    assert sorted(p.name for p in paths.images_dir.iterdir()) == sorted(photos)
    for wnid, files in photos.items():
        for photo in files[1:]:
            assert (paths.images_dir / wnid / f"{photo.stem}.JPEG").read_bytes() == photo.read_bytes()
        assert (paths.root / "val" / wnid / f"{files[0].stem}.JPEG").is_file()
    assert (root / "imagewoof2-320.tgz").read_bytes() == archive
    assert sorted(p.name for p in root.iterdir()) == ["imagewoof2-320", "imagewoof2-320.tgz"]  # no temp left

    monkeypatch.setenv("GAN_DOWNLOAD_URL", closed_port_url())  # a second call must not need the network
    assert ensure_dataset("imagewoof", root) == paths
    assert len(server.requests) == 1


def test_stanford_dogs_downloads_both_archives(photos, server, tmp_path, monkeypatch):
    images, annotations, expected = [], [], {}
    for k, (wnid, files) in enumerate(photos.items()):
        breed = f"{wnid}-Breed_{k}"
        for i, photo in enumerate(files):
            stem = f"{wnid}_{i}"
            width, height = Image.open(photo).size
            box = (i, 2 * i, width - i, height - 1)
            images.append((f"Images/{breed}/{stem}.jpg", photo.read_bytes()))
            annotations.append((f"Annotation/{breed}/{stem}", voc_xml(wnid, stem, width, height, [box])))
            expected[f"{breed}/{stem}.jpg"] = (photo.read_bytes(), (width, height), box)
    server.files["images.tar"] = tar_bytes(images, mode="w")
    server.files["annotation.tar"] = tar_bytes(annotations, mode="w")
    use_files(monkeypatch, "stanford-dogs", server.files)
    monkeypatch.setenv("GAN_DOWNLOAD_URL", closed_port_url())  # the argument wins over the env var

    paths = ensure_dataset("stanford-dogs", tmp_path, base_url=server.url + "/")

    assert paths.images_dir == tmp_path / "stanford-dogs" / "Images"
    assert paths.annotations_dir == tmp_path / "stanford-dogs" / "Annotation"
    assert sorted(path for path, _ in server.requests) == ["/annotation.tar", "/images.tar"]
    found = sorted(paths.images_dir.glob("*/*.jpg"))
    assert len(found) == len(expected) == 6
    for image in found:
        data, size, box = expected[f"{image.parent.name}/{image.name}"]
        assert image.read_bytes() == data
        assert annotation_path(image) == annotation_path(image, paths.annotations_dir)  # Annotation/ beside Images/
        assert read_voc_boxes(annotation_path(image, paths.annotations_dir)) == [box]
    assert ensure_dataset("stanford-dogs", tmp_path) == paths
    assert len(server.requests) == 2


def test_unknown_dataset_lists_valid_names(tmp_path):
    with pytest.raises(GanLibError, match="imagewoof, stanford-dogs"):
        ensure_dataset("cats", tmp_path)


def test_existing_folder_without_marker_is_not_trusted(tmp_path):
    (tmp_path / "imagewoof2-320" / "train").mkdir(parents=True)
    with pytest.raises(GanLibError, match="not completely extracted"):
        ensure_dataset("imagewoof", tmp_path)


def test_notebooks_without_gan_data_download_into_gan_home_once(server, tmp_path, monkeypatch):
    """As on Colab with Drive mounted: no GAN_DATA, GAN_HOME set; running the cell again downloads nothing."""
    jpeg = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 80, 40)).save(jpeg, "JPEG")
    server.files["imagewoof2-320.tgz"] = tar_bytes([("imagewoof2-320/train/n02086240/a.JPEG", jpeg.getvalue())])
    use_files(monkeypatch, "imagewoof", server.files)
    monkeypatch.setenv("GAN_DOWNLOAD_URL", server.url)
    monkeypatch.delenv("GAN_DATA", raising=False)
    monkeypatch.setenv("GAN_HOME", str(tmp_path / "drive" / "gan_course"))

    first = download.locate_photos()  # what the notebooks call
    again = download.locate_photos(None, "imagewoof")

    assert first == again == (tmp_path / "drive" / "gan_course" / "imagewoof2-320" / "train", None)
    assert (first[0] / "n02086240" / "a.JPEG").read_bytes() == jpeg.getvalue()
    assert server.requests == [("/imagewoof2-320.tgz", None)]  # fetched once


# ---------------------------------------------------------------- resumable download


def test_interrupted_download_resumes_with_range(server, tmp_path):
    payload = random_bytes(300_000)
    server.files["big.bin"] = payload
    server.cut_after["big.bin"] = 100_000
    dest = tmp_path / "big.bin"
    part = tmp_path / "big.bin.part"

    with pytest.raises(GanLibError, match="after 100000 of 300000 bytes; run again to resume"):
        download_file(f"{server.url}/big.bin", dest)
    assert not dest.exists()
    assert part.read_bytes() == payload[:100_000]

    sha = hashlib.sha256(payload).hexdigest()
    assert download_file(f"{server.url}/big.bin", dest, len(payload), sha) == dest
    assert server.requests[-1] == ("/big.bin", "bytes=100000-")
    assert dest.read_bytes() == payload
    assert not part.exists()


def test_server_ignoring_range_starts_over(server, tmp_path):
    payload = random_bytes(50_000)
    server.files["f.bin"] = payload
    server.ignore_range = True
    (tmp_path / "f.bin.part").write_bytes(b"junk" * 1000)  # not a prefix of the file

    download_file(f"{server.url}/f.bin", tmp_path / "f.bin")

    assert server.requests == [("/f.bin", "bytes=4000-")]
    assert (tmp_path / "f.bin").read_bytes() == payload


def test_part_longer_than_file_restarts_after_416(server, tmp_path):
    payload = random_bytes(1000)
    server.files["f.bin"] = payload
    (tmp_path / "f.bin.part").write_bytes(b"x" * 5000)

    download_file(f"{server.url}/f.bin", tmp_path / "f.bin")

    assert server.requests == [("/f.bin", "bytes=5000-"), ("/f.bin", None)]
    assert (tmp_path / "f.bin").read_bytes() == payload


@pytest.mark.parametrize(
    "size_delta, sha, message",
    [(0, "0" * 64, "corrupt \\(sha256 "), (1, None, "is 1000 bytes but f.bin should be 1001")],
)
def test_verification_failure_keeps_no_file(server, tmp_path, size_delta, sha, message):
    server.files["f.bin"] = random_bytes(1000)
    dest = tmp_path / "f.bin"
    with pytest.raises(GanLibError, match=message):
        download_file(f"{server.url}/f.bin", dest, expected_size=1000 + size_delta, sha256=sha)
    assert not dest.exists()
    assert not (tmp_path / "f.bin.part").exists()


def test_existing_file_with_wrong_checksum_is_reported(tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"hello")
    with pytest.raises(GanLibError, match="not the expected file .*delete it"):
        download_file("http://127.0.0.1:9/f.bin", dest, sha256=hashlib.sha256(b"other").hexdigest())
    assert download_file("http://127.0.0.1:9/f.bin", dest, 5, hashlib.sha256(b"hello").hexdigest()) == dest


def test_checksum_mismatch_in_dataset_leaves_nothing(server, tmp_path, monkeypatch):
    good = tar_bytes([("imagewoof2-320/train/n1/a.JPEG", b"jpeg")])
    server.files["imagewoof2-320.tgz"] = good
    tampered = good[:-1] + bytes([good[-1] ^ 1])  # same size, different bytes
    use_files(monkeypatch, "imagewoof", {"imagewoof2-320.tgz": tampered})
    with pytest.raises(GanLibError, match="imagewoof2-320.tgz from .* is corrupt \\(sha256 "):
        ensure_dataset("imagewoof", tmp_path, base_url=server.url)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- network errors


def test_offline_gives_one_line_error(tmp_path, monkeypatch):
    url = closed_port_url()
    monkeypatch.setenv("GAN_DOWNLOAD_URL", url)
    with pytest.raises(GanLibError) as info:
        ensure_dataset("imagewoof", tmp_path / "data")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"Could not download imagewoof2-320.tgz from {url}/imagewoof2-320.tgz: ")
    assert "refused" in message.lower()
    assert "GAN_DOWNLOAD_URL" in message and "GAN_DATA" in message
    assert not (tmp_path / "data" / "imagewoof2-320.tgz.part").exists()


def test_http_error_is_reported(server, tmp_path):
    with pytest.raises(GanLibError, match="missing.bin .*: HTTP 404 "):
        download_file(f"{server.url}/missing.bin", tmp_path / "missing.bin")


# ---------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(tar_bytes([("imagewoof2-320/train/n1/a.JPEG", random_bytes(20_000))])[:-3000], id="truncated"),
        pytest.param(b"<html>Service unavailable</html>", id="not-an-archive"),
    ],
)
def test_corrupt_archive_is_rejected_and_nothing_marked_done(server, tmp_path, monkeypatch, archive):
    server.files["imagewoof2-320.tgz"] = archive
    monkeypatch.setenv("GAN_DOWNLOAD_URL", server.url)
    with pytest.raises(GanLibError, match="imagewoof2-320.tgz is corrupt or incomplete .*delete .* run again"):
        ensure_dataset("imagewoof", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imagewoof2-320.tgz"]

    # After deleting the bad archive as told, a good download completes.
    (tmp_path / "imagewoof2-320.tgz").unlink()
    server.files["imagewoof2-320.tgz"] = tar_bytes([("imagewoof2-320/train/n1/a.JPEG", b"jpeg")])
    paths = ensure_dataset("imagewoof", tmp_path)
    assert (paths.images_dir / "n1" / "a.JPEG").read_bytes() == b"jpeg"


def test_archive_without_expected_layout_is_rejected(server, tmp_path):
    server.files["imagewoof2-320.tgz"] = tar_bytes([("something/else.txt", b"x")])
    with pytest.raises(GanLibError, match="did not contain imagewoof2-320/train/"):
        ensure_dataset("imagewoof", tmp_path, base_url=server.url)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imagewoof2-320.tgz"]


def unsafe_members(outside: Path) -> dict[str, list[tarfile.TarInfo]]:
    """Archives (as member lists) that each try to reach `outside`, which is not in the target."""

    def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        info.size = 4 if kind == tarfile.REGTYPE else 0
        return info

    return {
        "dotdot": [member("../evil.txt")],
        "nested-dotdot": [member("ok/../../evil.txt")],
        "absolute": [member(str(outside / "evil.txt"))],
        "symlink-out": [member("link", tarfile.SYMTYPE, "../../outside"), member("link/evil.txt")],
        "symlink-absolute": [member("link", tarfile.SYMTYPE, str(outside))],
        "symlink-chain": [member("a", tarfile.SYMTYPE, "."), member("b", tarfile.SYMTYPE, "a/..")],
        "hardlink-out": [member("hard", tarfile.LNKTYPE, "../outside/evil.txt")],
        "device": [member("dev", tarfile.CHRTYPE)],
    }


@pytest.mark.parametrize("stdlib_filter", [True, False], ids=["with-tarfile-filter", "own-checks-only"])
@pytest.mark.parametrize("case", list(unsafe_members(Path("/x"))))
def test_unsafe_members_are_rejected(tmp_path, monkeypatch, case, stdlib_filter):
    if not stdlib_filter:  # as on Python < 3.11.4, where tarfile has no extraction filters
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.txt").write_bytes(b"keep")  # hardlink target; must stay untouched
    target = tmp_path / "a" / "target"
    archive = tmp_path / "bad.tar"
    with tarfile.open(archive, "w") as tar:
        tar.addfile(tarfile.TarInfo("first.txt"))
        for info in unsafe_members(outside)[case]:
            tar.addfile(info, io.BytesIO(b"evil") if info.size else None)

    with pytest.raises(GanLibError, match="refusing to extract"):
        extract_archive(archive, target)

    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}
    assert written <= {"outside", "outside/evil.txt", "bad.tar", "a", "a/target", "a/target/first.txt", "a/target/a"}
    assert (outside / "evil.txt").read_bytes() == b"keep"


def test_traversal_in_dataset_archive_leaves_nothing(server, tmp_path):
    server.files["imagewoof2-320.tgz"] = tar_bytes(
        [("imagewoof2-320/train/n1/a.JPEG", b"jpeg"), ("../evil.txt", b"evil")]
    )
    root = tmp_path / "data"
    with pytest.raises(GanLibError, match="'../evil.txt' would be written outside"):
        ensure_dataset("imagewoof", root, base_url=server.url)
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")] == ["data", "data/imagewoof2-320.tgz"]


def test_safe_links_inside_the_target_are_extracted(tmp_path):
    archive = tmp_path / "ok.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("dir/a.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("dir/link.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "a.txt"
        tar.addfile(link)
    extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out" / "dir" / "link.txt").read_bytes() == b"hi"
