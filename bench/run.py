"""What homesections costs beyond Python and SQLite themselves.

Rerun, with the interpreter of the environment homesections is installed in
(the CLI rows start the ``homesections`` console script next to it):

    python bench/run.py                      # full run: ~8 minutes on 2 cores
    python bench/run.py --quick              # small sizes, 3 repetitions: seconds
    python bench/run.py --repeat 9 --output /tmp/bench.md
    python bench/run.py --peers              # dbmate and yoyo, where installed (peers.py): ~16 minutes
    python bench/run.py --journal            # the runner's connection: journal modes, round trips

How it measures. Every scenario pits homesections against a floor, the least
any tool must do for the same result, measured in the same run. The
contenders of a scenario run round-robin, one repetition each per round,
the first one rotating from round to round, so that machine noise (other
processes, a busy disk) hits all of them alike. Every repetition starts from
a fresh database in a temp directory (copied from a template and fsynced
when it needs content); migration directories are generated once per size.
Databases keep SQLite's defaults: a rollback journal and synchronous=FULL,
so every commit waits for the disk, for homesections and floors alike.
Library and floor runs of the larger scenarios each happen in a child
process (``--worker``) that times only the operation, after its imports,
and reports its CPU time and peak RSS. Child processes cache their bytecode
in a private directory, as an installed package does. ``--repeat N`` sets
the repetitions (default 15, since a busy machine moves a median of five by
15 %): the sub-second scenarios (CLI, library no-op, status, applying 100)
take four times as many; 10,000 migrations take at most 3.

The workloads. Apply, rollback and status use 1,000 generated migrations,
each creating a table and an index and inserting two rows. Scaling and peak
memory use "steady" migrations that do the same work and then drop their
table again: with a schema that grows by two objects a migration, SQLite's
own cost per migration grows about fourfold from 100 to 10,000 (every
CREATE scans sqlite_master), for the floor as much as for any runner, and
would hide whatever the runner adds.

How to read the table. ``median`` is the contender's median over the
repetitions, ``floor`` the floor's median from the same rounds, and
``ratio`` the median of the per-round ratios (contender / floor, the two
run back to back), which cancels the slow drift of a shared machine's speed
that a ratio of the two medians would keep; where the two did not run in
the same rounds (a contender against itself at two sizes) it is median /
floor. 1.00 means homesections adds nothing. Ratios are
what to compare between machines; absolute times mostly tell how fast the
disk syncs. Where the target is an allowance rather than a factor (the
library no-op, peak RSS), the difference is shown beside the ratio. Scaling
rows give the time per migration; the "per migration at N / at 100" row
compares a contender with itself, so its floor column is the same
contender's time per migration at 100 (the floor's own row shows how flat
SQLite itself stays). Rows without a target are for context. A second
table repeats the comparisons in CPU time, which leaves out the waits for
the disk: on a busy machine it is the steadier view of the runner's own
work. The floors are listed under the tables, then the spread of every
contender. The floors themselves, stdlib-only loops, live in ``floor.py``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import NamedTuple

from floor import floor_apply, floor_rollback, floor_status, hand_check

# Run as a script, this module is __main__; peers.py imports it as "run": let that name find
# this very module rather than load a second copy (with its own ENV) from the file.
sys.modules.setdefault("run", sys.modules[__name__])

SCRIPT = Path(__file__).resolve()
CONSOLE_SCRIPT = Path(sys.executable).parent / "homesections"
CLI = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "homesections"]
# Child processes: no HOMESECTIONS_* settings, and bytecode cached as after a pip install
# (main() points PYTHONPYCACHEPREFIX into the work directory and warms it up), even where
# PYTHONDONTWRITEBYTECODE is set: else every start would compile homesections from source.
ENV = {
    key: value
    for key, value in os.environ.items()
    if not key.startswith("HOMESECTIONS_") and key != "PYTHONDONTWRITEBYTECODE"
}

# --- generated migrations ----------------------------------------------------

GENERATED_UP = """CREATE TABLE t{n} (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE INDEX t{n}_name ON t{n} (name);
INSERT INTO t{n} (name) VALUES ('first row'), ('second row');
"""
GENERATED_DOWN = "DROP TABLE t{n};\n"

# For scaling: the same work, but the table goes again, so SQLite's own cost per migration
# stays flat (each CREATE scans sqlite_master, which would otherwise grow by two entries a migration).
STEADY_UP = """CREATE TABLE IF NOT EXISTS ledger (migration INTEGER PRIMARY KEY, row_count INTEGER NOT NULL);
CREATE TABLE scratch_{n} (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE INDEX scratch_{n}_name ON scratch_{n} (name);
INSERT INTO scratch_{n} (name) VALUES ('first row'), ('second row');
INSERT INTO ledger (migration, row_count) SELECT {n}, count(*) FROM scratch_{n};
DROP TABLE scratch_{n};
"""
STEADY_DOWN = "DELETE FROM ledger WHERE migration = {n};\n"

ITEMS_UP = """CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    added_at INTEGER NOT NULL
);
CREATE INDEX items_added_at ON items (added_at);
"""
ITEMS_DOWN = "DROP TABLE items;\n"
FILL_ITEMS = """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO items (id, title, added_at) SELECT i, 'Title number ' || i, 1700000000 + i FROM n"""

# Steps 4 to 8 of SQLite's 12-step table rebuild (https://sqlite.org/lang_altertable.html):
# the runner, or the floor by hand, does the rest (foreign keys off, the transaction,
# foreign_key_check, commit).
REBUILD_UP = """CREATE TABLE items_new (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    sort_title TEXT NOT NULL
);
INSERT INTO items_new (id, title, added_at, sort_title) SELECT id, title, added_at, lower(title) FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_added_at ON items (added_at);
"""
REBUILD_DOWN = """CREATE TABLE items_old (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    added_at INTEGER NOT NULL
);
INSERT INTO items_old (id, title, added_at) SELECT id, title, added_at FROM items;
DROP TABLE items;
ALTER TABLE items_old RENAME TO items;
CREATE INDEX items_added_at ON items (added_at);
"""


def write_pair(directory: Path, stem: str, up: str, down: str) -> None:
    (directory / f"{stem}.up.sql").write_text(up, encoding="utf-8")
    (directory / f"{stem}.down.sql").write_text(down, encoding="utf-8")


def generated_migrations(root: Path, count: int) -> Path:
    """``count`` migrations, each creating a table and an index and inserting two rows."""
    return numbered_migrations(root / f"generated-{count}", count, "table", GENERATED_UP, GENERATED_DOWN)


def steady_migrations(root: Path, count: int) -> Path:
    """``count`` migrations whose SQLite work does not grow with their number (``STEADY_UP``)."""
    return numbered_migrations(root / f"steady-{count}", count, "steady", STEADY_UP, STEADY_DOWN)


def numbered_migrations(directory: Path, count: int, name: str, up: str, down: str) -> Path:
    """Write versions 1 to ``count``, zero-padded, from templates taking the version as ``{n}``."""
    directory.mkdir()
    width = len(str(count))
    for n in range(1, count + 1):
        write_pair(directory, f"{n:0{width}d}_{name}_{n}", up.format(n=n), down.format(n=n))
    return directory


def rebuild_migrations(root: Path) -> Path:
    """0001 creates ``items``; 0002 rebuilds it with a new NOT NULL column."""
    directory = root / "rebuild"
    directory.mkdir()
    write_pair(directory, "0001_create_items", ITEMS_UP, ITEMS_DOWN)
    write_pair(directory, "0002_add_sort_title", REBUILD_UP, REBUILD_DOWN)
    return directory


# --- databases -----------------------------------------------------------------


def seed_migrations(root: Path, mib: int) -> Path:
    """One migration of ``mib`` MiB of seed data, its file dated back so that its stat is trusted once applied."""
    directory = root / f"seed-{mib}"
    directory.mkdir()
    row = "('" + "x" * 1000 + "')"
    rows = ",\n".join([row] * 1000)
    inserts = "".join(f"INSERT INTO seed (payload) VALUES\n{rows};\n" for _ in range(mib))
    write_pair(directory, "0001_seed", f"CREATE TABLE seed (payload TEXT);\n{inserts}", "DROP TABLE seed;\n")
    settled = time.time() - 60
    for path in directory.iterdir():
        os.utime(path, (settled, settled))
    return directory


def backup_template(root: Path, mib: int) -> Path:
    """A database of about ``mib`` MiB of random blobs."""
    database = root / f"backup-{mib}.db"
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("CREATE TABLE blobs (payload BLOB)")
        conn.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
            "INSERT INTO blobs SELECT randomblob(1024) FROM c",
            (mib * 1024,),
        )
    return database


def stdlib_backup(database: str) -> None:
    """SQLite's own online backup, as the standard library offers it: the floor of a backup."""
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(f"{database}.bak")) as target:
        source.backup(target)


def fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fresh_copy(template: Path, rep_dir: Path) -> Path:
    """A private copy of ``template``, on disk before the clock starts."""
    target = rep_dir / "bench.db"
    shutil.copyfile(template, target)
    fsync_path(target)
    fsync_path(rep_dir)
    return target


def library_template(root: Path, name: str, migrations: Path | None, to: int | None = None) -> Path:
    """A database migrated by homesections itself (``migrations`` None: the shipped ones)."""
    import homesections

    database = root / f"{name}.db"
    homesections.migrate(database, migrations, to=to)
    return database


def rebuild_template(root: Path, migrations: Path, rows: int) -> Path:
    """``items`` created by migration 0001 and filled with ``rows`` rows; 0002 pending."""
    database = library_template(root, "rebuild-template", migrations, to=1)
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute(FILL_ITEMS, (rows,))
    return database


# --- workers: one timed operation in a child process ----------------------------


def worker_operation(kind: str) -> Callable[[str, str], object]:
    """Import what ``kind`` needs (before the clock starts); floors never import homesections."""
    floors: dict[str, Callable[[str, str], object]] = {
        "floor-apply": floor_apply,
        "floor-apply-checked": partial(floor_apply, checked=True),
        "floor-apply-truncate": partial(floor_apply, journal_mode="truncate"),
        "floor-apply-persist": partial(floor_apply, journal_mode="persist"),
        "floor-apply-exclusive": partial(floor_apply, exclusive=True),
        "floor-apply+data_version": partial(floor_apply, round_trips=["data_version"]),
        "floor-apply+read_applied": partial(floor_apply, round_trips=["read_applied"]),
        "floor-apply+all": partial(floor_apply, checked=True, round_trips=["data_version", "read_applied"]),
        "floor-rollback": floor_rollback,
        "floor-status": floor_status,
    }
    if kind in floors:
        return floors[kind]
    import homesections

    library: dict[str, Callable[[str, str], object]] = {
        "library-migrate": homesections.migrate,
        "library-rollback": lambda db, directory: homesections.rollback(db, directory, to=0),
        "library-status": homesections.status,
    }
    return library[kind]


