"""Files netc reads and writes. Reads start by refusing anything but a regular
file; writes go through a temporary file in the same folder, fsync and a
rename, so a crash, a kill or a full disk leaves the old file or the new one,
never part of one. OSErrors become NetcErrors."""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from netc.errors import NetcDataError, NetcError

TEMPORARY_SUFFIX = ".tmp"


def check_regular(path) -> None:
    """Refuse anything but a regular file before opening it: a FIFO would
    block and /dev/zero never ends."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise NetcDataError(f"{path}: no such file") from None
    except OSError as exc:
        raise NetcDataError(f"{path}: cannot read: {os_problem(exc)}") from None
    if stat.S_ISDIR(mode):
        raise NetcDataError(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise NetcDataError(f"{path}: not a regular file (a pipe or a device)",
                            hint="give the path of a file on disk")


def os_problem(exc: OSError) -> str:
    """What went wrong, in words a user acts on."""
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOENT:
        return "the folder does not exist"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if exc.errno == errno.EISDIR:
        return "it is a folder"
    return exc.strerror or str(exc)


class NetcWriteError(NetcError):
    """A file could not be written; the previous version, if any, is intact."""

    def __init__(self, path, exc: OSError):
        super().__init__(f"cannot write {path}: {os_problem(exc)}",
                         hint="free some space or choose another folder; any previous version of the "
                              "file is unchanged")


def _default_mode() -> int:
    """The mode a plain open() would give a new file (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_file(path, binary: bool = True, make_folder: bool = False):
    """Yields a file to write; on a clean exit it replaces `path` in one step.
    A new file gets the usual mode, a replaced one keeps its own."""
    path = Path(path)
    try:
        if make_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = _default_mode()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    except OSError as exc:
        raise NetcWriteError(path, exc) from None
    try:
        os.fchmod(fd, mode)
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_folder(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise NetcWriteError(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_text_atomically(path, text: str, make_folder: bool = False) -> None:
    with atomic_file(path, binary=False, make_folder=make_folder) as f:
        f.write(text)


def remove_stale_temporaries(folder, name: str) -> list[Path]:
    """Delete `.NAME.*.tmp` left in `folder` by a writer that was killed; returns them."""
    removed = []
    for tmp in Path(folder).glob(f".{name}.*{TEMPORARY_SUFFIX}"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed
