"""A throwaway PostgreSQL 15 cluster for the DuckLake tests.

Why a cluster of our own: the lake tests need a real PostgreSQL catalog, and
must not touch (or depend on) any server already on the machine. The cluster
lives in a temporary folder, listens on 127.0.0.1 on a free port, uses password
authentication for TCP (so the tests exercise PGPASSWORD the way a deployment
does), and is stopped by its postmaster's PID at the end.

>>> cluster = PgCluster.start()
>>> target = cluster.lake_target(cluster.create_database())   # 'ducklake:postgres:dbname=lake_1 ...'
>>> cluster.stop()
"""
from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import free_port

PG_BIN_CANDIDATES = (Path("/usr/lib/postgresql/15/bin"),) + tuple(
    sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
)
ROLE = "iop"
PASSWORD = "iop-test-password"  # a throwaway cluster's password, not a secret


def pg_bin() -> Path | None:
    """The folder holding initdb/pg_ctl/postgres, or None when PostgreSQL is not installed."""
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    return None


def _as_postgres() -> list[str]:
    # initdb and postgres refuse to run as root; run them as the postgres user.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class PgCluster:
    root: Path
    port: int
    bin: Path
    pid: int
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    options: str = ""  # the postgres options it was started with (start_again reuses them)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @classmethod
    def start(cls, *, durable: bool = False) -> "PgCluster":
        """initdb a new cluster in a temporary folder and start it on 127.0.0.1:<free port>.

        durable: every commit is in PostgreSQL's WAL before it returns (synchronous_commit=on),
        so a cluster stopped with `pg_ctl -m immediate` keeps what was committed, as a real
        server does. Without it a commit of the last fraction of a second can be lost.
        """
        bindir = pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (run scripts/install-system-packages.sh)")
        root = Path(tempfile.mkdtemp(prefix="iop-pg-"))
        os.chmod(root, 0o755)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        pwfile = root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(
            _as_postgres() + [
                str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            ],
            check=True, capture_output=True, text=True,
        )
        pwfile.unlink()
        port = free_port()
        # Small settings: this is a test catalog on a shared 2-core machine.
        options = (
            f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit={'on' if durable else 'off'} "
            "-c full_page_writes=off -c max_connections=100 -c shared_buffers=32MB"
        )
        subprocess.run(
            _as_postgres() + [
                str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"),
                "-o", options, "-w", "-t", "60", "start",
            ],
            check=True, capture_output=True, text=True,
        )
        pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
        cluster = cls(root=root, port=port, bin=bindir, pid=pid, options=options)
        cluster.psql(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'")
        cluster.psql(f"CREATE DATABASE {ROLE} OWNER {ROLE}")
        return cluster

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL as the superuser over the cluster's Unix socket; its output."""
        done = subprocess.run(
            _as_postgres() + [
                str(self.bin / "psql"), "-h", str(self.root), "-p", str(self.port),
                "-U", "postgres", "-d", dbname, "-v", "ON_ERROR_STOP=1", "-Atc", sql,
            ],
            check=True, capture_output=True, text=True,
        )
        return done.stdout

    def create_database(self) -> str:
        """A new empty database owned by the iop role (one per lake); its name."""
        name = f"lake_{os.getpid()}_{next(self._counter)}"
        self.psql(f"CREATE DATABASE {name} OWNER {ROLE}")
        return name

    def libpq(self, dbname: str = ROLE) -> str:
        return f"dbname={dbname} host=127.0.0.1 port={self.port} user={ROLE}"

    def lake_target(self, dbname: str = ROLE) -> str:
        """The IOP_DB / --db value for a lake whose catalog is DBNAME in this cluster."""
        return "ducklake:postgres:" + self.libpq(dbname)

    def env(self) -> dict[str, str]:
        """Environment entries a lake client needs (the password comes only from here)."""
        return {"PGPASSWORD": PASSWORD}

    def stop_immediately(self) -> None:
        """`pg_ctl -m immediate stop`: PostgreSQL goes away at once, as in a crash (no clean shutdown)."""
        subprocess.run(
            _as_postgres() + [str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
            check=True, capture_output=True, text=True,
        )

    def start_again(self) -> None:
        """Start the stopped cluster on the same port (its recovery replays the WAL)."""
        subprocess.run(
            _as_postgres() + [
                str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "log"),
                "-o", self.options, "-w", "-t", "60", "start",
            ],
            check=True, capture_output=True, text=True,
        )
        self.pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """Fast shutdown by the postmaster's PID; wait for it to exit, then remove the folder."""
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, signal.SIGQUIT)  # immediate shutdown if fast shutdown hangs
            time.sleep(0.5)
        shutil.rmtree(self.root, ignore_errors=True)