def run_worker(kind: str, database: str, directory: str) -> None:
    """Time one operation; print its seconds and this process's peak RSS as JSON."""
    operation = worker_operation(kind)
    started, cpu_started = time.perf_counter(), time.process_time()
    operation(database, directory)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "cpu": cpu, "maxrss_kib": maxrss_kib}))


# --- contenders and the round-robin -----------------------------------------------


class Sample(NamedTuple):
    seconds: float  # wall clock
    cpu: float  # user + system time of the process doing the work
    maxrss_kib: int | None = None


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[Path], Sample]  # given a fresh, empty directory
    repeat: int


def checked_run(argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=ENV, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} exited with {done.returncode}:\n{done.stderr}")
    return done


def command(name: str, argv: Callable[[Path], list[str]], repeat: int, template: Path | None = None) -> Contender:
    """A whole process, timed from the outside: start-up included."""

    def run(rep_dir: Path) -> Sample:
        database = fresh_copy(template, rep_dir) if template else rep_dir / "bench.db"
        args = argv(database)
        cpu_before = children_cpu()
        started = time.perf_counter()
        checked_run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return Sample(time.perf_counter() - started, children_cpu() - cpu_before)

    return Contender(name, run, repeat)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # of the children waited for so far
    return usage.ru_utime + usage.ru_stime


def worker(name: str, kind: str, migrations: Path, repeat: int, template: Path | None = None) -> Contender:
    """One operation in a child process, timed inside it, imports excluded."""

    def run(rep_dir: Path) -> Sample:
        database = fresh_copy(template, rep_dir) if template else rep_dir / "bench.db"
        args = [sys.executable, str(SCRIPT), "--worker", kind, str(database), str(migrations)]
        report = json.loads(checked_run(args, capture_output=True).stdout)
        return Sample(report["seconds"], report["cpu"], report["maxrss_kib"])

    return Contender(name, run, repeat)


def in_process(name: str, call: Callable[[str], object], template: Path, repeat: int, inner: int) -> Contender:
    """``inner`` calls in this process on one fresh copy; the sample is the mean call."""

    def run(rep_dir: Path) -> Sample:
        database = str(fresh_copy(template, rep_dir))
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(inner):
            call(database)
        return Sample((time.perf_counter() - started) / inner, (time.process_time() - cpu_started) / inner)

    return Contender(name, run, repeat)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- rows of the table -------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    scenario: str
    contender: str
    median: str
    floor: str
    ratio: str
    target: str
    ok: str

    def markdown(self) -> str:
        cells = (self.scenario, self.contender, self.median, self.floor, self.ratio, self.target, self.ok)
        return "| " + " | ".join(cells) + " |"


def median(samples: list[Sample], cpu: bool = False) -> float:
    return statistics.median(sample.cpu if cpu else sample.seconds for sample in samples)


def seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def verdict(passed: bool | None) -> str:
    return "—" if passed is None else "yes" if passed else "**no**"


def paired_ratio(taken: list[Sample], floor: list[Sample], cpu: bool = False) -> float:
    """The median of the per-round ratios, when both ran in the same rounds; else the ratio of the medians.

    A round runs both back to back, so a ratio within a round cancels the
    drift of the machine's speed (identical statements here take 1.1 s of
    CPU in one minute and 1.8 s in another), where a ratio of two medians
    keeps it.
    """
    if len(taken) != len(floor):
        return median(taken, cpu) / median(floor, cpu)
    return statistics.median(
        (t.cpu / f.cpu) if cpu else (t.seconds / f.seconds) for t, f in zip(taken, floor, strict=True)
    )


def ratio_row(
    scenario: str, contender: str, value: float, floor: float, limit: float | None, unit: str = "", ratio: float = 0
) -> Row:
    """A contender against its floor; ``limit`` is the target ratio (None: for context).

    ``ratio`` defaults to value / floor.
    """
    ratio = ratio or value / floor
    target = f"≤ {limit:.2f}x" if limit is not None else "—"
    return Row(
        scenario,
        contender,
        seconds(value) + unit,
        seconds(floor) + unit,
        f"{ratio:.2f}x",
        target,
        verdict(None if limit is None else ratio <= limit),
    )


def share_row(scenario: str, at_large: float, at_small: float) -> Row:
    """Two ratios to the floor compared: how much the runner's share of the time grew."""
    growth = at_large / at_small
    return Row(
        scenario,
        "homesections.migrate",
        f"{at_large:.2f}x",
        f"{at_small:.2f}x",
        f"{growth:.2f}x",
        "≤ 1.20x",
        verdict(growth <= 1.2),
    )


def allowance_row(scenario: str, contender: str, value: float, floor: float, allowance: float, unit: str) -> Row:
    """A contender against its floor plus an allowance (in ``unit``, as are the values): shows the difference."""
    extra = value - floor
    return Row(
        scenario,
        contender,
        f"{value:.2f} {unit}",
        f"{floor:.2f} {unit}",
        f"{value / floor:.2f}x ({extra:+.2f} {unit})",
        f"≤ floor + {allowance:g} {unit}",
        verdict(extra <= allowance),
    )


