"""What `netc data` does: fetch a dataset into place (copy from a folder or
download) and describe one (where it is, its files, shapes, checksums)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .download import install
from .errors import DataError
from .idx import read_payload
from .idxset import check_payload, find_files
from .locate import cache_dir, locate, places, search
from .registry import Entry, get_entry
from .sources import load_raw


def fetch(name: str, source_dir: str | Path | None = None,
          data_dir: str | Path | None = None) -> Path:
    """Make `name`'s files available and verified; returns their folder.
    With `source_dir` (the files, or a parent holding `<name>/`), copy them
    into `data_dir/<name>` (default: the cache); without it, find them as
    load_dataset would, downloading into the cache if needed."""
    entry = _remote(name)
    if source_dir is None:
        explicit = [(Path(data_dir), "--data-dir")] if data_dir is not None else []
        directory = locate(entry, explicit)
        for stem, path in find_files(directory)[0].items():
            check_payload(entry.file(stem), read_payload(path), path)
        return directory
    source = _source_folder(entry, Path(source_dir).expanduser())
    target = Path(data_dir).expanduser() / name if data_dir is not None else cache_dir(name)
    target.mkdir(parents=True, exist_ok=True)
    for stem, path in find_files(source)[0].items():
        final = target / path.name
        if final.exists() and final.samefile(path):
            check_payload(entry.file(stem), read_payload(path), path)
            continue
        part = target / f"{path.name}.{os.getpid()}.part"
        shutil.copyfile(path, part)
        install(entry, stem, part, final)
        # A stale copy in the other form (raw vs .gz) would be read first.
        other = target / (stem if path.name.endswith(".gz") else f"{stem}.gz")
        other.unlink(missing_ok=True)
    return target


def info(name: str, path: str | Path | None = None,
         data_dir: str | Path | None = None) -> dict:
    """A description of `name` without downloading anything: where it was
    found (or every place tried), its files with sizes, shapes and checksums,
    sample counts and shapes, and whether it is verified (None: no checksum
    is known, only sizes were checked)."""
    entry = get_entry(name)
    result: dict = {"name": name, "description": entry.description, "kind": entry.kind}
    if entry.kind != "remote":
        raw = load_raw(name, path, data_dir, allow_download=False)
        return {**result, "found": True, "location": raw.location, "verified": raw.verified,
                "train": len(raw.x_train), "test": len(raw.x_test),
                "sample_shape": list(raw.x_train.shape[1:]),
                "input_dtype": str(raw.x_train.dtype), "target_dtype": str(raw.t_train.dtype)}
    explicit = [(Path(p), why) for p, why in ((data_dir, "--data-dir"), (path, "path="))
                if p is not None]
    directory, tried = search(entry, explicit)
    if directory is None:
        return {**result, "found": False, "location": None, "verified": False, "tried": tried}
    files = {stem: _describe(entry, stem, file) for stem, file in find_files(directory)[0].items()}
    states = [f["verified"] for f in files.values()]
    images = files["train-images-idx3-ubyte"].get("shape", [0, 0, 0])
    return {**result, "found": True, "location": str(directory),
            "verified": False if False in states else (None if None in states else True),
            "train": images[0], "test": files["t10k-images-idx3-ubyte"].get("shape", [0])[0],
            "sample_shape": [1, *images[1:]], "input_dtype": "uint8", "target_dtype": "int64",
            "files": list(files.values())}


def where(name: str, data_dir: str | Path | None = None) -> tuple[bool | None, str]:
    """(is it here, where or what to do) for `netc data list`, without reading
    or downloading anything: True with the folder and why it was looked in,
    False with how to get it, None for data that comes from a path= or is
    built in."""
    entry = get_entry(name)
    if entry.kind == "table":
        return None, "built in"
    if entry.kind != "remote":
        return None, f"your own files: data {name} path={'DIR' if entry.kind == 'idx' else 'FILE'}"
    explicit = [(Path(data_dir), "--data-dir")] if data_dir is not None else []
    directory, _ = search(entry, explicit)
    if directory is None:
        return False, f"not here: 'netc data fetch {name}' downloads it (or set NETC_DATA / --data-dir)"
    why = next(why for folder, why in places(name, explicit) if folder.expanduser() == directory)
    return True, f"{directory} ({why})"


def _describe(entry: Entry, stem: str, path: Path) -> dict:
    # Report a bad file instead of raising: info is what one runs to find it.
    spec = entry.file(stem)
    described = {"file": str(path), "bytes": path.stat().st_size,
                 "expected_sha256": spec.sha256}
    try:
        array, digest = check_payload(None, read_payload(path), path)
    except DataError as exc:
        return {**described, "verified": False, "error": str(exc)}
    verified = None if spec.sha256 is None else digest == spec.sha256
    if array.shape != spec.shape:
        verified = False
    return {**described, "shape": list(array.shape), "sha256": digest, "verified": verified}


def _remote(name: str) -> Entry:
    entry = get_entry(name)
    if entry.kind != "remote":
        raise DataError(f"dataset {name!r} is not downloaded: "
                        + ("it is built in" if entry.kind == "table"
                           else "it is read from its path="))
    return entry


def _source_folder(entry: Entry, source: Path) -> Path:
    for folder in (source, source / entry.name):
        if folder.is_dir() and not find_files(folder)[1]:
            return folder
    missing = find_files(source)[1] if source.is_dir() else "no such folder"
    raise DataError(f"{source}: does not hold the files of {entry.name!r} "
                    f"(nor does {source / entry.name}): "
                    + (missing if isinstance(missing, str) else "missing " + ", ".join(missing)))
