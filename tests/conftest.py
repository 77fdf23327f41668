"""Shared fixtures: real SQLite files and real migration directories in tmp_path, and the Plex replies."""

from __future__ import annotations

import hashlib
import json
import os
import re
import selectors
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from homesections.cli import main

REPO = Path(__file__).resolve().parent.parent

# The columns 0004_media_item_card_fields adds to media_items, in its order.
CARD_COLUMNS = (
    "leaf_count",
    "viewed_leaf_count",
    "child_count",
    "content_rating",
    "summary",
    "tagline",
    "grandparent_art",
    "parent_item_key",
    "grandparent_item_key",
    "library_section_key",
    "library_section_title",
)
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


def in_wal_mode(path: Path) -> None:
    """Put a database in WAL mode: other connections then read while a runner writes."""
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)


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


# --- Plex replies: composed for the tests, and real ones when present ---------

# The composed replies are the project's own (see their README); the real ones are
# third-party and live outside the repository (see SOURCES.md there).
# HOMESECTIONS_REALWORLD points elsewhere, or at a path that does not exist to run
# the suite as on a bare clone.
COMPOSED_PLEX = REPO / "tests" / "data" / "plex"
REALWORLD = Path(os.environ.get("HOMESECTIONS_REALWORLD") or REPO.parent / "shared" / "realworld")
REAL_PLEX = REALWORLD / "plex"
ORIGINS = ("composed", "real")

# One reply of each kind: (composed, real). The two plex-api-spec_*.yaml files among the
# real ones are OpenAPI fragments (one example value per field), not replies, and the .md
# file is a licence: neither holds hubs.
PLEX_REPLIES = {
    "hubs": ("hubs.xml", "home-assistant_hubs.xml"),  # GET /hubs
    "library-hubs": ("hubs_sections_2.xml", "home-assistant_hubs_library_section.xml"),  # GET /hubs/sections/{id}
    "single-hub": ("recently_added.json", "plex-api-spec_hubs-home-recentlyAdded_section10.json"),
    "untitled-single-hub": (
        "recently_added_no_meta.json",
        "plex-api-spec_hubs-home-recentlyAdded_section2-episodes.json",
    ),
}
REAL_NOT_REPLIES = ("plex-api-spec_hubs.yaml", "plex-api-spec_hubs-sections.yaml", "plex-api-spec_LICENSE.md")
# Composed only: the /hubs reply in JSON, changed, and a MediaContainer that holds no hubs.
COMPOSED_ONLY = ("hubs.json", "hubs_reordered.xml", "hubs_removed.xml", "hubs_added.xml", "identity.xml")


def realworld(name: str) -> Path:
    """The real Plex reply ``name``, or skip the test when the real replies are absent."""
    if not REALWORLD.is_dir():
        pytest.skip(f"{REALWORLD} is absent: the real Plex replies live outside the repository (see SOURCES.md)")
    return REAL_PLEX / name


def plex_reply(origin: str, kind: str) -> Path:
    """The composed or the real reply of a kind of ``PLEX_REPLIES``; a real one skips when absent."""
    composed, real = PLEX_REPLIES[kind]
    return COMPOSED_PLEX / composed if origin == "composed" else realworld(real)


def every_reply() -> list[Any]:
    """Parameters (origin, kind) for every reply of ``PLEX_REPLIES``, composed and real."""
    return [pytest.param(origin, kind, id=f"{origin}-{kind}") for origin in ORIGINS for kind in PLEX_REPLIES]


@pytest.fixture(params=ORIGINS)
def origin(request: pytest.FixtureRequest) -> str:
    """Which replies a test reads: the composed ones, or the real ones (skipped when absent)."""
    if request.param == "real":
        realworld("")
    return request.param


