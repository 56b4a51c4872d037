"""Where a study lives, chosen so that stopping a sweep at any moment loses nothing that finished.

- One worker, no `--storage`: SQLite in the sweep folder (`study.db`), an embedded file. With Optuna's
  heartbeat a trial whose process died (SIGKILL, power cut) is marked failed by the next `ask` once its
  last heartbeat is older than the grace period, and `RetryHeartbeatStaleTrialCallback` (Optuna's retry,
  called `RetryFailedTrialCallback` before Optuna 4.9) queues the same parameters again.
- `--workers N`, no `--storage`: Optuna's journal file (`study.journal`) with its `open()`-based lock, the
  storage Optuna recommends for several processes on one machine (its docs advise against SQLite there).
  Optuna's heartbeat exists for RDB storages only, so a trial killed with the whole sweep stays RUNNING
  in the journal; it is not counted towards the total, which new trials then fill.
- `--storage postgresql://...` (or mysql://): many machines, heartbeat and retry as for SQLite.
The store already in the sweep folder wins, so re-running the same command always finds its study.
"""

import importlib.util
import random
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

from litlab.command.errors import ConfigError

SQLITE_FILE, JOURNAL_FILE = "study.db", "study.journal"
MAX_RETRIES = 3  # the same parameters are tried again at most this many times after their process died
SCHEMA_ATTEMPTS = 3  # workers starting together on an empty database race to create Optuna's tables


class RetryAndNote(RetryHeartbeatStaleTrialCallback):
    """Optuna's retry of a heartbeat-stale trial, plus a line in that trial's run folder saying what happened."""

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        super().__call__(study, trial)
        run_dir = Path(trial.user_attrs.get("run_dir", ""))
        if run_dir.name and run_dir.is_dir():
            note = f"Trial {trial.number} stopped sending heartbeats (its process died); Optuna marked it failed"
            (run_dir / "interrupted.txt").write_text(f"{note} and queued its parameters again.\n")


def storage_url(spec_storage: str | None, folder: Path, workers: int) -> str:
    """The storage URL or journal path of this sweep (see the module docstring)."""
    if spec_storage:
        if spec_storage.startswith("sqlite") and workers > 1:
            raise ConfigError("SQLite is not safe for parallel workers; leave out --storage (a journal file is used).")
        return spec_storage
    sqlite, journal = folder / SQLITE_FILE, folder / JOURNAL_FILE
    if sqlite.exists() and workers > 1:
        raise ConfigError(
            f"this sweep's study is in {sqlite} (SQLite), which is not safe for parallel workers. Continue it "
            "with --workers 1, or start a new sweep (--name) with --workers N."
        )
    if journal.exists() or (workers > 1 and not sqlite.exists()):
        return str(journal)
    return f"sqlite:///{sqlite}"


def open_storage(url: str, heartbeat_s: int) -> optuna.storages.BaseStorage:
    """An RDB storage with heartbeat and retry for a database URL; a locked journal file for a path."""
    if "://" not in url:
        return optuna.storages.JournalStorage(JournalFileBackend(url, lock_obj=JournalFileOpenLock(url)))
    engine: dict[str, Any] = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None:
        url = url.replace("postgresql://", "postgresql+psycopg2://", 1)  # SQLAlchemy 2.1 defaults to psycopg 3
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return _rdb_storage(url, engine, heartbeat_s)
        except ImportError:
            raise ConfigError(
                f"no database driver for {url.split('://')[0]}: for PostgreSQL, pip install 'litlab[postgres]'."
            ) from None
        except (
            sqlalchemy.exc.IntegrityError,
            sqlalchemy.exc.ProgrammingError,
        ):  # another worker created Optuna's tables at the same moment
            if attempt == SCHEMA_ATTEMPTS - 1:
                raise
            time.sleep(1 + random.random())
    raise AssertionError("unreachable")


def _rdb_storage(url: str, engine: dict[str, Any], heartbeat_s: int) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():  # heartbeat and the retry callback are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine,
            heartbeat_interval=heartbeat_s,
            grace_period=2 * heartbeat_s,
            heartbeat_stale_trial_callback=RetryAndNote(max_retry=MAX_RETRIES),
        )
