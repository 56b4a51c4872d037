"""Two `litlab sweep` processes share one study on a real PostgreSQL server, as workers on two machines would.

The test starts a private server (initdb + pg_ctl from Debian's `postgresql` package, which `.ci/run`
installs) in a temporary folder on a free port, and stops it afterwards. It skips only when the server
binaries are not installed, and says so.
"""

import getpass
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from conftest import sweep_file


def _binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries not found: install Debian's `postgresql` (`.ci/run` does)")
    # The server refuses to run as root: as root, run it as the package's `postgres` user.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    owner = "postgres" if as_user else getpass.getuser()
    folder = Path(tempfile.mkdtemp(prefix="litlab-pg-"))
    shutil.chown(folder, user=owner)
    os.chmod(folder, 0o700)
    data, port = folder / "data", _free_port()
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start"]
    subprocess.run(start, check=True, capture_output=True)
    try:
        subprocess.run([*as_user, _binary("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U",
                        "postgres", "litlab"], check=True, capture_output=True)  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}/litlab"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_two_processes_share_one_study_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    path = sweep_file(tmp_path, pruner={"name": "none"}, enqueue=[])
    command = [sys.executable, "-m", "litlab", "sweep", str(path), "--out", "logs", "--storage", postgres_url]
    workers = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-3000:]

    driver = postgres_url.replace("postgresql://", "postgresql+psycopg2://")  # SQLAlchemy 2.1's default is psycopg 3
    trials = optuna.load_study(study_name="tiny", storage=driver).get_trials()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) == len(trials)  # no trial number twice
    finished = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 4 <= len(finished) <= 5 and len(finished) == len(trials)  # the total, at most one beyond it
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both processes ran trials of the one study
    folder = tmp_path / "logs" / "tiny"
    for number in numbers:  # each trial written by one process: one run folder, one events file
        assert len(list((folder / f"trial_{number:04d}").glob("events.*"))) == 1
    assert (folder / "best.yaml").is_file()
