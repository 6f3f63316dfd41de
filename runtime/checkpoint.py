"""Checkpoints and weight files: a network's arrays in a plain .npz (never a
pickle), written atomically, read back with every shape checked against the
plan. Also reads the seed's `W1, b1, W2, ...` weight files."""
from __future__ import annotations

import json
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from netc.errors import NetcDataError
from netc.files import atomic_file, check_regular
from netc.spec.ops import OPS

FORMAT = "netc-checkpoint/1"


def write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Through netc.files: a crash or a full disk leaves the old file or the
    new one, never half of one, and the file gets the usual mode."""
    with atomic_file(path, make_folder=True) as f:
        np.savez(f, **arrays)


class NpzReader:
    """The arrays of an .npz read one at a time, each header checked before
    its data is read: nothing is unpickled, and an array the caller does not
    ask for, or whose header disagrees with what it needs, is never loaded."""

    def __init__(self, path):
        self.path = Path(path)
        check_regular(self.path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile:
            hint = ("a .npy holds one unnamed array; weights are an .npz of named arrays "
                    "(a netc checkpoint, or W1, b1, ...)" if self._is_npy() else
                    "the file is truncated or not an .npz; use another checkpoint")
            raise NetcDataError(f"{self.path}: not an .npz file", hint=hint) from None
        except OSError as exc:
            raise NetcDataError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        self.members = {info.filename[:-len(".npy")]: info for info in self._zip.infolist()
                        if info.filename.endswith(".npy")}

    def _is_npy(self) -> bool:
        try:
            with open(self.path, "rb") as f:
                return f.read(6) == b"\x93NUMPY"
        except OSError:
            return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._zip.close()
        return False

    def __contains__(self, name: str) -> bool:
        return name in self.members

    @property
    def names(self) -> list[str]:
        return sorted(self.members)

    def header(self, name: str) -> tuple[tuple, np.dtype]:
        """(shape, dtype) from the array's header, its data unread."""
        try:
            with self._zip.open(self.members[name]) as f:
                return self._read_header(f, name)[:2]
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise self._corrupt(name, exc) from None

    def read(self, name: str, shape=None) -> np.ndarray:
        """One array; when `shape` is given, a header disagreeing with it is an
        error raised before any data is read."""
        try:
            with self._zip.open(self.members[name]) as f:
                found, dtype, fortran = self._read_header(f, name)
                if shape is not None and found != tuple(shape):
                    raise NetcDataError(f"{self.path}: {name!r} has shape {list(found)} in the file, "
                                        f"but {list(shape)} is needed")
                count = math.prod(found)
                data = f.read(count * dtype.itemsize)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise self._corrupt(name, exc) from None
        if len(data) != count * dtype.itemsize:
            raise self._corrupt(name, "its data is cut short")
        array = np.frombuffer(data, dtype=dtype, count=count)
        return array.reshape(found, order="F" if fortran else "C").copy()

    def _read_header(self, f, name):
        try:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
        except ValueError as exc:
            raise self._corrupt(name, exc) from None
        if dtype.hasobject:
            raise NetcDataError(f"{self.path}: {name!r} holds Python objects, which netc never unpickles")
        needed = math.prod(shape) * dtype.itemsize
        if needed > self.members[name].file_size:
            raise self._corrupt(name, f"its header declares {list(shape)} of {dtype} ({needed:,} bytes), "
                                      f"more than the {self.members[name].file_size:,} bytes stored")
        return tuple(shape), dtype, fortran

    def _corrupt(self, name, why) -> NetcDataError:
        return NetcDataError(f"{self.path}: array {name!r} is unreadable ({why})",
                             hint="the file is truncated or corrupt; use another checkpoint")


def read_npz(path) -> dict[str, np.ndarray]:
    """Every array of an .npz, pickles refused; a clear error for a bad file."""
    with NpzReader(path) as npz:
        return {name: npz.read(name) for name in npz.names}


def save_checkpoint(path, network, optimizer=None, meta: dict | None = None) -> None:
    """Parameters, state, optimizer state and the RNG, plus JSON metadata."""
    arrays = {f"param/{k}": v for k, v in network.params.items()}
    arrays.update({f"state/{k}": v for k, v in network.state.items()})
    if optimizer is not None:
        arrays.update({f"optim/{k}": v for k, v in optimizer.state_dict().items()})
    meta = {"format": FORMAT, "rng": network.rng.bit_generator.state, **(meta or {})}
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz_atomically(path, arrays)


def _meta(npz: NpzReader) -> dict:
    """The checkpoint's JSON metadata: an object with netc's format tag."""
    if "meta" not in npz:
        raise NetcDataError(f"{npz.path}: not a netc checkpoint (no metadata)")
    shape, dtype = npz.header("meta")
    if shape != () or dtype.kind != "U":
        raise NetcDataError(f"{npz.path}: not a netc checkpoint (its metadata is not text)")
    try:
        meta = json.loads(str(npz.read("meta")[()]))
    except ValueError:
        raise NetcDataError(f"{npz.path}: the checkpoint's metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise NetcDataError(f"{npz.path}: the checkpoint's metadata is not a JSON object")
    if meta.get("format") != FORMAT:
        raise NetcDataError(f"{npz.path}: unknown checkpoint format {str(meta.get('format'))[:40]!r}")
    return meta


def _where(network, name: str) -> str:
    index = int(name.split(".", 1)[0])
    step = network.plan["layers"][index]
    line = f" (line {step['line']})" if step.get("line") else ""
    return f"layer {index} '{step['op']}'{line}"


def _read_into(npz: NpzReader, network, targets: dict, keys: dict) -> None:
    """Read keys[name] into targets[name] for every target, each header
    checked first; nothing is assigned unless every array is usable."""
    found = {}
    for name, target in targets.items():
        key, short = keys[name], name.rsplit(".", 1)[1]
        if key not in npz:
            raise NetcDataError(f"{npz.path}: no array for {_where(network, name)} parameter "
                                f"'{short}' (expected key {key!r})")
        shape, dtype = npz.header(key)
        if shape != target.shape:
            raise NetcDataError(f"{npz.path}: {_where(network, name)} '{short}' has shape {list(shape)} "
                                f"in the file, but the plan needs {list(target.shape)}")
        found[name] = _numbers(npz, key, target.shape)
    for name, target in targets.items():
        target[...] = found[name]


def _numbers(npz: NpzReader, key: str, shape) -> np.ndarray:
    """A real-valued, finite array (integers are accepted as numbers)."""
    shape_, dtype = npz.header(key)
    if dtype.kind not in "fiu":
        raise NetcDataError(f"{npz.path}: {key!r} holds {dtype}, not real numbers")
    array = npz.read(key, shape)
    if dtype.kind == "f" and not np.isfinite(array).all():
        raise NetcDataError(f"{npz.path}: {key!r} holds NaN or infinite values",
                            hint="these weights come from a diverged run; use an earlier checkpoint")
    return array


def load_checkpoint(path, network, optimizer=None) -> dict:
    """Restore a network (and optimizer) from a netc checkpoint; returns its
    metadata, whose "rng" has been checked and applied."""
    with NpzReader(path) as npz:
        meta = _restore(network, npz)
        if optimizer is not None:
            _restore_optimizer(npz, network, optimizer)
    _restore_rng(network, meta, path)
    return meta


def _restore(network, npz: NpzReader) -> dict:
    """Parameters and state of a netc checkpoint; returns its metadata."""
    meta = _meta(npz)
    _read_into(npz, network, network.params, {k: f"param/{k}" for k in network.params})
    _read_into(npz, network, network.state, {k: f"state/{k}" for k in network.state})
    return meta


def _restore_optimizer(npz: NpzReader, network, optimizer) -> None:
    from .optimizers import OptimizerError
    shapes = {name: array.shape for name, array in network.params.items()}
    entries = {}
    for key in npz.names:
        if key.startswith("optim/"):
            name = key[len("optim/"):]
            expected = () if name == "step" else shapes.get(name.partition(".")[2])
            if expected is None:
                raise NetcDataError(f"{npz.path}: optimizer state {name!r} belongs to no parameter of this network")
            entries[name] = _numbers(npz, key, expected)
    try:
        optimizer.load_state_dict(entries, network.params)
    except OptimizerError as error:
        raise NetcDataError(f"{npz.path}: optimizer state: {error.message}") from None


def _restore_rng(network, meta: dict, path) -> None:
    try:
        network.rng.bit_generator.state = meta["rng"]
    except (KeyError, TypeError, ValueError):
        raise NetcDataError(f"{path}: the checkpoint's random generator state is missing or invalid") from None


def seed_names(network) -> dict[str, str]:
    """netc name -> the seed's name: W1, b1 for the first conv/affine, and so
    on; a batchnorm after the k-th of those has gamma{k}, beta{k}."""
    names, k = {}, 0
    for layer in network.layers:
        index = layer.step["index"]
        if OPS[layer.op].numbered:
            k += 1
            names[f"{index}.{layer.op}.W"], names[f"{index}.{layer.op}.b"] = f"W{k}", f"b{k}"
        elif layer.op == "batchnorm":
            names[f"{index}.batchnorm.gamma"], names[f"{index}.batchnorm.beta"] = f"gamma{k}", f"beta{k}"
            names[f"{index}.batchnorm.running_mean"] = f"running_mean{k}"
            names[f"{index}.batchnorm.running_var"] = f"running_var{k}"
        elif layer.params:
            for p in layer.params:
                names[f"{index}.{layer.op}.{p}"] = f"{p}{k}"
    return names


def load_weights(path, network) -> str:
    """Load a netc checkpoint or a seed-style W1/b1 file; returns which it was."""
    with NpzReader(path) as npz:
        if "meta" in npz:
            _restore(network, npz)
            return "checkpoint"
        names = seed_names(network)
        missing = [theirs for ours, theirs in names.items() if theirs not in npz and ours in network.params]
        if missing:
            found = ", ".join(npz.names[:20]) + (", ..." if len(npz.names) > 20 else "")
            raise NetcDataError(f"{path}: no {', '.join(missing)} in the file (found: {found or 'nothing'})",
                                hint="weight files name arrays W1, b1, W2, b2, ... in layer order")
        state = {k: v for k, v in network.state.items() if names.get(k) in npz}
        _read_into(npz, network, network.params, names)
        _read_into(npz, network, state, names)
    return "seed"