# --- scenarios ---------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    repeat: int
    big_repeat: int  # for 10,000 migrations
    cheap_repeat: int  # for the scenarios that take a fraction of a second: more samples, steadier medians
    inner: int  # library no-op calls per repetition
    apply_size: int
    scaling_sizes: tuple[int, ...]
    rows: int
    seed_mib: int  # the applied migration of the start-up-whatever-the-size row
    backup_mib: int

    @classmethod
    def from_args(cls, quick: bool, repeat: int | None) -> Config:
        if quick:
            repeat = repeat or 3
            return cls(repeat, min(repeat, 3), repeat, 5, 100, (100, 1_000), 100_000, 2, 5)
        repeat = repeat or 15
        return cls(repeat, min(repeat, 3), 4 * repeat, 20, 1_000, (100, 1_000, 10_000), 1_000_000, 20, 100)

    def repeats_for(self, size: int) -> int:
        """Few at 10,000 (a minute each), many at 100 (a fraction of a second, so its median is noisy)."""
        if size >= 10_000:
            return self.big_repeat
        return self.cheap_repeat if size <= 100 else self.repeat


IMPORT_FLOOR = 'python -c "import click, sqlite3"'
FLOORS = {
    "no-op up, CLI / status, CLI": f"`{IMPORT_FLOOR}` with the same interpreter, as a process",
    "no-op up, library": "in-process `sqlite3.connect(db)` + `SELECT max(version) FROM schema_migrations` + close",
    "apply / scaling / peak RSS": "a stdlib loop over the up files: one connection (isolation_level=None); per file: "
    "read it, BEGIN IMMEDIATE, its statements, INSERT the bookkeeping row (with the file's SHA-256), COMMIT",
    "rollback": "the same loop backwards over the down files, DELETE-ing the bookkeeping row",
    "status": "read the bookkeeping rows, list the directory, read and hash every up file",
    "data migration": "the same statements by hand: foreign_keys OFF, BEGIN IMMEDIATE, the 5 statements, "
    "PRAGMA foreign_key_check, the bookkeeping row, COMMIT",
    "no-op up, library, N MB applied": "homesections' own no-op start-up on the shipped schema (the target: the "
    "same within 2 ms, whatever the size of the applied files)",
    "backup": "`sqlite3.Connection.backup` into a new file beside the database",
}
FOREIGN_KEY_ROWS = 1_000  # child rows in the database of the round-trip scenario
JOURNAL_FLOORS = {
    "journal mode": "the apply loop in a child process, its connection's journal in SQLite's default DELETE mode; "
    "the contenders set TRUNCATE or PERSIST on the same connection first (PRAGMA journal_mode) and DELETE again "
    "at the end; synchronous=FULL throughout",
    "round trips": "the apply loop on a database that already holds a parent and a child table with a foreign key "
    f"({FOREIGN_KEY_ROWS:,} child rows); each contender adds one statement per migration: PRAGMA data_version or "
    "the SELECT of every applied row at the start of the transaction, or foreign_keys OFF and PRAGMA "
    "foreign_key_check before the commit",
}


def thousands(n: int) -> str:
    return f"{n:,}"


