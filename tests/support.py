"""What many test modules need: the repository's paths, the CLI and AppTest runners, the sample
store, free ports, and the rule for a missing service (skip on a laptop, fail in CI).

>>> run_analytics("metrics", "--db", path, "--format", "json")   # `python -m analytics ...`, finished
>>> at = run_page("pages/retention.py", email="lead@example.org")  # signed in, login configured
>>> import_sample(target)                                          # the committed sample exports, imported
>>> import_full_exports(store, write_full_exports(tmp_path / "exports"))  # the generator's --full exports
>>> port = free_port()
>>> unavailable("nginx is missing")                                # pytest.skip, or pytest.fail under CI=true
>>> with tmpfs("4m") as folder: ...                                 # a small disk of its own (root only)
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NoReturn

import pytest

if TYPE_CHECKING:
    from analytics.ingest.importer import ImportResult
    from analytics.store import Store

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "sample_data"
# the sample's enrollments and sessions (its assessments and referrals are left to the tests that want them)
SAMPLE_EXPORTS = (SAMPLE_DIR / "enrollments.csv", SAMPLE_DIR / "sessions.csv")

APP_TIMEOUT = 180  # seconds per AppTest script run; the CI machine is small and shared
# An [auth] section that turns login on. AppTest signs users in by hand (at.user), so the
# provider named here is never contacted.
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                 "client_id": "c", "client_secret": "s",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}


# -- services the suite drives for real -------------------------------------------------
def in_ci() -> bool:
    """True when CI=true: there every service a test needs must be installed."""
    return os.environ.get("CI", "").lower() == "true"


def unavailable(message: str) -> NoReturn:
    """Skip the test for a missing service; fail it under CI=true, where skipping would hide it."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


# -- faults made for real (CI runs as root) ----------------------------------------------
def require_root(what: str) -> None:
    """Skip (fail under CI=true) a test that needs root to make its fault: mounts, chattr."""
    if os.geteuid() != 0:
        unavailable(f"{what} needs root (CI runs the suite as root)")
    for tool in ("mount", "umount", "chattr"):
        if shutil.which(tool) is None:
            unavailable(f"{what} needs {tool} (util-linux / e2fsprogs)")


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        unavailable(f"{' '.join(command)} failed: {done.stderr.strip()}")


@contextmanager
def _mount_point(prefix: str) -> Iterator[Path]:
    """A new empty folder to mount on; whatever is mounted there is unmounted and the folder removed after."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    """A folder on a tmpfs of its own of the given size ("4m"): a disk that fills up for real."""
    require_root("a small tmpfs")
    with _mount_point("iop-tmpfs-") as folder:
        _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
        yield folder


@contextmanager
def read_only_view(folder: Path) -> Iterator[Path]:
    """folder bind-mounted read-only at another path: the same files on a read-only file system."""
    require_root("a read-only bind mount")
    with _mount_point("iop-ro-") as view:
        _run("mount", "--bind", str(folder), str(view))
        _run("mount", "-o", "remount,bind,ro", str(view))
        yield view


@contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """path marked immutable (chattr +i): not even root may write it until the flag is cleared."""
    require_root("chattr +i")
    _run("chattr", "+i", str(path))
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the command line -------------------------------------------------------------------
def run_analytics(*args: str, env: dict[str, str] | None = None,
                  timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m analytics ARGS` run to the end from the repository root (output captured as text).

    env adds to (or overrides) this process's environment, as a deployment's would.
    """
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args], cwd=REPO_ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}, timeout=timeout,
    )


# -- pages under Streamlit's AppTest ----------------------------------------------------
def app_test(page: str | Path, *, email: str | None = None, state: dict | None = None):
    """An AppTest of page (a path from the repository root), not run yet.

    With email, login is configured (AUTH) and that user is signed in; state is put into
    session state before the first run, as a tampering client could.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / page), default_timeout=APP_TIMEOUT)
    if email is not None:
        at.secrets.update(AUTH)
        at.user = {"is_logged_in": True, "email": email}
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at


def run_page(page: str | Path, *, email: str | None = None, state: dict | None = None):
    """app_test(page, ...) after its first run."""
    return app_test(page, email=email, state=state).run()


# -- the sample data --------------------------------------------------------------------
def import_sample(target: str | Path, **import_args) -> None:
    """Import the committed sample's enrollments and sessions into the store at target (a file or a
    DuckLake), as a site's own data would be imported (its contents are 'imported', not 'sample')."""
    from analytics.ingest.importer import import_files
    from analytics.store import Store

    store = Store(str(target))
    try:
        import_files(store, SAMPLE_EXPORTS, **import_args)
    finally:
        store.close()


# -- the generator's --full exports -----------------------------------------------------
# The kinds of the --full exports that tests import by default: enrollments (with
# first_contact_date, left empty at one site), sessions and referrals.
FULL_EXPORT_KINDS = ("enrollments", "sessions", "referrals")


def write_full_exports(out: Path, *, episodes: int | None = None, seed: int | None = None,
                       referrals: int | None = None) -> Path:
    """The generator's --full exports written into out (created): by default those of the
    committed sample's size and seed (400 episodes, seed 1). Returns out.

    referrals: the number of requests for service in all (the generator's --referrals).
    """
    from sample_data import SAMPLE_EPISODES, SAMPLE_SEED
    from sample_data.generate import generate, write_csv

    generated = generate(SAMPLE_EPISODES if episodes is None else episodes,
                         SAMPLE_SEED if seed is None else seed, full=True, referrals=referrals)
    write_csv(generated, Path(out))
    return Path(out)


def import_full_exports(target: Store | str | Path, exports: Path, kinds: tuple[str, ...] = FULL_EXPORT_KINDS,
                        **import_args) -> ImportResult:
    """Import the --full exports of kinds from the directory exports into a store (a Store, or
    the target of one: a file or a DuckLake), in one command through the real importer, as a
    site's own data would be imported. Returns the import's result.
    """
    from analytics.ingest.importer import import_files
    from analytics.store import Store

    files = [Path(exports) / f"{kind}.csv" for kind in kinds]
    if isinstance(target, Store):
        return import_files(target, files, **import_args)
    store = Store(str(target))
    try:
        return import_files(store, files, **import_args)
    finally:
        store.close()
