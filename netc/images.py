"""Image files for `netc predict` -> float32 arrays scaled to 0-1, every format
the same way: 8-bit pixels / 255, 16-bit / 65535, a PGM's by its maxval;
float .npy arrays are taken as they are. A file that cannot be an image for
the network is a NetcDataError naming the file and what is wrong."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from netc.errors import NetcDataError
from netc.files import check_regular


def read_images(path: Path, shape) -> np.ndarray:
    """(K, *shape): one image, or K of them from a batch .npy."""
    path = Path(path)
    check_regular(path)
    if path.suffix.lower() == ".npy":
        array = _scaled(path, _read_npy(path))
    elif _is_pgm(path):
        array = _read_pgm(path)
    else:
        array = _read_picture(path, channels=shape[0] if len(shape) == 3 else 1)
    return _fit(path, array, tuple(shape))


def _scaled(path: Path, array: np.ndarray) -> np.ndarray:
    """Numbers in 0-1: integers as 8-bit pixels, floats as they are."""
    kind = array.dtype.kind
    if kind == "b":
        raise NetcDataError(f"{path}: holds true/false values, not pixels",
                            hint="save pixel values: floats in 0-1 or integers in 0-255")
    if kind == "c":
        raise NetcDataError(f"{path}: holds complex numbers, not pixels",
                            hint="save pixel values: floats in 0-1 or integers in 0-255")
    if kind in "iu":
        if array.size and (array.min() < 0 or array.max() > 255):
            raise NetcDataError(f"{path}: integer pixels from {array.min()} to {array.max()}; "
                                "integers are read as 8-bit pixels (0-255)",
                                hint="save floats in 0-1 for other ranges")
        return array.astype(np.float32) / 255
    if kind != "f":
        raise NetcDataError(f"{path}: holds {array.dtype} values, not numbers",
                            hint="save pixel values: floats in 0-1 or integers in 0-255")
    if not np.isfinite(array).all():
        raise NetcDataError(f"{path}: holds NaN or infinite values")
    return array.astype(np.float32)


def _read_npy(path: Path) -> np.ndarray:
    """An .npy array, its header checked against the file's size before reading."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            if dtype.hasobject:
                raise NetcDataError(f"{path}: holds Python objects, which netc never unpickles")
            count = int(np.prod(shape, dtype=object))
            stored = os.fstat(f.fileno()).st_size - f.tell()
            if stored != count * dtype.itemsize:
                raise NetcDataError(f"{path}: its header declares {list(shape)} of {dtype}, but the file "
                                    f"holds {stored:,} bytes of data, not {count * dtype.itemsize:,}",
                                    hint="the file is truncated or corrupt")
            data = f.read(stored)
    except (ValueError, EOFError) as exc:
        raise NetcDataError(f"{path}: not a readable .npy file ({exc})") from None
    except OSError as exc:
        raise NetcDataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if count == 0:
        raise NetcDataError(f"{path}: an empty array (shape {list(shape)})")
    if dtype.kind in "USV":
        raise NetcDataError(f"{path}: holds text ({dtype}), not pixels")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def _is_pgm(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) in (b"P5", b"P2")


def _read_pgm(path: Path) -> np.ndarray:
    """Binary (P5) or plain (P2) PGM; `#` comments in the header, as GIMP writes."""
    data = path.read_bytes()
    fields, at = [], 2
    while len(fields) < 3:
        while at < len(data) and data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.find(b"\n", at)
            at = len(data) if at < 0 else at
            continue
        start = at
        while at < len(data) and not data[at:at + 1].isspace() and data[at:at + 1] != b"#":
            at += 1
        if start == at or not data[start:at].isdigit():
            raise NetcDataError(f"{path}: not a valid PGM header (width, height and maxval expected)")
        fields.append(int(data[start:at]))
    width, height, maxval = fields
    if not 0 < maxval < 65536 or not width or not height:
        raise NetcDataError(f"{path}: PGM header {width}x{height}, maxval {maxval} is not valid")
    count = width * height
    if data[:2] == b"P2":
        values = data[at:].split()
        if len(values) < count or not all(v.isdigit() for v in values[:count]):
            raise NetcDataError(f"{path}: holds fewer than the {count:,} pixel values its header declares")
        pixels = np.array(values[:count], dtype=np.int64)
    else:
        dtype = np.dtype(">u2" if maxval > 255 else "u1")
        raw = data[at + 1:at + 1 + count * dtype.itemsize]     # one whitespace ends the header
        if len(raw) < count * dtype.itemsize:
            raise NetcDataError(f"{path}: truncated: {len(raw):,} bytes of pixels, "
                                f"{count * dtype.itemsize:,} expected for {width}x{height}")
        pixels = np.frombuffer(raw, dtype)
    if pixels.max() > maxval:
        raise NetcDataError(f"{path}: pixel values above the header's maxval {maxval}")
    return (pixels.astype(np.float32) / maxval).reshape(height, width)


def _read_picture(path: Path, channels: int) -> np.ndarray:
    """PNG, JPEG and the other formats Pillow reads: greyscale (H, W) or RGB (3, H, W)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise NetcDataError(f"{path}: reading {path.suffix or 'these'} pictures needs Pillow",
                            hint="pip install 'netc[plot]', or pass .npy arrays or PGM files") from None
    try:
        with Image.open(path) as picture:
            picture.load()
            if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(picture, dtype=np.float32) / 65535
            if picture.mode == "F":
                return _scaled(path, np.asarray(picture, dtype=np.float32))
            converted = picture.convert("RGB" if channels == 3 else "L")
            array = np.asarray(converted, dtype=np.float32) / 255
    except UnidentifiedImageError:
        raise NetcDataError(f"{path}: not a picture Pillow can read (is it really {path.suffix or 'an image'}?)",
                            hint="pass PNG, JPEG or PGM pictures, or .npy arrays") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise NetcDataError(f"{path}: a damaged or truncated picture ({exc})") from None
    return array.transpose(2, 0, 1) if array.ndim == 3 else array


def _fit(path: Path, array: np.ndarray, shape: tuple) -> np.ndarray:
    """The array as (K, *shape); K > 1 only for a batch .npy."""
    size = int(np.prod(shape))
    if array.size == size:
        return array.reshape(1, *shape)
    if array.ndim >= 2 and array[0].size == size and path.suffix.lower() == ".npy":
        return array.reshape(len(array), *shape)
    expected = "x".join(map(str, shape))
    picture = "x".join(map(str, shape[-2:])) if len(shape) >= 2 else None
    what = f"a {picture} picture" + (" in colour" if len(shape) == 3 and shape[0] == 3 else "") \
        if picture else f"{size} values"
    raise NetcDataError(f"{path}: {'x'.join(map(str, array.shape))} ({array.size:,} values), but the network's "
                        f"input is {expected} ({size:,} values)",
                        hint=f"give {what}, or an .npy batch of shape (N, {', '.join(map(str, shape))})")