class Bench:
    """The scenarios, sharing a work directory, the generated fixtures and every sample taken."""

    def __init__(self, config: Config, work: Path) -> None:
        self.config = config
        self.work = work
        self.samples: list[tuple[str, str, list[Sample]]] = []  # group, contender, samples
        self.cpu_rows: dict[tuple[str, str], Row] = {}  # the same comparisons in CPU time
        log("[setup] generating migrations and template databases")
        self.generated = generated_migrations(work, config.apply_size)
        self.applied = library_template(work, "applied", self.generated)

    @cached_property
    def shipped(self) -> Path:
        return library_template(self.work, "shipped", None)

    @cached_property
    def steady(self) -> dict[int, Path]:
        log("[setup] generating steady migrations")
        return {size: steady_migrations(self.work, size) for size in self.config.scaling_sizes}

    def run(self) -> list[Row]:
        """Every scenario, each group interleaved within itself; rows in the issue's order."""
        cli = self.cli()
        noop = self.library_noop()
        apply, scaling, rss = self.apply_and_scaling()
        rollback = self.rollback()
        status = self.status()
        data = self.data_migration()
        machines = self.users_machines()
        return [*cli, *noop, *apply, *rollback, *status, *scaling, *data, *rss, *machines]

    def round_robin(self, group: str, contenders: list[Contender], warm_up: bool = False) -> dict[str, list[Sample]]:
        """One repetition of each contender per round, the first one rotating; fresh directories.

        ``warm_up`` runs each contender once first, untimed: lazy imports, the bytecode cache.
        """
        for contender in contenders if warm_up else ():
            contender.run(Path(tempfile.mkdtemp(dir=self.work)))
        samples: dict[str, list[Sample]] = {contender.name: [] for contender in contenders}
        rounds = max(contender.repeat for contender in contenders)
        for round_number in range(rounds):
            due = [c for c in contenders if len(samples[c.name]) < c.repeat]
            shift = round_number % len(due)
            for contender in due[shift:] + due[:shift]:
                rep_dir = Path(tempfile.mkdtemp(dir=self.work))
                sample = contender.run(rep_dir)
                shutil.rmtree(rep_dir)
                samples[contender.name].append(sample)
                log(f"[{group}] round {round_number + 1}/{rounds}: {contender.name}: {seconds(sample.seconds)}")
        self.samples += [(group, name, taken) for name, taken in samples.items()]
        return samples

    def compare(
        self,
        scenario: str,
        contender: str,
        taken: list[Sample],
        floor: list[Sample],
        limit: float | None,
        per: int = 1,
        unit: str = "",
    ) -> Row:
        """The wall-clock row; the CPU-time row of the same samples goes to ``cpu_rows``."""
        cpu_value, cpu_floor = median(taken, cpu=True) / per, median(floor, cpu=True) / per
        cpu_ratio = paired_ratio(taken, floor, cpu=True)
        self.cpu_rows[scenario, contender] = ratio_row(
            scenario, contender, cpu_value, cpu_floor, limit, unit, cpu_ratio
        )
        value, floor_value = median(taken) / per, median(floor) / per
        return ratio_row(scenario, contender, value, floor_value, limit, unit, paired_ratio(taken, floor))

    def cli(self) -> list[Row]:
        """The console script on an up-to-date database (shipped migrations) against bare start-up."""
        repeat, shipped = self.config.cheap_repeat, self.shipped
        floor = command(IMPORT_FLOOR, lambda _db: [sys.executable, "-c", "import click, sqlite3"], repeat)
        # --database, not -d: click tries every short option as a long one first, and its "no such
        # option" path imports difflib (a few ms). That is click's cost; docs/performance.md shows it.
        up = command(
            "homesections migrate up", lambda db: [*CLI, "--database", str(db), "migrate", "up"], repeat, shipped
        )
        status = command("homesections status", lambda db: [*CLI, "--database", str(db), "status"], repeat, shipped)
        samples = self.round_robin("CLI", [floor, up, status], warm_up=True)
        return [
            self.compare("no-op up, CLI", up.name, samples[up.name], samples[floor.name], 1.15),
            self.compare("status, CLI", status.name, samples[status.name], samples[floor.name], 1.15),
        ]

    def library_noop(self) -> list[Row]:
        """``homesections.migrate(db)`` in this process, database up to date, against the hand check."""
        import homesections

        repeat, inner = self.config.cheap_repeat, self.config.inner
        floor = in_process("connect + SELECT max(version)", hand_check, self.shipped, repeat, inner)
        library = in_process("homesections.migrate(db)", homesections.migrate, self.shipped, repeat, inner)
        samples = self.round_robin("library no-op", [floor, library], warm_up=True)
        taken, floor_taken = samples[library.name], samples[floor.name]
        scenario = "no-op up, library"
        cpu = (median(taken, cpu=True) * 1e3, median(floor_taken, cpu=True) * 1e3)
        self.cpu_rows[scenario, library.name] = allowance_row(scenario, library.name, *cpu, 2, "ms")
        return [allowance_row(scenario, library.name, median(taken) * 1e3, median(floor_taken) * 1e3, 2, "ms")]

    def users_machines(self) -> list[Row]:
        """A no-op start-up with a large applied migration against one with the shipped schema; a backup.

        The seed migration's file is dated back before it is applied, so its stat is recorded and
        trusted (the runner trusts a stat only once a file is two seconds old).
        """
        import homesections
        from homesections.database import Database

        repeat, inner, config = self.config.cheap_repeat, self.config.inner, self.config
        seed = seed_migrations(self.work, config.seed_mib)
        seeded = library_template(self.work, "seeded", seed)
        shipped = in_process(
            "homesections.migrate(db), shipped schema", homesections.migrate, self.shipped, repeat, inner
        )
        name = f"homesections.migrate(db), {config.seed_mib} MB migration applied"
        big = in_process(name, lambda db: homesections.migrate(db, seed), seeded, repeat, inner)
        samples = self.round_robin("start-up, any size", [shipped, big], warm_up=True)
        scenario = f"no-op up, library, {config.seed_mib} MB applied"
        values = (median(samples[big.name]) * 1e3, median(samples[shipped.name]) * 1e3)
        rows = [allowance_row(scenario, big.name, *values, 2, "ms")]

        def ours(database: str) -> None:
            db = Database.open(database, "read", 30)
            assert db is not None
            with db:
                db.backup_to(f"{database}.bak")

        template = backup_template(self.work, config.backup_mib)
        floor = in_process("sqlite3 Connection.backup", stdlib_backup, template, config.big_repeat + 2, 1)
        copy = in_process("homesections backup (0600, renamed into place)", ours, template, config.big_repeat + 2, 1)
        samples = self.round_robin("backup", [floor, copy])
        scenario = f"backup of a {config.backup_mib} MB database"
        rows.append(self.compare(scenario, copy.name, samples[copy.name], samples[floor.name], 1.10))
        return rows

    def apply_and_scaling(self) -> tuple[list[Row], list[Row], list[Row]]:
        """Apply the generated migrations and every steady size, library and floor interleaved.

        The largest steady size gives peak RSS too.
        """
        size = self.config.apply_size
        contenders: dict[tuple[str, int | str], Contender] = {
            ("library", "apply"): worker("homesections.migrate", "library-migrate", self.generated, self.config.repeat),
            ("floor", "apply"): worker("stdlib loop", "floor-apply", self.generated, self.config.repeat),
        }
        for steady, directory in self.steady.items():
            repeat = self.config.repeats_for(steady)
            name = f"homesections.migrate, steady {thousands(steady)}"
            contenders["library", steady] = worker(name, "library-migrate", directory, repeat)
            floor = f"stdlib loop, steady {thousands(steady)}"
            contenders["floor", steady] = worker(floor, "floor-apply", directory, repeat)
        samples = self.round_robin("apply", list(contenders.values()))
        taken = {key: samples[contender.name] for key, contender in contenders.items()}
        scenario = f"apply {thousands(size)}"
        apply = self.compare(scenario, "homesections.migrate", taken["library", "apply"], taken["floor", "apply"], 1.15)
        return [apply], self.scaling_rows(taken), [self.rss_row(taken)]

    def scaling_rows(self, taken: dict[tuple[str, int | str], list[Sample]]) -> list[Row]:
        """Time per migration at each size; then each contender's growth from the smallest size to the largest."""
        sizes = sorted(self.steady)
        rows = []
        for size in sizes:
            scenario = f"scaling (steady): apply {thousands(size)}, per migration"
            library, floor = taken["library", size], taken["floor", size]
            rows.append(self.compare(scenario, "homesections.migrate", library, floor, None, size, "/migration"))
        small, large = sizes[0], sizes[-1]
        scenario = f"scaling (steady): per migration at {thousands(large)} / at {thousands(small)}"
        for who, contender, limit in (("library", "homesections.migrate", 1.2), ("floor", "stdlib loop", None)):
            at_large, at_small = (
                self.per_migration(taken[who, large], large),
                self.per_migration(taken[who, small], small),
            )
            rows.append(self.compare(scenario, contender, at_large, at_small, limit, 1, "/migration"))
        rows.append(self.share_row(taken, small, large))
        return rows

    def share_row(self, taken: dict[tuple[str, int | str], list[Sample]], small: int, large: int) -> Row:
        """homesections' time over the floor's at the largest size, against the same at the smallest.

        The flatness question asked of what the runner adds alone: 1.00 means
        its share did not grow at all, whatever SQLite's own cost did.
        """

        def share(size: int, cpu: bool) -> float:
            return paired_ratio(taken["library", size], taken["floor", size], cpu)

        scenario = f"scaling (steady): homesections / floor at {thousands(large)}, against at {thousands(small)}"
        self.cpu_rows[scenario, "homesections.migrate"] = share_row(scenario, share(large, True), share(small, True))
        return share_row(scenario, share(large, False), share(small, False))

    @staticmethod
    def per_migration(samples: list[Sample], size: int) -> list[Sample]:
        return [Sample(sample.seconds / size, sample.cpu / size, sample.maxrss_kib) for sample in samples]

    def rss_row(self, taken: dict[tuple[str, int | str], list[Sample]]) -> Row:
        """Median peak RSS of the child processes that applied the largest steady size."""
        size = max(self.steady)

        def peak_mib(who: str) -> float:
            return statistics.median(sample.maxrss_kib or 0 for sample in taken[who, size]) / 1024

        scenario = f"peak RSS, apply {thousands(size)} steady"
        contender = "homesections.migrate (child process)"
        return allowance_row(scenario, contender, peak_mib("library"), peak_mib("floor"), 10, "MiB")

    def rollback(self) -> list[Row]:
        """Roll every generated migration back, from copies of the same applied database."""
        size, repeat = self.config.apply_size, self.config.repeat
        directory = self.generated
        library = worker("homesections.rollback(to=0)", "library-rollback", directory, repeat, self.applied)
        floor = worker("stdlib loop, rollback", "floor-rollback", directory, repeat, self.applied)
        samples = self.round_robin("rollback", [library, floor])
        scenario = f"rollback {thousands(size)}"
        return [self.compare(scenario, library.name, samples[library.name], samples[floor.name], 1.15)]

    def status(self) -> list[Row]:
        """Status of a database with every generated migration applied (no target: context)."""
        size, repeat = self.config.apply_size, self.config.cheap_repeat
        directory = self.generated
        library = worker("homesections.status", "library-status", directory, repeat, self.applied)
        floor = worker("read rows + hash files", "floor-status", directory, repeat, self.applied)
        samples = self.round_robin("status", [library, floor])
        scenario = f"status, {thousands(size)} applied"
        return [self.compare(scenario, library.name, samples[library.name], samples[floor.name], None)]

    def data_migration(self) -> list[Row]:
        """The 12-step rebuild of a big table, as migration 0002 through the library and by hand."""
        rows, repeat = self.config.rows, self.config.repeat
        directory = rebuild_migrations(self.work)
        log(f"[setup] filling a table with {thousands(rows)} rows")
        template = rebuild_template(self.work, directory, rows)
        library = worker("homesections.migrate", "library-migrate", directory, repeat, template)
        floor = worker("same statements by hand", "floor-apply-checked", directory, repeat, template)
        samples = self.round_robin("data migration", [library, floor])
        scenario = f"data migration, {thousands(rows)} rows"
        return [self.compare(scenario, library.name, samples[library.name], samples[floor.name], 1.05)]

    # --- the runner's connection (--journal) ---------------------------------------------

    def journal_modes(self) -> list[Row]:
        """The floor loop with its connection's journal in DELETE (SQLite's default), TRUNCATE and PERSIST,
        and in DELETE with the write lock kept for the run (exclusive locking mode, what the runner does).

        synchronous stays FULL; TRUNCATE and PERSIST are set on the connection
        and set back to DELETE at the end, which removes the journal file; the
        exclusive connection's close removes it.
        """
        size, repeat, directory = self.config.apply_size, self.config.repeat, self.generated
        delete = worker("stdlib loop, journal DELETE", "floor-apply", directory, repeat)
        modes = [
            *(
                worker(f"stdlib loop, journal {mode.upper()}", f"floor-apply-{mode}", directory, repeat)
                for mode in ("truncate", "persist")
            ),
            worker("stdlib loop, locking_mode EXCLUSIVE", "floor-apply-exclusive", directory, repeat),
        ]
        samples = self.round_robin("journal mode", [delete, *modes])
        scenario = f"journal mode: apply {thousands(size)}, against DELETE"
        return [self.compare(scenario, mode.name, samples[mode.name], samples[delete.name], None) for mode in modes]

    def round_trips(self) -> list[Row]:
        """What each per-migration extra of a runner costs in the floor loop, one at a time.

        The database starts with a parent and a child table (a foreign key,
        ``FOREIGN_KEY_ROWS`` child rows), as an application's database has,
        so ``foreign_key_check`` has something to check.
        """
        size, repeat, directory = self.config.apply_size, self.config.repeat, self.generated
        template = foreign_key_template(self.work, FOREIGN_KEY_ROWS)
        plain = worker("stdlib loop", "floor-apply", directory, repeat, template)
        extras = {
            "+ PRAGMA data_version": "floor-apply+data_version",
            "+ SELECT the applied rows": "floor-apply+read_applied",
            "+ PRAGMA foreign_key_check": "floor-apply-checked",
            "+ all three": "floor-apply+all",
        }
        contenders = [worker(name, kind, directory, repeat, template) for name, kind in extras.items()]
        samples = self.round_robin("round trips", [plain, *contenders])
        scenario = f"round trips: apply {thousands(size)}, per migration"
        return [self.compare_delta(scenario, c.name, samples[c.name], samples[plain.name], size) for c in contenders]

    def compare_delta(self, scenario: str, contender: str, taken: list[Sample], floor: list[Sample], per: int) -> Row:
        """Like ``compare``, per migration, with the difference beside the ratio; no target."""

        def row(cpu: bool) -> Row:
            value, floor_value = median(taken, cpu) / per, median(floor, cpu) / per
            ratio = f"{paired_ratio(taken, floor, cpu):.2f}x ({signed(value - floor_value)})"
            return Row(
                scenario, contender, seconds(value) + "/migration", seconds(floor_value) + "/migration", ratio, "—", "—"
            )

        self.cpu_rows[scenario, contender] = row(cpu=True)
        return row(cpu=False)

    def round_trip_calls(self) -> list[str]:
        """Each round trip alone, in this process, on a copy of the database with every migration applied."""
        database = self.work / "calls.db"
        rows = []
        for child_rows in (None, FOREIGN_KEY_ROWS, 100 * FOREIGN_KEY_ROWS):
            shutil.copyfile(self.applied, database)
            with closing(sqlite3.connect(database, isolation_level=None)) as conn:
                if child_rows is not None:
                    fill_foreign_key_tables(conn, child_rows)
                size = thousands(self.config.apply_size)
                where = "no foreign key" if child_rows is None else f"a foreign key, {thousands(child_rows)} child rows"
                statements = (
                    dict(CALLS)
                    if child_rows is None
                    else {"PRAGMA foreign_key_check": CALLS["PRAGMA foreign_key_check"]}
                )
                for label, sql in statements.items():
                    rows.append(f"| {label} | {size} migrations applied, {where} | {seconds(time_call(conn, sql))} |")
            database.unlink()
        return [
            "Each round trip alone, per call, in one process, outside any transaction, on the database with "
            "every generated migration applied (median of 7 rounds):",
            "",
            "| round trip | database | per call |",
            "|---|---|---:|",
            *rows,
        ]


