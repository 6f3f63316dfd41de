"""The runtime's data: a plan's `data` dict + the network's input shape ->
a Dataset of train / validation / test arrays and float32 batches of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .registry import get_entry
from .sources import RawData, load_raw

# Mixed into the seed so the validation split is its own random stream: it
# neither repeats nor shifts the draws of whoever else uses the run's seed.
_SPLIT_STREAM = 0x5B117


@dataclass
class Dataset:
    """Arrays ready for the network, all read-only. Inputs keep their stored
    dtype (uint8 images) and are shaped (N, *input_shape); targets are int64
    class indices, or float32 (N, 1) for the truth tables. `x_val`/`t_val`
    are None without a validation split."""
    name: str
    x_train: np.ndarray
    t_train: np.ndarray
    x_val: np.ndarray | None
    t_val: np.ndarray | None
    x_test: np.ndarray
    t_test: np.ndarray
    num_classes: int | None  # None for real-valued targets
    location: str
    verified: bool | None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.x_train.shape[1:]

    @staticmethod
    def batch(x: np.ndarray, idx, dtype=np.float32) -> np.ndarray:
        """x[idx] as `dtype` (the network's); uint8 pixels become [0, 1]. Only
        this batch is converted, so the full set stays at one byte per pixel."""
        out = x[idx].astype(dtype)  # always a fresh, writable array
        if x.dtype == np.uint8:
            out /= 255  # division, not * (1/255), so 255 maps to exactly 1.0
        return out


def load_dataset(data_spec: dict, input_shape: list[int], seed: int,
                 data_dir: str | Path | None = None) -> Dataset:
    """Load `data_spec` ({name, validation, limit, path}) for a network whose
    per-sample input is `input_shape`; `seed` draws the validation split."""
    entry = get_entry(data_spec["name"])
    if entry.kind == "remote":
        # The stored shape is in the table: refuse a wrong input before
        # reading, let alone downloading, anything.
        images = entry.file("train-images-idx3-ubyte").shape
        adapt_shape(entry.name, (1, *images[1:]), tuple(input_shape))
    raw = load_raw(entry.name, data_spec.get("path"), data_dir)
    shape = adapt_shape(raw.name, raw.x_train.shape[1:], tuple(input_shape))
    x, t = _limit(raw, data_spec.get("limit"))
    x_val = t_val = None
    fraction = data_spec.get("validation")
    if fraction:
        train_idx, val_idx = split_indices(len(x), fraction, seed, raw.name)
        x, t, x_val, t_val = x[train_idx], t[train_idx], x[val_idx], t[val_idx]
    arrays = [x, t, x_val, t_val, raw.x_test, raw.t_test]
    # Targets keep their own shape; inputs take the network's (a view for
    # contiguous arrays: flattening 28x28 images copies nothing).
    for i in (0, 2, 4):
        if arrays[i] is not None:
            arrays[i] = arrays[i].reshape((len(arrays[i]), *shape))
    for array in arrays:
        if array is not None:
            array.flags.writeable = False
    return Dataset(raw.name, *arrays, num_classes=_classes(raw),
                   location=raw.location, verified=raw.verified)


def adapt_shape(name: str, stored: tuple[int, ...], wanted: tuple[int, ...]) -> tuple[int, ...]:
    """The per-sample shape to give the network: `wanted`, if the stored
    samples fit it unchanged, flattened (input D) or with leading 1-axes
    added or dropped (28x28 into 1x28x28); otherwise a DataError."""
    size = int(np.prod(stored))
    if wanted == stored or (len(wanted) == 1 and wanted[0] == size):
        return wanted
    if _strip_ones(wanted) == _strip_ones(stored):
        return wanted
    raise DataError(
        f"dataset {name!r} gives samples of shape {_dims(stored)} ({size} values) but the "
        f"network's input is {_dims(wanted)} ({int(np.prod(wanted))} values); use "
        f"`input {_dims(stored)}`" + (f" or `input {size}`" if len(stored) > 1 else ""))


def split_indices(n: int, fraction: float, seed: int, name: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Hold out round(fraction * n) random samples; returns (train, validation)
    indices, each sorted so the stored order is kept."""
    if not 0 < fraction < 1:
        raise DataError(f"dataset {name!r}: validation must be a fraction in (0, 1), got {fraction}")
    held_out = int(round(fraction * n))
    if not 0 < held_out < n:
        raise DataError(f"dataset {name!r}: validation={fraction} of {n} training samples "
                        f"holds out {held_out}; at least one must be held out and one kept")
    order = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(n)
    return np.sort(order[held_out:]), np.sort(order[:held_out])


def _limit(raw: RawData, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    # limit= comes before the split: `limit 1000, validation 0.1` trains on 900.
    if limit is None:
        return raw.x_train, raw.t_train
    if limit < 1:
        raise DataError(f"dataset {raw.name!r}: limit must be at least 1, got {limit}")
    return raw.x_train[:limit], raw.t_train[:limit]


def _classes(raw: RawData) -> int | None:
    if raw.t_train.dtype != np.int64 or raw.t_train.ndim != 1 or not len(raw.t_train):
        return None
    return int(max(raw.t_train.max(), raw.t_test.max(initial=0))) + 1


def _strip_ones(shape: tuple[int, ...]) -> tuple[int, ...]:
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))
