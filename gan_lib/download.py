"""Download the dog photo datasets: resumable HTTP with progress, verification and safe tar extraction."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .boxes import annotations_beside
from .errors import GanLibError

BASE_URL_ENV = "GAN_DOWNLOAD_URL"  # replaces a dataset's base URL (a mirror, or a test server)
TIMEOUT_S = 30.0  # per socket operation, not for the whole download
CHUNK_BYTES = 1 << 20
MARKER = ".gan_lib_complete"  # written inside a dataset folder once it is fully extracted


@dataclass(frozen=True)
class RemoteFile:
    """One archive on the server; size and sha256 are checked when known."""

    name: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives online and how its extracted folder is laid out."""

    name: str
    base_url: str
    files: tuple[RemoteFile, ...]
    folder: str  # dataset folder under root, e.g. "imagewoof2-320"
    archive_dir: str  # folder inside the extracted archives that becomes `folder` ("" = all of it)
    images_subdir: str  # class folders of photos, relative to `folder`
    annotations_subdir: str | None = None


@dataclass(frozen=True)
class DatasetPaths:
    """Where an extracted dataset is: class-folder images and, for Stanford Dogs, VOC annotations."""

    name: str
    root: Path  # the dataset folder, e.g. data/imagewoof2-320
    images_dir: Path  # one sub-folder per breed, photos inside
    annotations_dir: Path | None  # Stanford Dogs only: same breed folders, one VOC XML per photo


DATASETS: dict[str, DatasetSpec] = {
    # fast.ai's ImageWoof2, 320 px shorter side: 10 breeds, 9,025 train + 3,929 val photos.
    # No size or sha256 is enforced: published values disagree (fastai's checks.txt lists
    # 328387740 bytes, TensorFlow Datasets' checksum file 328288506 bytes), so the archive was
    # re-uploaded at least once. Integrity rests on the server's Content-Length and on every
    # member of the archive reading back completely during extraction.
    "imagewoof": DatasetSpec(
        name="imagewoof",
        base_url="https://s3.amazonaws.com/fast-ai-imageclas",
        files=(RemoteFile("imagewoof2-320.tgz"),),
        folder="imagewoof2-320",
        archive_dir="imagewoof2-320",
        images_subdir="train",
    ),
    # Stanford Dogs: 120 breeds, 20,580 photos with bounding boxes. Sizes and sha256 are the
    # ones TensorFlow Datasets verifies on every download (url_checksums/stanford_dogs.txt);
    # the files have not changed since the dataset's 2011 release.
    "stanford-dogs": DatasetSpec(
        name="stanford-dogs",
        base_url="http://vision.stanford.edu/aditya86/ImageNetDogs",
        files=(
            RemoteFile(
                "images.tar",
                793579520,
                "a443fc2f9a851aa1a7b8e4fa4af94b8459fce2c9f5a2f4dd4669cf9673a4ec58",
            ),
            RemoteFile(
                "annotation.tar",
                21852160,
                "662ed36f707be6b195c2fda392d8e153e83af28cedc8e2134a649f198def30fd",
            ),
        ),
        folder="stanford-dogs",
        archive_dir="",
        images_subdir="Images",
        annotations_subdir="Annotation",
    ),
}
DEFAULT_DATASET = "imagewoof"


# ---------------------------------------------------------------- datasets


def get_spec(name: str) -> DatasetSpec:
    """The DatasetSpec for a dataset name, or a GanLibError listing the valid names."""
    if name not in DATASETS:
        valid = ", ".join(sorted(DATASETS))
        raise GanLibError(f"Unknown dataset {name!r}; choose one of: {valid}.")
    return DATASETS[name]


def dataset_paths(name: str, root: Path | str = "data") -> DatasetPaths:
    """Where dataset `name` is (or will be) under `root`; does not touch the disk."""
    spec = get_spec(name)
    folder = Path(root) / spec.folder
    annotations = folder / spec.annotations_subdir if spec.annotations_subdir else None
    return DatasetPaths(spec.name, folder, folder / spec.images_subdir, annotations)


def base_url_for(spec: DatasetSpec, base_url: str | None = None) -> str:
    """The base URL to use: the argument, else $GAN_DOWNLOAD_URL, else the dataset's own."""
    return (base_url or os.environ.get(BASE_URL_ENV) or spec.base_url).rstrip("/")


