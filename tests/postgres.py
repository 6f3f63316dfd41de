"""A throwaway PostgreSQL server for the search tests: initdb in a temporary
folder, pg_ctl start on a free port, stop and delete afterwards. initdb
refuses to run as root, so as root the server runs as an unprivileged user."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

USERS = ("postgres", "nobody")       # who runs the server when the tests run as root


class PostgresUnavailable(Exception):
    """The server could not be started; the message says why."""


def server_binaries() -> Path:
    """The folder holding initdb and pg_ctl: on PATH, or Debian's newest."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not candidates:
        raise PostgresUnavailable("initdb was not found (on PATH or in /usr/lib/postgresql/*/bin); "
                                  "install PostgreSQL, e.g. apt-get install postgresql (.ci/run does)")
    return Path(candidates[-1]).parent


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    for user in USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"]
    raise PostgresUnavailable(f"running as root and none of the users {USERS} exists to run PostgreSQL")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres_server():
    """Yields the URL of a fresh server's `postgres` database (superuser netc, no password)."""
    binaries, prefix = server_binaries(), _run_as()
    folder = Path(tempfile.mkdtemp(prefix="netc-pg-"))
    if prefix:
        shutil.chown(folder, user=prefix[2])
    data, log, port = folder / "data", folder / "server.log", _free_port()

    def run(*command, timeout=60):
        done = subprocess.run(prefix + [str(binaries / command[0]), *command[1:]], capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")

    try:
        run("initdb", "-D", str(data), "-U", "netc", "--auth=trust", "-E", "UTF8", "--no-sync")
        # fsync off: a test server's data need not survive a power cut.
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
        try:
            yield f"postgresql://netc@127.0.0.1:{port}/postgres"
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
