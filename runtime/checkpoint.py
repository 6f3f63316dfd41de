"""Checkpoints and weight files: a network's arrays in a plain .npz (never a
pickle), written atomically, read back with every shape checked against the
plan. Also reads the seed's `W1, b1, W2, ...` weight files."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from netc.errors import NetcDataError
from netc.spec.ops import OPS

FORMAT = "netc-checkpoint/1"


def write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Temporary file in the same folder, fsync, rename: a crash leaves the
    old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_npz(path) -> dict[str, np.ndarray]:
    """Every array of an .npz, pickles refused; a clear error for a bad file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise NetcDataError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise NetcDataError(f"{path}: not a readable .npz file ({exc})",
                            hint="the file is truncated or corrupt; use another checkpoint") from None


def save_checkpoint(path, network, optimizer=None, meta: dict | None = None) -> None:
    """Parameters, state, optimizer state and the RNG, plus JSON metadata."""
    arrays = {f"param/{k}": v for k, v in network.params.items()}
    arrays.update({f"state/{k}": v for k, v in network.state.items()})
    if optimizer is not None:
        arrays.update({f"optim/{k}": v for k, v in optimizer.state_dict().items()})
    meta = {"format": FORMAT, "rng": network.rng.bit_generator.state, **(meta or {})}
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz_atomically(path, arrays)


def _meta(arrays, path) -> dict:
    try:
        meta = json.loads(str(arrays["meta"]))
    except (KeyError, ValueError):
        raise NetcDataError(f"{path}: not a netc checkpoint (no metadata)") from None
    if meta.get("format") != FORMAT:
        raise NetcDataError(f"{path}: unknown checkpoint format {meta.get('format')!r}")
    return meta


def _where(network, name: str) -> str:
    index = int(name.split(".", 1)[0])
    step = network.plan["layers"][index]
    line = f" (line {step['line']})" if step.get("line") else ""
    return f"layer {index} '{step['op']}'{line}"


def _assign(network, targets: dict, found: dict, path) -> None:
    """Copy found[name] into targets[name], every shape checked first."""
    for name, target in targets.items():
        if name not in found:
            raise NetcDataError(f"{path}: no array for {_where(network, name)} parameter "
                                f"'{name.rsplit('.', 1)[1]}' (expected key {name!r})")
        array = found[name]
        if array.shape != target.shape:
            raise NetcDataError(f"{path}: {_where(network, name)} '{name.rsplit('.', 1)[1]}' has "
                                f"shape {list(array.shape)} in the file, but the plan needs {list(target.shape)}")
        if not np.issubdtype(array.dtype, np.number):
            raise NetcDataError(f"{path}: {name} holds {array.dtype}, not numbers")
    for name, target in targets.items():
        target[...] = found[name]


def load_checkpoint(path, network, optimizer=None) -> dict:
    """Restore a network (and optimizer) from a netc checkpoint; returns its metadata."""
    arrays = read_npz(path)
    meta = _restore(network, arrays, path)
    if optimizer is not None:
        optimizer.load_state_dict(_section(arrays, "optim/"))
    network.rng.bit_generator.state = meta["rng"]
    return meta


def _restore(network, arrays, path) -> dict:
    """Parameters and state of a netc checkpoint's arrays; returns its metadata."""
    meta = _meta(arrays, path)
    _assign(network, network.params, _section(arrays, "param/"), path)
    _assign(network, network.state, _section(arrays, "state/"), path)
    return meta


def _section(arrays, prefix):
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


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
    arrays = read_npz(path)
    if "meta" in arrays:
        _restore(network, arrays, path)
        return "checkpoint"
    names = seed_names(network)
    renamed = {ours: arrays[theirs] for ours, theirs in names.items() if theirs in arrays}
    missing = [theirs for ours, theirs in names.items()
               if theirs not in arrays and ours in network.params]
    if missing:
        raise NetcDataError(f"{path}: no {', '.join(missing)} in the file (found: {', '.join(sorted(arrays))})",
                            hint="weight files name arrays W1, b1, W2, b2, ... in layer order")
    state = {k: v for k, v in network.state.items() if k in renamed}
    _assign(network, network.params, renamed, path)
    _assign(network, state, renamed, path)
    return "seed"
