"""IDX files (LeCun's MNIST format), gzip-compressed or raw: path -> ndarray.

Header: two zero bytes, a type byte, the number of dimensions, then one
big-endian uint32 per dimension; the payload is the array, big-endian, C order.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

# Type byte -> big-endian dtype. MNIST only uses 0x08; the rest are in the
# format's definition and cost one line each.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (.gz or raw, told apart by content, not by name)."""
    path = Path(path)
    return parse_idx(read_payload(path), path)


def read_payload(path: str | Path) -> bytes:
    """The decompressed bytes of an IDX file: what the published SHA-256 covers."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        # EOFError: stream cut short; BadGzipFile (an OSError) / zlib.error: bad bytes.
        raise DataError(f"{path}: truncated or corrupt gzip data ({exc})") from exc


def parse_idx(data: bytes, path: str | Path = "<bytes>") -> np.ndarray:
    """Check the header against the payload size exactly and return the array
    in native byte order (uint8 stays uint8, and is then a zero-copy view)."""
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes, too short for an IDX header")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in IDX_TYPES:
        raise DataError(
            f"{path}: wrong magic number 0x{data[:4].hex()} (an IDX file starts "
            f"0x0000TTDD: TT the type, e.g. 08 for uint8, DD the number of dimensions)")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: truncated header: {ndim} dimensions need {header_size} bytes, "
            f"the file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = IDX_TYPES[code]
    # Python ints: a bogus header cannot overflow its way into a match.
    expected = header_size + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "trailing bytes"
        dims = "x".join(map(str, shape))
        raise DataError(
            f"{path}: {what}: header says {dims} {dtype.name} values "
            f"({expected} bytes with the header), the file has {len(data)} bytes")
    array = np.frombuffer(data, dtype, offset=header_size).reshape(shape)
    # Multi-byte types are stored big-endian; hand the runtime native ones.
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` as IDX (gzip when `compress`, default: the name ends in .gz)."""
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"{path}: IDX cannot store dtype {array.dtype}")
    if array.ndim == 0 or array.ndim > 255:
        raise DataError(f"{path}: IDX needs 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    data = header + np.ascontiguousarray(array, IDX_TYPES[code]).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path
