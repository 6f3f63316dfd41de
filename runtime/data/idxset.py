"""A folder holding the four IDX files of an image set: find them, then read
and verify them (SHA-256 of the decompressed payload, shapes, counts)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError
from .idx import parse_idx, read_payload
from .registry import IDX_STEMS, Entry, IdxFile


@dataclass
class IdxSet:
    """The four arrays of an image set and where they came from.
    `verified`: True when every payload matched a known SHA-256, None when
    only sizes and magic numbers could be checked."""
    directory: Path
    arrays: dict[str, np.ndarray]
    paths: dict[str, Path]
    verified: bool | None
    sha256: dict[str, str] = field(default_factory=dict)


def find_files(directory: Path) -> tuple[dict[str, Path], list[str]]:
    """Map each IDX stem to its file in `directory` (raw or .gz); also the
    stems that are missing."""
    found, missing = {}, []
    for stem in IDX_STEMS:
        # Raw first: it is faster to read when someone has unpacked the files.
        path = next((p for p in (directory / stem, directory / f"{stem}.gz") if p.is_file()), None)
        if path is None:
            missing.append(stem)
        else:
            found[stem] = path
    return found, missing


def check_payload(spec: IdxFile | None, payload: bytes, path: Path) -> tuple[np.ndarray, str]:
    """Parse `payload` and compare it with what the registry expects;
    returns the array and the payload's SHA-256."""
    digest = hashlib.sha256(payload).hexdigest()
    if spec is not None and spec.sha256 is not None and digest != spec.sha256:
        raise DataError(
            f"{path}: checksum mismatch for {spec.stem}: SHA-256 of the decompressed "
            f"data is {digest}, expected {spec.sha256} (a corrupt or different file)")
    array = parse_idx(payload, path)
    if spec is not None and array.shape != spec.shape:
        raise DataError(
            f"{path}: wrong dimensions for {spec.stem}: {_dims(array.shape)}, "
            f"expected {_dims(spec.shape)}")
    return array, digest


def read_file(entry: Entry | None, stem: str, path: Path) -> tuple[np.ndarray, str]:
    """Read and check one file of `entry` (None: a folder with no known files)."""
    spec = entry.file(stem) if entry is not None and entry.files else None
    return check_payload(spec, read_payload(path), path)


def read_set(directory: Path, entry: Entry | None = None) -> IdxSet:
    """Read the four files in `directory`, checking each and their agreement."""
    found, missing = find_files(directory)
    if missing:
        raise DataError(f"{directory}: missing {', '.join(s + '[.gz]' for s in missing)}")
    arrays, digests = {}, {}
    for stem, path in found.items():
        arrays[stem], digests[stem] = read_file(entry, stem, path)
    _check_agreement(arrays, found)
    known = entry is not None and all(f.sha256 for f in entry.files)
    return IdxSet(directory, arrays, found, True if known else None, digests)


def _check_agreement(arrays: dict[str, np.ndarray], paths: dict[str, Path]) -> None:
    # A folder of arbitrary IDX files has no registry shapes to compare with,
    # so check what any image set must satisfy: N images of HxW, N labels.
    for part in ("train", "t10k"):
        images = arrays[f"{part}-images-idx3-ubyte"]
        labels = arrays[f"{part}-labels-idx1-ubyte"]
        image_path = paths[f"{part}-images-idx3-ubyte"]
        label_path = paths[f"{part}-labels-idx1-ubyte"]
        if images.ndim != 3:
            raise DataError(f"{image_path}: images must have 3 dimensions (N, H, W), "
                            f"got {_dims(images.shape)}")
        if labels.ndim != 1:
            raise DataError(f"{label_path}: labels must have 1 dimension (N), "
                            f"got {_dims(labels.shape)}")
        if len(images) != len(labels):
            raise DataError(f"{image_path.parent}: {len(images)} {part} images "
                            f"but {len(labels)} labels")
    train = arrays["train-images-idx3-ubyte"].shape[1:]
    test = arrays["t10k-images-idx3-ubyte"].shape[1:]
    if train != test:
        raise DataError(f"{paths['t10k-images-idx3-ubyte']}: test images are {_dims(test)}, "
                        f"training images {_dims(train)}")


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))
