"""Where a downloadable dataset's files are: an explicit folder, then
$NETC_DATA/<name>/ (or $NETC_DATA itself when it is named <name>), then the
cache, then a download into the cache."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterable

from .download import download, mirrors
from .errors import DataError
from .idxset import find_files
from .registry import Entry

Place = tuple[Path, str]  # a folder to look in, and why it is looked in


def cache_dir(name: str) -> Path:
    """$XDG_CACHE_HOME/netc/<name>, default ~/.cache/netc/<name>."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative path here.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "netc" / name


def places(name: str, explicit: Iterable[Place] = ()) -> list[Place]:
    """Every folder to look in, in order. An explicit folder may hold the
    files itself or be a parent holding `<name>/`."""
    result: list[Place] = []
    for directory, why in explicit:
        directory = Path(directory).expanduser()
        result += [(directory, why), (directory / name, why)]
    if os.environ.get("NETC_DATA"):
        # NETC_DATA=DIR holds <name>/; NETC_DATA=DIR/mnist is that folder itself,
        # taken as such only for the data set it is named after (fashion-mnist
        # has the same file names, so a folder of either must not answer both).
        root = Path(os.environ["NETC_DATA"]).expanduser()
        result.append((root / name, "$NETC_DATA"))
        if root.name == name:
            result.append((root, "$NETC_DATA"))
    result.append((cache_dir(name), "cache"))
    return result


def search(entry: Entry, explicit: Iterable[Place] = ()) -> tuple[Path | None, list[str]]:
    """The first folder holding all four files, and a line per folder tried."""
    tried = []
    if not os.environ.get("NETC_DATA"):
        tried.append("$NETC_DATA is not set")
    for directory, why in places(entry.name, explicit):
        if not directory.is_dir():
            tried.append(f"{directory} ({why}): no such folder")
            continue
        _, missing = find_files(directory)
        if not missing:
            return directory, tried
        tried.append(f"{directory} ({why}): missing {', '.join(s + '[.gz]' for s in missing)}")
    return None, tried


def locate(entry: Entry, explicit: Iterable[Place] = (), allow_download: bool = True) -> Path:
    """The folder holding `entry`'s files, downloading them into the cache if
    no folder has them. Presence only: reading the files verifies them."""
    explicit = list(explicit)
    found, tried = search(entry, explicit)
    if found is not None:
        return found
    failures: list[tuple[str, str]] = []
    if allow_download:
        cache = cache_dir(entry.name)
        try:
            failures = download(entry, cache)
        except OSError as exc:  # e.g. a read-only cache folder
            failures = [(str(cache), f"cannot write the cache: {exc}")]
        if not find_files(cache)[1]:
            return cache
        with contextlib.suppress(OSError):
            cache.rmdir()  # only if empty: leave no trace of a failed download
    raise DataError(not_found_message(entry, tried, failures, allow_download))


def not_found_message(entry: Entry, tried: list[str], failures: list[tuple[str, str]],
                      downloaded: bool) -> str:
    """One message with everything looked at and how to provide the files."""
    lines = [f"dataset {entry.name!r} not found", "looked in:"]
    lines += [f"  {line}" for line in tried]
    if downloaded:
        lines.append(f"tried to download (mirrors: {', '.join(mirrors(entry)) or 'none'}):")
        lines += [f"  {url}: {why}" for url, why in failures] or ["  nothing (no mirror)"]
    stems = ", ".join(f.stem for f in entry.files)
    lines += [
        f"to provide the files ({stems}; .gz or raw):",
        f"  netc data fetch {entry.name} --from DIR   (copies and verifies them into the cache)",
        f"  or set NETC_DATA=DIR with the files in DIR/{entry.name}/ (or NETC_DATA=DIR/{entry.name})",
        "  or pass --data-dir DIR",
    ]
    return "\n".join(lines)
