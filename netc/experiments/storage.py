"""Optuna storages for `netc search`: a URL (sqlite://, postgresql://,
mysql://) or a journal file path -> a storage whose workers beat, so that a
killed worker's trial is noticed and queued again."""
from __future__ import annotations

import threading
import time
import warnings

from netc.errors import NetcError

OPEN_ATTEMPTS = 4


def optuna_module():
    import optuna
    # The heartbeat and retry callbacks are marked experimental; the warnings
    # and the per-trial INFO lines would drown netc's own progress lines.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def shown_url(url: str) -> str:
    """The storage URL with any password hidden, for messages and search.json."""
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:                       # not a URL SQLAlchemy reads: say it as given
        return url


def open_storage(url: str, heartbeat: float):
    """An RDB storage for a URL (sqlite://, postgresql://, mysql://) with
    heartbeats every `heartbeat` seconds and stale trials retried; a journal
    file for a plain path (no heartbeat: a killed worker's trial stays running)."""
    optuna = optuna_module()
    if "://" not in url:
        from optuna.storages.journal import JournalFileBackend, JournalStorage
        return JournalStorage(JournalFileBackend(url))
    from sqlalchemy.exc import DBAPIError
    address = url
    if url.startswith("postgresql://"):
        # One driver whatever SQLAlchemy's default for the plain scheme: psycopg 3 (netc[cluster]).
        address = "postgresql+psycopg://" + url[len("postgresql://"):]
    sqlite = url.startswith("sqlite")
    # SQLite: workers wait their turn for the file lock rather than fail.
    engine = {"connect_args": {"timeout": 60}} if sqlite else {}
    for attempt in range(OPEN_ATTEMPTS):
        try:
            storage = optuna.storages.RDBStorage(
                address, engine_kwargs=engine, heartbeat_interval=max(1, round(heartbeat)),
                grace_period=max(3, round(3 * heartbeat)),
                heartbeat_stale_trial_callback=retry_callback(max_retry=3))
            break
        except ImportError as error:
            raise NetcError(f"storage {shown_url(url)}: its database driver is not installed ({error})",
                            hint="pip install 'netc[cluster]' for postgresql://; a MySQL driver (e.g. PyMySQL, "
                                 "as mysql+pymysql://) for mysql://") from None
        except Exception as error:
            # Workers that start together on a new database all create its
            # tables; all but one collide, and find the tables on a second try.
            if isinstance(error, DBAPIError) and attempt + 1 < OPEN_ATTEMPTS:
                time.sleep(1 + attempt)
                continue
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise NetcError(f"cannot open storage {shown_url(url)}: {first}",
                            hint="check the URL, that the server is running and that this machine may connect")
    if sqlite:
        _write_ahead(storage.engine)
    return storage


def _write_ahead(engine) -> None:
    """SQLite for several worker processes. Each transaction takes the write
    lock when it begins: SQLite ignores SELECT ... FOR UPDATE, so otherwise two
    workers could both read a trial as waiting and both claim it. Write-ahead
    log, synced at checkpoints: a trial's dozen small writes each waited for a
    disk flush otherwise (a machine crash may lose the last writes; a killed
    worker loses nothing)."""
    from sqlalchemy import event

    def on_connect(connection, record):
        connection.isolation_level = None          # netc says when transactions begin
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    engine.dispose()            # connections opened before the listeners reconnect with them


def retry_callback(max_retry: int | None):
    """Optuna's callback that queues a copy of a failed trial, slot and values included."""
    return optuna_module().storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)


def heartbeats(storage) -> bool:
    """Whether the storage keeps heartbeats (RDB storages do; a journal file does not)."""
    return getattr(storage, "get_heartbeat_interval", lambda: None)() is not None


class Heartbeat:
    """Beats for one trial in a thread while it trains, so other workers can
    tell a slow trial from one whose worker was killed."""

    def __init__(self, storage, trial_id: int, interval: float):
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.stop.wait(self.interval):
            self.storage.record_heartbeat(self.trial_id)

    def __enter__(self):
        if heartbeats(self.storage):     # claim() recorded the first beat
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        return False
