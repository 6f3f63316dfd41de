"""Downloading a registered IDX set into a folder: each file from the first
mirror that serves it, written to `.part`, verified, then renamed into place."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DataError
from .idx import read_payload
from .idxset import check_payload, find_files
from .registry import Entry

TIMEOUT = 10.0  # seconds per connect/read: an unreachable mirror should fail fast


def mirrors(entry: Entry) -> list[str]:
    """The base URLs to try, in order. NETC_MIRROR (one or more URLs, separated
    by spaces or commas; `{name}` becomes the dataset name) replaces the list."""
    override = os.environ.get("NETC_MIRROR", "").strip()
    bases = re.split(r"[\s,]+", override) if override else list(entry.mirrors)
    return [_slash(base.replace("{name}", entry.name)) for base in bases if base]


def download(entry: Entry, directory: Path) -> list[tuple[str, str]]:
    """Download the files of `entry` missing from `directory`. Returns the
    (url, failure) of every attempt that failed; the set is complete when
    `find_files(directory)` reports nothing missing."""
    directory.mkdir(parents=True, exist_ok=True)
    failures: list[tuple[str, str]] = []
    _, missing = find_files(directory)
    for stem in missing:
        if not _download_file(entry, stem, directory, failures):
            # No mirror had this file; the others would fail the same way.
            break
    return failures


def install(entry: Entry, stem: str, part: Path, final: Path) -> None:
    """Verify a fully written `.part` file and move it into place atomically;
    a bad file is deleted so it can never be mistaken for a good one."""
    try:
        check_payload(entry.file(stem), read_payload(part), final)
    except DataError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, final)


def _download_file(entry: Entry, stem: str, directory: Path,
                   failures: list[tuple[str, str]]) -> bool:
    final = directory / f"{stem}.gz"
    # The pid keeps two processes filling the same cache from sharing a file.
    part = directory / f"{stem}.gz.{os.getpid()}.part"
    for base in mirrors(entry):
        url = f"{base}{stem}.gz"
        try:
            _fetch(url, part)
            install(entry, stem, part, final)
            return True
        # OSError covers URLError, HTTPError and timeouts; HTTPException a
        # connection cut mid-body; ValueError a malformed NETC_MIRROR.
        except (OSError, http.client.HTTPException, ValueError, DataError) as exc:
            part.unlink(missing_ok=True)
            failures.append((url, _reason(exc)))
    return False


def _fetch(url: str, part: Path) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "netc"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response, open(part, "wb") as out:
        shutil.copyfileobj(response, out)


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