CALLS = {
    "PRAGMA data_version": "PRAGMA data_version",
    "SELECT the applied rows": "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
    "SELECT max(version)": "SELECT coalesce(max(version), 0) FROM schema_migrations",
    "any table with REFERENCES? (sqlite_master LIKE)": "SELECT 1 FROM sqlite_master "
    "WHERE type = 'table' AND sql LIKE '%references%' LIMIT 1",
    "PRAGMA foreign_key_check": "PRAGMA foreign_key_check",
    "BEGIN IMMEDIATE + COMMIT, nothing written": "BEGIN IMMEDIATE; COMMIT",
}


def foreign_key_template(root: Path, child_rows: int) -> Path:
    """A database holding a parent table and a child table that references it."""
    database = root / f"foreign-key-{child_rows}.db"
    with closing(sqlite3.connect(database, isolation_level=None)) as conn:
        fill_foreign_key_tables(conn, child_rows)
    return database


def fill_foreign_key_tables(conn: sqlite3.Connection, child_rows: int) -> None:
    """``child_rows`` children spread over a tenth as many parents; no violation."""
    conn.executescript(
        f"""BEGIN;
CREATE TABLE parent (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id), title TEXT NOT NULL);
CREATE INDEX child_parent_id ON child (parent_id);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {max(1, child_rows // 10)})
INSERT INTO parent (id, title) SELECT i, 'parent ' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {child_rows})
INSERT INTO child (id, parent_id, title) SELECT i, 1 + i % {max(1, child_rows // 10)}, 'child ' || i FROM n;
COMMIT;"""
    )