def ensure_dataset(
    name: str = DEFAULT_DATASET,
    root: Path | str = "data",
    base_url: str | None = None,
    keep_archives: bool = True,
) -> DatasetPaths:
    """Download and extract dataset `name` under `root` unless already done; return its paths."""
    spec = get_spec(name)
    root = Path(root)
    paths = dataset_paths(name, root)
    if (paths.root / MARKER).is_file():
        return paths
    if paths.root.exists():
        raise GanLibError(
            f"{paths.root} exists but was not completely extracted by gan_lib; delete it and run "
            f"again, or point GAN_DATA / --data at an image folder such as {paths.images_dir}."
        )
    root.mkdir(parents=True, exist_ok=True)
    base = base_url_for(spec, base_url)
    hint = (
        f"Check your connection, set {BASE_URL_ENV} to a mirror, or download it by hand into "
        f"{root}/ and point GAN_DATA / --data at an image folder."
    )
    archives = [
        download_file(f"{base}/{f.name}", root / f.name, f.size, f.sha256, desc=f.name, hint=hint)
        for f in spec.files
    ]
    _extract_dataset(spec, archives, paths)
    if not keep_archives:
        for archive in archives:
            archive.unlink()
    return paths


def _extract_dataset(spec: DatasetSpec, archives: list[Path], paths: DatasetPaths) -> None:
    """Extract archives into a temp folder, check the layout, then rename it into place."""
    tmp = paths.root.parent / f".{spec.name}.extracting"
    shutil.rmtree(tmp, ignore_errors=True)  # leftovers of an earlier crash
    tmp.mkdir()
    try:
        for archive in archives:
            extract_archive(archive, tmp)
        built = tmp / spec.archive_dir if spec.archive_dir else tmp
        images = built / spec.images_subdir
        if not images.is_dir():
            names = ", ".join(str(a) for a in archives)
            raise GanLibError(
                f"{names} did not contain {spec.archive_dir or '.'}/{spec.images_subdir}/, so it is "
                f"not the {spec.name} dataset; delete it and run again."
            )
        (built / MARKER).write_text("complete\n")
        os.replace(built, paths.root)  # atomic: the dataset folder appears complete or not at all
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- download


def download_file(
    url: str,
    dest: Path | str,
    expected_size: int | None = None,
    sha256: str | None = None,
    desc: str | None = None,
    hint: str | None = None,
) -> Path:
    """Download `url` to `dest` (resuming `dest.part`), verify size/sha256, then rename into place."""
    dest = Path(dest)
    hint = hint or f"Check your connection, or download it by hand to {dest}."
    if dest.exists():
        problem = _verify(dest, expected_size, sha256)
        if problem:
            raise GanLibError(f"{dest} is not the expected file ({problem}); delete it and run again.")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if not _fetch(url, part, expected_size, desc or dest.name, hint):
        part.unlink()  # the server refused to resume it (HTTP 416): start from scratch
        _fetch(url, part, expected_size, desc or dest.name, hint)
    problem = _verify(part, expected_size, sha256)
    if problem:
        part.unlink()  # a wrong file must not be resumed nor kept
        raise GanLibError(
            f"Downloaded {dest.name} from {url} is corrupt ({problem}); it was deleted. "
            f"Run again, or set {BASE_URL_ENV} to another mirror."
        )
    os.replace(part, dest)
    return dest


def _fetch(url: str, part: Path, expected_size: int | None, desc: str, hint: str) -> bool:
    """Stream `url` into `part`, resuming it; False if the server refused the Range (416)."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset >= expected_size:
        if offset == expected_size:
            return True  # finished earlier but not yet verified
        part.unlink()
        offset = 0
    name = part.name.removesuffix(".part")
    request = urllib.request.Request(url, headers={"User-Agent": "gan_lib"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            offset, total = _resume_point(response, offset)
            if expected_size is not None and total is not None and total != expected_size:
                raise GanLibError(
                    f"{url} is {total} bytes but {name} should be {expected_size}; the server "
                    f"serves a different file. Set {BASE_URL_ENV} to another mirror."
                )
            received = _stream(response, part, offset, total, desc)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            return False
        raise _network_error(name, url, f"HTTP {e.code} {e.reason}", hint) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as e:
        done = part.stat().st_size if part.exists() else 0
        reason = _one_line(getattr(e, "reason", None) or e)
        if done:
            reason = f"{reason} after {done} bytes; run again to resume"
        raise _network_error(name, url, reason, hint) from None
    if total is not None and received < total:
        raise _network_error(
            name, url, f"connection closed after {received} of {total} bytes; run again to resume", hint
        )
    return True


def _resume_point(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """Where the response body starts in the file and the file's total size, if known."""
    header = response.headers.get("Content-Length", "")
    length = int(header) if header.isdigit() else None
    if response.status == 206:
        match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
        if match and int(match.group(1)) == offset:
            total = match.group(2)
            return offset, int(total) if total != "*" else (offset + length if length else None)
        raise http.client.HTTPException("the server answered with an unexpected byte range")
    return 0, length  # 200: the server ignored our Range, so start over


