"""What an existing --out folder means, the same for train, compare and search:
a folder holding netc output is never written over unless the user says so.

- a missing or empty folder, or one holding none of netc's files: used;
- one holding a search, given to `netc search`: that search continues
  (search checks it is the same one);
- one holding output of the same kind, with --force: replaced;
- anything else: refused (exit 1), the folder left as it is.
"""
from __future__ import annotations

from pathlib import Path

from netc.errors import NetcError

# The file that marks each kind of folder netc writes.
MARKERS = {"run": "spec.json", "comparison": "compare.json", "search": "search.json"}
CONTINUE = {"run": "netc train --resume {folder}", "search": "netc search FILE --out {folder}"}


def holds(folder) -> str | None:
    """Which kind of netc output `folder` holds ("run", "comparison", "search"), if any."""
    folder = Path(folder)
    for kind, marker in MARKERS.items():
        if (folder / marker).exists():
            return kind
    if (folder / "checkpoint.npz").exists():
        return "run"
    return None


def claim(folder, kind: str, force: bool = False) -> Path:
    """Check that a command writing a `kind` ("run", "comparison", "search")
    may use --out `folder`, then create it. Raises a NetcError (exit 1) when
    the folder holds other output and `force` is not set."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NetcError(f"--out {folder}: a file is in the way, not a folder")
    found = holds(folder)
    if found and not (found == kind and (force or kind == "search")):
        hints = ["pass --force to replace it" if found == kind else None,
                 "choose another --out folder",
                 f"continue it with: {CONTINUE[found].format(folder=folder)}" if found in CONTINUE else None]
        raise NetcError(f"--out {folder} already holds a {found} ({MARKERS[found]}); it is left as it is",
                        hint="; or ".join(h for h in hints if h))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from netc.files import os_problem
        raise NetcError(f"cannot create --out {folder}: {os_problem(exc)}") from None
    return folder