def _half(path: Callable[[], Path]) -> Callable[[], bytes]:
    def cut() -> bytes:
        data = path().read_bytes()
        return data[: len(data) // 2]

    return cut


# Replies that must be refused: one error line, the cache untouched.
BAD_REPLIES: dict[str, Callable[[], bytes]] = {
    "malformed XML": lambda: b'<MediaContainer><Hub title="x"></MediaContainer>',
    "malformed JSON": lambda: b'{"MediaContainer": {"Hub": [}',
    "truncated XML": lambda: (COMPOSED_PLEX / "bad" / "truncated.xml").read_bytes(),
    "truncated JSON": lambda: (COMPOSED_PLEX / "bad" / "truncated.json").read_bytes(),
    "invalid JSON": lambda: (COMPOSED_PLEX / "bad" / "invalid.json").read_bytes(),
    "JSON, not a hubs reply": lambda: b'{"a": 1}',
    "HTML, not a hubs reply": lambda: b"<html/>",
    "an HTML error page": lambda: (COMPOSED_PLEX / "bad" / "unauthorized.html").read_bytes(),
    "plain text": lambda: b"Service Unavailable\n",
    "empty input": lambda: b"",
    "an OpenAPI fragment": lambda: (COMPOSED_PLEX / "bad" / "hubs-openapi.yaml").read_bytes(),
    "Hub is not a list": lambda: b'{"MediaContainer": {"Hub": {"title": "x"}}}',
    "Metadata is not a list": lambda: (COMPOSED_PLEX / "bad" / "metadata-not-a-list.json").read_bytes(),
    "invalid UTF-8 in XML": lambda: b'<MediaContainer><Hub title="\xff\xfe"/></MediaContainer>',
    "truncated XML, real": _half(lambda: plex_reply("real", "hubs")),
    "truncated JSON, real": _half(lambda: plex_reply("real", "single-hub")),
    "the real OpenAPI fragment": lambda: realworld(REAL_NOT_REPLIES[0]).read_bytes(),
}

# Plex item attribute -> media_items column, and how the attribute is read.
ITEM_COLUMNS = {
    "type": ("item_type", str),
    "title": ("title", str),
    "titleSort": ("sort_title", str),
    "guid": ("guid", str),
    "parentTitle": ("parent_title", str),
    "grandparentTitle": ("grandparent_title", str),
    "index": ("item_index", int),
    "parentIndex": ("parent_index", int),
    "year": ("year", int),
    "originallyAvailableAt": ("originally_available_at", str),
    "duration": ("duration_ms", int),
    "viewOffset": ("view_offset_ms", int),
    "viewCount": ("view_count", int),
    "thumb": ("thumb", str),
    "parentThumb": ("parent_thumb", str),
    "grandparentThumb": ("grandparent_thumb", str),
    "art": ("art", str),
    "addedAt": ("added_at", int),
    "lastViewedAt": ("last_viewed_at", int),
}


# An independent reading of a reply, with xml.etree and json alone, never through
# parse_hubs, so a parsing mistake cannot hide behind the same mistake in the expectation.


def reply_hubs(data: bytes) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(hub attributes, [item attributes]) per hub, in order."""
    if data.lstrip()[:1] == b"<":
        root = ET.fromstring(data)
        assert root.tag == "MediaContainer"
        # In XML every child element of a Hub is an item (Video, Photo, Playlist, Directory, Track...).
        return [(dict(hub.attrib), [dict(item.attrib) for item in hub]) for hub in root.findall("Hub")]
    container = json.loads(data)["MediaContainer"]
    if "Hub" in container:
        return [(hub, hub.get("Metadata", []) + hub.get("Directory", [])) for hub in container["Hub"]]
    # A single hub's endpoint (/hubs/home/recentlyAdded): the container is the hub; its
    # key, title and type are those of the first Meta.Type, when there is one.
    attributes = {name: value for name, value in container.items() if not isinstance(value, (dict, list))}
    for kind in container.get("Meta", {}).get("Type", [])[:1]:
        for name in ("key", "title", "type"):
            attributes.setdefault(name, kind[name])
    return [(attributes, container.get("Metadata", []))]


def derived(kind: str, *parts: str) -> str:
    """The documented derived id: ``<kind>:`` + 16 hex digits of SHA-256 of the parts joined by U+001F."""
    return f"{kind}:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def expected_hub_identifier(hub: dict[str, Any]) -> str:
    return hub.get("hubIdentifier") or hub.get("key") or derived("hub", hub.get("context") or "", hub.get("title", ""))


def expected_item_key(item: dict[str, Any]) -> str:
    return item.get("ratingKey") or item.get("key") or item.get("guid") or derived("item", item["type"], item["title"])


def read_value(value: Any, read: type) -> Any:
    return None if value is None else read(value)


def read_flag(value: Any) -> bool:
    return value is True or value == "1"


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


# --- CLI assertions shared by the test_cli_* modules ---

DURATION = r"\((?:\d+(?:\.\d+)? ms|\d+(?:\.\d+)? s)\)"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
LABELS = ("0001_create_a", "0002_create_b", "0003_create_c")


def assert_usage_error(result: Result) -> None:
    assert isinstance(result.exception, SystemExit), (result.exception, result.stderr)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Usage:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def applied_lines(stdout: str, verb: str, labels: Sequence[str]) -> None:
    """``stdout`` is exactly one ``<verb> <label> (<duration>)`` line per label, in order."""
    lines = stdout.splitlines()
    assert len(lines) == len(labels), stdout
    for line, label in zip(lines, labels, strict=True):
        assert re.fullmatch(rf"{verb} {re.escape(label)} {DURATION}", line), line


def shipped_labels() -> list[str]:
    labels = sorted(
        (path.name.removesuffix(".up.sql") for path in SHIPPED_MIGRATIONS.glob("*.up.sql")),
        key=lambda label: int(label.split("_", 1)[0]),
    )
    assert labels, "no shipped migrations found"
    return labels


def status_json(runner: CliRunner, db: Path, migrations: Path) -> dict:
    result = ok(invoke(runner, ["-d", db, "-m", migrations, "status", "--json"]))
    return json.loads(result.stdout)


def states(report: dict) -> dict[int, str]:
    return {m["version"]: m["state"] for m in report["migrations"]}


@pytest.fixture
def all_applied(runner: CliRunner, three_migrations: Path, db_path: Path) -> list[str]:
    """``-d db -m dir`` with all three migrations applied."""
    base = ["-d", os.fspath(db_path), "-m", os.fspath(three_migrations)]
    ok(invoke(runner, [*base, "migrate", "up"]))
    assert applied_versions(db_path) == [1, 2, 3]
    return base
