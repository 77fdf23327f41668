"""Shared fixtures: real SQLite files and real migration directories in tmp_path."""

from __future__ import annotations

import os
import selectors
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from homesections.cli import main

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MIGRATIONS = REPO / "sql"
SUBPROCESS_TIMEOUT = 60  # the bound on any wait for a child process; none should come near it


def write_migration(directory: Path, version: str, name: str, up: str, down: str = "") -> None:
    """Write the ``<version>_<name>`` pair into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{version}_{name}.up.sql").write_text(up, encoding="utf-8")
    (directory / f"{version}_{name}.down.sql").write_text(down, encoding="utf-8")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HOMESECTIONS_* variable from the outer environment reaches an in-process run."""
    for name in [name for name in os.environ if name.startswith("HOMESECTIONS_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """An empty migrations directory."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    return directory


@pytest.fixture
def three_migrations(migrations_dir: Path) -> Path:
    """Three small reversible migrations: tables a, b, c."""
    for number, table in enumerate("abc", start=1):
        write_migration(
            migrations_dir,
            f"000{number}",
            f"create_{table}",
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY);\n",
            f"DROP TABLE {table};\n",
        )
    return migrations_dir


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the database goes; not created."""
    return tmp_path / "cache.db"


def tables(path: Path) -> set[str]:
    """User tables of the database at ``path`` (schema_migrations included)."""
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def applied_versions(path: Path) -> list[int]:
    """Versions recorded in schema_migrations, oldest first."""
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def schema_of(path: Path) -> list[tuple[str, str, str, str | None]]:
    """sqlite_master without schema_migrations, sorted: what a migration changed."""
    with closing(sqlite3.connect(path)) as conn:
        return sorted(
            conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name <> 'schema_migrations'"
            ).fetchall()
        )


@pytest.fixture
def snapshot() -> Callable[[Path], bytes]:
    """The bytes of a file, to prove a command changed nothing."""
    return lambda path: Path(path).read_bytes()


# --- the CLI in-process, shared by the CLI test modules ---


@pytest.fixture
def runner() -> CliRunner:
    """click's runner, for ``invoke``."""
    return CliRunner()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a fresh empty working directory under tmp_path."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def invoke(runner: CliRunner, args: Sequence[str | os.PathLike[str]], **kwargs: object) -> Result:
    """Run ``homesections ARGS`` in-process, under its real program name."""
    return runner.invoke(main, [os.fspath(arg) for arg in args], prog_name="homesections", **kwargs)


def ok(result: Result) -> Result:
    """Assert a clean success (no stray exception, nothing on stderr) and return the result."""
    assert result.exception is None or (isinstance(result.exception, SystemExit) and result.exit_code == 0), (
        result.exception,
        result.stdout,
        result.stderr,
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    return result


def assert_error(result: Result, *fragments: str) -> str:
    """Exit 1 with exactly one stderr line ``error: ...`` holding every fragment; return that line."""
    # CliRunner turns an uncaught exception into exit code 1 too: insist on a deliberate exit.
    assert isinstance(result.exception, SystemExit), (result.exception, result.stdout, result.stderr)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- real processes, shared by the test modules that need one ---


def console_script() -> str:
    """The installed ``homesections`` console script."""
    beside = Path(sys.executable).parent / "homesections"
    if beside.is_file():
        return os.fspath(beside)
    found = shutil.which("homesections")
    if found is None:
        pytest.fail("the homesections console script is not installed")
    return found


def child_env() -> dict[str, str]:
    """The test's environment without HOMESECTIONS_* variables."""
    return {key: value for key, value in os.environ.items() if not key.startswith("HOMESECTIONS_")}


def run(args: Sequence[str | os.PathLike[str]], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command to completion (bounded) in ``cwd``, capturing both streams as text."""
    return subprocess.run(
        [os.fspath(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=child_env(),
        check=False,
    )


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a child process; at teardown, kill whatever a failed test left running."""
    started: list[subprocess.Popen[bytes]] = []

    def start(args: Sequence[str | os.PathLike[str]], **kwargs: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([os.fspath(arg) for arg in args], env=child_env(), **kwargs)  # type: ignore[call-overload]
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=SUBPROCESS_TIMEOUT)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    """Read ``fd`` until ``marker`` has arrived; fail on EOF or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while marker not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no {marker!r} within {timeout} s; got {data!r}")
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                pytest.fail(f"pipe closed before {marker!r}; got {data!r}")
            data += chunk
    return data


def read_only_runner(directory: Path, *, writable: Sequence[Path] = ()) -> list[str]:
    """A command prefix under which ``directory`` cannot be written, even by root.

    As root, permission bits stop nothing, so the directory is bind-mounted
    read-only in a private mount namespace (the kernel then answers EROFS);
    as any other user, taking away the write bits is enough. The files in
    ``writable`` stay writable (bound read-write on top): a database file
    that may be written in a directory that may not.
    """
    if os.geteuid() != 0:
        for path in directory.iterdir():
            if path not in writable:
                path.chmod(0o444)
        directory.chmod(0o555)
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("running as root without unshare(1): no way to make a path read-only")
    where = shlex.quote(os.fspath(directory))
    mounts = [f"mount --bind {where} {where}", f"mount -o remount,bind,ro {where}"]
    for path in writable:
        kept = shlex.quote(os.fspath(path))
        mounts += [f"mount --bind {kept} {kept}", f"mount -o remount,bind,rw {kept}"]
    probe = subprocess.run(
        [unshare, "-m", "sh", "-c", " && ".join(mounts)], capture_output=True, timeout=SUBPROCESS_TIMEOUT
    )
    if probe.returncode != 0:
        pytest.skip(f"running as root and cannot bind-mount read-only here: {probe.stderr.decode().strip()}")
    return [unshare, "-m", "sh", "-c", " && ".join([*mounts, 'exec "$@"']), "sh"]
