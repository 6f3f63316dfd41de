"""Each kind of dataset source -> its four raw arrays (train and test inputs
and targets) before any limit, split or reshape."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .idxset import read_set
from .locate import locate
from .registry import Entry, get_entry

NPZ_KEYS = ("x_train", "t_train", "x_test", "t_test")


@dataclass
class RawData:
    """Arrays as stored (images uint8 (N, 1, H, W)), where they came from, and
    whether they were checked against known checksums (None: not applicable)."""
    name: str
    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    location: str
    verified: bool | None = None


def load_raw(name: str, path: str | Path | None = None, data_dir: str | Path | None = None,
             allow_download: bool = True) -> RawData:
    """Load dataset `name`; `path` is the spec's path=, `data_dir` the CLI's."""
    entry = get_entry(name)
    if entry.kind == "remote":
        explicit = [(Path(p), why) for p, why in ((data_dir, "--data-dir"), (path, "path="))
                    if p is not None]
        return _from_idx(entry, locate(entry, explicit, allow_download))
    if entry.kind == "table":
        if path is not None:
            raise DataError(f"dataset {name!r} is built in and takes no path")
        return truth_table(entry)
    if path is None:
        raise DataError(f"dataset {name!r} needs path=" + ("DIR" if entry.kind == "idx" else "FILE"))
    if entry.kind == "idx":
        if not Path(path).is_dir():
            raise DataError(f"{path}: no such folder (dataset 'idx' takes path=DIR)")
        return _from_idx(entry, Path(path))
    return from_npz(Path(path))


def truth_table(entry: Entry) -> RawData:
    """The four rows of {0,1}^2 and the gate's output as one float column;
    the training and test sets are both the whole table."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    t = np.array(entry.outputs, dtype=np.float32).reshape(4, 1)
    return RawData(entry.name, x, t, x, t, "built in")


def _from_idx(entry: Entry, directory: Path) -> RawData:
    found = read_set(directory, entry if entry.kind == "remote" else None)
    a = found.arrays
    # (N, H, W) -> (N, 1, H, W): a one-channel image, as the plan's [C, H, W].
    return RawData(
        entry.name,
        a["train-images-idx3-ubyte"][:, None],
        a["train-labels-idx1-ubyte"].astype(np.int64),
        a["t10k-images-idx3-ubyte"][:, None],
        a["t10k-labels-idx1-ubyte"].astype(np.int64),
        str(directory), found.verified)


def from_npz(path: Path) -> RawData:
    """x_train, t_train, x_test, t_test from a .npz, no pickles allowed."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)} "
                                f"(has {', '.join(archive.files) or 'none'})")
            arrays = {key: archive[key] for key in NPZ_KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        # ValueError: object arrays (pickles) or a damaged member.
        raise DataError(f"{path}: cannot read as .npz: {exc}") from exc
    for part in ("train", "test"):
        x, t = arrays[f"x_{part}"], arrays[f"t_{part}"]
        if x.ndim < 2 or len(x) != len(t):
            raise DataError(f"{path}: x_{part} is {x.shape}, t_{part} is {t.shape}; "
                            "need (N, ...) inputs and N targets")
        if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(t.dtype, np.number)):
            raise DataError(f"{path}: x_{part}/t_{part} must be numeric, "
                            f"got {x.dtype}/{t.dtype}")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DataError(f"{path}: x_train samples are {arrays['x_train'].shape[1:]}, "
                        f"x_test samples {arrays['x_test'].shape[1:]}")
    return RawData("npz", arrays["x_train"], _targets(arrays["t_train"]),
                   arrays["x_test"], _targets(arrays["t_test"]), str(path))


def _targets(t: np.ndarray) -> np.ndarray:
    # Integer labels are class indices (int64, what fancy indexing wants);
    # anything else is a real-valued target (float32, like the network).
    return t.astype(np.int64 if np.issubdtype(t.dtype, np.integer) else np.float32, copy=False)