def time_call(conn: sqlite3.Connection, sql: str) -> float:
    """Seconds per call: median of 7 rounds of enough calls to take about 20 ms."""

    def calls(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            for statement in sql.split(";"):
                conn.execute(statement).fetchall()
        return (time.perf_counter() - started) / count

    count = max(1, int(0.02 / calls(1)))
    return statistics.median(calls(count) for _ in range(7))


def signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + seconds(abs(value))


# --- the report ---------------------------------------------------------------------

TABLE_HEAD = [
    "| scenario | contender | median | floor | ratio | target | ok? |",
    "|---|---|---:|---:|---:|---|---|",
]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def header(config: Config, quick: bool, notes: Sequence[str] = ()) -> list[str]:
    from importlib.metadata import version

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    mode = "--quick" if quick else "full"
    dont_write = "; PYTHONDONTWRITEBYTECODE, set here, is dropped" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""
    return [
        "# homesections benchmark",
        "",
        f"- date: {now}",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs ({cpu_model()}), load average {load} at the end",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- SQLite {sqlite3.sqlite_version}, click {version('click')}, homesections {version('homesections')}",
        f"- run: {mode}, median of {config.repeat} repetitions ({config.cheap_repeat} for the CLI, the library "
        f"no-op, status and applying 100; {config.big_repeat} at 10,000 migrations), "
        f"temp dir {tempfile.gettempdir()}",
        "- child processes run with their bytecode cached (a private PYTHONPYCACHEPREFIX, warmed up), as after "
        f"a pip install{dont_write}",
        *notes,
    ]


def spread_table(samples: list[tuple[str, str, list[Sample]]]) -> list[str]:
    lines = ["| group | contender | n | min | median | max | median CPU |", "|---|---|---:|---:|---:|---:|---:|"]
    for group, name, taken in samples:
        values = sorted(sample.seconds for sample in taken)
        cpu = seconds(median(taken, cpu=True))
        cells = [group, name, str(len(values)), seconds(values[0]), seconds(median(taken)), seconds(values[-1]), cpu]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(config: Config, quick: bool, rows: list[Row], bench: Bench, elapsed: float, extra: Extra) -> str:
    floors = [f"- **{scenario}**: {floor}" for scenario, floor in extra.floors.items()]
    lines = [
        *header(config, quick, extra.notes),
        "",
        *TABLE_HEAD,
        *(row.markdown() for row in rows),
        "",
        "The same comparisons in CPU time (user + system of the process doing the work; the CLI rows: of the "
        "whole process). Disk waits (every commit's fsync) do not count, so these ratios show the runner's "
        "own work, and are steadier on a busy machine. The targets are the issue's, on wall-clock time; "
        "they are repeated here for orientation:",
        "",
        *TABLE_HEAD,
        *(cpu.markdown() for row in rows if (cpu := bench.cpu_rows.get((row.scenario, row.contender)))),
        "",
        *(line for table in extra.tables for line in (*table, "")),
        "Floors:",
        "",
        *floors,
        "",
        "Spread of every contender (seconds per run; the library no-op: per call):",
        "",
        *spread_table(bench.samples),
        "",
        f"Total time of the run: {elapsed:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


# --- command line -------------------------------------------------------------------


@dataclass
class Extra:
    """What a report holds beyond its rows: header lines, tables after the main one, the floors used."""

    floors: dict[str, str]
    notes: list[str]
    tables: list[list[str]]


def run_scenarios(bench: Bench, args: argparse.Namespace) -> tuple[list[Row], Extra]:
    """The standard scenarios, or those asked for with --peers and --journal."""
    if not (args.peers or args.journal):
        return bench.run(), Extra(dict(FLOORS), [], [])
    rows: list[Row] = []
    extra = Extra({}, [], [])
    if args.peers:
        import peers

        peer_rows, about, missing = peers.run(bench)
        rows += peer_rows
        extra.notes += about + missing
        extra.floors.update(peers.FLOORS)
    if args.journal:
        rows += bench.journal_modes() + bench.round_trips()
        extra.tables.append(bench.round_trip_calls())
        extra.floors.update(JOURNAL_FLOORS)
    return rows, extra


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repetitions: seconds")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="instead of the standard scenarios: dbmate and yoyo, where installed, beside homesections and the floor "
        "(see bench/peers.py for how they are found)",
    )
    parser.add_argument(
        "--journal",
        action="store_true",
        help="instead of the standard scenarios: the floor loop in each rollback-journal mode, and what each "
        "per-migration round trip costs",
    )
    parser.add_argument("--repeat", type=int, metavar="N", help="repetitions per contender (default 15; --quick: 3)")
    parser.add_argument("--output", metavar="FILE", help="write the markdown report to FILE as well")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "DB", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        run_worker(*args.worker)
        return 0
    config = Config.from_args(args.quick, args.repeat)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="homesections-bench-") as work:
        ENV["PYTHONPYCACHEPREFIX"] = str(Path(work) / "pycache")
        checked_run([sys.executable, "-c", "import click, sqlite3, homesections.cli"], capture_output=True)
        bench = Bench(config, Path(work))
        rows, extra = run_scenarios(bench, args)
    text = report(config, args.quick, rows, bench, time.perf_counter() - started, extra)
    print(text, end="")
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