def _stream(response: http.client.HTTPResponse, part: Path, offset: int, total: int | None, desc: str) -> int:
    """Append the body to `part` (truncating it when offset is 0) with a progress bar."""
    received = offset
    with open(part, "ab" if offset else "wb") as f, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=desc
    ) as bar:
        while chunk := response.read(CHUNK_BYTES):
            f.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    return received


def _verify(path: Path, expected_size: int | None, sha256: str | None) -> str | None:
    """A description of why `path` is not the expected file, or None if it checks out."""
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        return f"{size} bytes, expected {expected_size}"
    if sha256 is not None:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                digest.update(chunk)
        if digest.hexdigest() != sha256.lower():
            return f"sha256 {digest.hexdigest()}, expected {sha256.lower()}"
    return None


def _network_error(name: str, url: str, reason: object, hint: str) -> GanLibError:
    """The one-line error for a failed download."""
    return GanLibError(f"Could not download {name} from {url}: {_one_line(reason)}. {hint}")


def _one_line(reason: object) -> str:
    """An exception or reason as one line of text, never empty."""
    text = " ".join(str(reason).split())
    return text or type(reason).__name__


# ---------------------------------------------------------------- extraction


def extract_archive(archive: Path | str, target: Path | str) -> None:
    """Extract a tar archive into `target`, refusing members that would land outside it.

    On error `target` may hold part of the archive: extract into a fresh folder (as
    ensure_dataset does) and delete it on failure.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    # tarfile's own "data" filter (3.12, backported to 3.11.4) is a second line of defence.
    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:  # streamed, so a .tgz is decompressed only once
                _check_member(member, target)
                tar.extract(member, target, set_attrs=False, **extra)
    except getattr(tarfile, "FilterError", ()) as e:
        raise GanLibError(f"{archive.name} has an unsafe member ({e}); refusing to extract it.") from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        # Truncated or damaged data; a plain OSError (e.g. a full disk) is not caught here.
        raise GanLibError(
            f"{archive.name} is corrupt or incomplete ({_one_line(e)}); "
            f"delete {archive} and run again to download a fresh copy."
        ) from None


def _check_member(member: tarfile.TarInfo, target: Path) -> None:
    """Raise GanLibError if extracting `member` could write or point outside `target`."""
    name = member.name
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise GanLibError(f"Archive member {name!r} is a device or special file; refusing to extract it.")
    if os.path.isabs(name) or name.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", name):
        raise GanLibError(f"Archive member {name!r} would be written outside {target}; refusing to extract it.")
    root = os.path.realpath(target)
    # realpath follows links extracted earlier, so a path through an in-archive symlink is caught.
    if not _inside(os.path.realpath(os.path.join(root, name)), root):
        raise GanLibError(f"Archive member {name!r} would be written outside {target}; refusing to extract it.")
    if member.issym() or member.islnk():
        base = os.path.dirname(os.path.join(root, name)) if member.issym() else root
        link = os.path.realpath(os.path.join(base, member.linkname))
        if os.path.isabs(member.linkname) or not _inside(link, root):
            raise GanLibError(
                f"Archive member {name!r} links to {member.linkname!r} outside {target}; refusing to extract it."
            )


def _inside(path: str, root: str) -> bool:
    """True if `path` is `root` or below it (both already resolved)."""
    return os.path.commonpath([path, root]) == root


def locate_photos(data: str | os.PathLike | None = None, dataset: str | None = None,
                  root: Path | str | None = None) -> tuple[Path, Path | None]:
    """Where to read dog photos from: `data`, else $GAN_DATA, else `dataset` (downloaded when missing).

    Returns the class-folder image directory and, for Stanford Dogs, its annotation directory.
    """
    folder = data or (os.environ.get("GAN_DATA") if not dataset else None)
    if folder:
        folder = Path(folder).expanduser()
        annotations = annotations_beside(folder)  # a Stanford Dogs Images/ folder brings its boxes
        return folder, annotations if folder.name == "Images" and annotations.is_dir() else None
    if root is None:
        from .data import default_data_root

        root = default_data_root()
    paths = ensure_dataset(dataset or DEFAULT_DATASET, root)
    return paths.images_dir, paths.annotations_dir
