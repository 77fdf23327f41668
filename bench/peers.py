"""``run.py --peers``: dbmate and yoyo on the same migrations, beside homesections and the stdlib floor.

Nothing is installed here; a peer that is not found is named and skipped.

- dbmate: the executable named by ``DBMATE``, else ``dbmate`` on PATH. The
  npm package's ``dbmate`` is a node script that starts the binary the
  package ships; it is resolved to that binary, so node's start-up is not
  counted as dbmate's.
- yoyo: ``YOYO_PYTHON``, an interpreter with yoyo-migrations installed, else
  the interpreter named on the first line of a ``yoyo`` script on PATH; yoyo
  runs as ``python -m yoyo``.

Every row here times a whole command from the outside, start-up included,
as a user or a CI job runs it: ``homesections migrate up``, ``dbmate up``,
``yoyo apply``, and the floor as ``python bench/floor.py apply``. CPU time
and peak RSS are each process's own, taken by ``spawn.py``. Each tool gets the same
generated SQL in its own file format, and each tool's rollback and status
start from a database it migrated itself.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from floor import migration_files
from run import CLI, ENV, SCRIPT, Bench, Contender, Row, Sample, fresh_copy, log, thousands

FLOOR_SCRIPT = SCRIPT.parent / "floor.py"
SPAWN_SCRIPT = SCRIPT.parent / "spawn.py"
Command = Callable[[Path, Path], list[str]]  # (database, migrations) -> argv

FLOORS = {
    "peers: apply / peak RSS": "`python bench/floor.py apply`: the stdlib loop of the apply scenario, as a process "
    "(start-up included, like every peer row)",
    "peers: apply, one transaction": "`python bench/floor.py apply-one-transaction`: the same loop with every file "
    "in one BEGIN IMMEDIATE ... COMMIT, what `migrate up --single-transaction` is to do; compared with dbmate",
    "peers: rollback": "`python bench/floor.py rollback`",
    "peers: status": "`python bench/floor.py status`: read the rows, read and hash every up file",
}


# --- finding the peers -----------------------------------------------------------


@dataclass
class Found:
    dbmate: str | None = None
    yoyo_python: str | None = None
    about: list[str] = field(default_factory=list)  # versions and paths, for the report's header
    missing: list[str] = field(default_factory=list)  # one sentence per peer not found


def find() -> Found:
    found = Found()
    dbmate, why = find_dbmate()
    version = probe([dbmate, "--version"]) if dbmate else None
    if dbmate is None or version is None:
        found.missing.append(f"dbmate: {why or f'{dbmate} --version failed'}")
    else:
        found.dbmate = dbmate
        found.about.append(
            f"{version.strip()} ({dbmate}): driver mattn/go-sqlite3 with its own SQLite, synchronous=NORMAL "
            "unless the URL says _sync=FULL"
        )
    python, why = find_yoyo_python()
    code = (
        "import sys, sqlite3, importlib.metadata as m; "
        "print(sys.executable, m.version('yoyo-migrations'), sys.version.split()[0], sqlite3.sqlite_version, sep='\\n')"
    )
    about = probe([python, "-c", code]) if python else None
    if python is None or about is None:
        found.missing.append(f"yoyo: {why or f'{python}: cannot tell the version of yoyo-migrations'}")
    else:
        executable, version, python_version, sqlite_version = about.splitlines()
        found.yoyo_python = executable  # the interpreter itself, not a launcher in front of it
        found.about.append(
            f"yoyo-migrations {version} (Python {python_version}, SQLite {sqlite_version}, {executable})"
        )
    return found


def find_dbmate() -> tuple[str | None, str]:
    named = os.environ.get("DBMATE")
    path = named or shutil.which("dbmate")
    if not path:
        return None, "not found (set DBMATE to its executable, or put dbmate on PATH)"
    if not os.access(path, os.X_OK) or os.path.isdir(path):
        return None, f"DBMATE={path}: not an executable file"
    return npm_binary(path) or path, ""


def npm_binary(path: str) -> str | None:
    """The binary behind the npm package's node launcher (node_modules/dbmate/dist/cli.js), if ``path`` is one."""
    script = Path(path).resolve()
    if script.suffix != ".js":
        return None
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "i686": "ia32"}.get(platform.machine().lower())
    binary = script.parent.parent.parent / "@dbmate" / f"{sys.platform}-{machine}" / "bin" / "dbmate"
    return str(binary) if os.access(binary, os.X_OK) else None


def find_yoyo_python() -> tuple[str | None, str]:
    python = os.environ.get("YOYO_PYTHON")
    if python:
        if probe([python, "-c", "import yoyo"]) is None:
            return None, f"YOYO_PYTHON={python}: cannot import yoyo (pip install yoyo-migrations there)"
        return python, ""
    script = shutil.which("yoyo")
    if script is None:
        return None, "not found (set YOYO_PYTHON to an interpreter with yoyo-migrations, or put yoyo on PATH)"
    with open(script, "rb") as file:
        first = file.readline().decode(errors="replace")
    python = first[2:].strip() if first.startswith("#!") else ""
    if not python or probe([python, "-c", "import yoyo"]) is None:
        return None, f"{script}: cannot tell its interpreter (set YOYO_PYTHON)"
    return python, ""


def probe(argv: list[str]) -> str | None:
    """What the command prints, or None when it cannot be run or fails."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# --- the same SQL in each tool's format -------------------------------------------


def dbmate_migrations(source: Path, root: Path) -> Path:
    """One file per migration: ``-- migrate:up`` and ``-- migrate:down`` sections."""
    directory = root / f"dbmate-{source.name}"
    directory.mkdir()
    for up, down, stem in pairs(source):
        (directory / f"{stem}.sql").write_text(f"-- migrate:up\n{up}\n-- migrate:down\n{down}", encoding="utf-8")
    return directory


def yoyo_migrations(source: Path, root: Path) -> Path:
    """``<id>.sql`` and ``<id>.rollback.sql``; applied in the order of their names."""
    directory = root / f"yoyo-{source.name}"
    directory.mkdir()
    for up, down, stem in pairs(source):
        (directory / f"{stem}.sql").write_text(up, encoding="utf-8")
        (directory / f"{stem}.rollback.sql").write_text(down, encoding="utf-8")
    return directory


def pairs(source: Path) -> list[tuple[str, str, str]]:
    """(up text, down text, file stem) of every migration in a homesections-format directory."""
    result = []
    for _version, _name, up in migration_files(str(source), ".up.sql"):
        stem = up.name.removesuffix(".up.sql")
        down = up.with_name(f"{stem}.down.sql")
        result.append((up.read_text(encoding="utf-8"), down.read_text(encoding="utf-8"), stem))
    return result


# --- commands, timed from the outside -------------------------------------------


def peer_env() -> dict[str, str]:
    """run.py's environment for child processes (read when used: main() adds to it), less dbmate's settings."""
    return {key: value for key, value in ENV.items() if not key.startswith("DBMATE_") and key != "DATABASE_URL"}


def timed(argv: list[str], times: int, cwd: Path) -> Sample:
    """Run ``argv`` ``times`` times through spawn.py: the times added up, the largest peak RSS."""
    spawn = [sys.executable, "-I", "-S", str(SPAWN_SCRIPT), str(times), *argv]
    done = subprocess.run(spawn, cwd=cwd, env=peer_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed:\n{done.stderr}")
    report = json.loads(done.stdout)
    return Sample(report["seconds"], report["cpu"], report["maxrss_kib"])


def process(
    name: str, command: Command, migrations: Path, repeat: int, template: Path | None = None, times: int = 1
) -> Contender:
    """A fresh copy of ``template`` (or no database yet), then the command, run in a fresh directory."""

    def run(rep_dir: Path) -> Sample:
        database = fresh_copy(template, rep_dir) if template else rep_dir / "bench.db"
        return timed(command(database, migrations), times, rep_dir)

    return Contender(name, run, repeat)


def floor_command(kind: str) -> Command:
    return lambda db, directory: [sys.executable, str(FLOOR_SCRIPT), kind, str(db), str(directory)]


def homesections_command(*args: str) -> Command:
    return lambda db, directory: [*CLI, "--database", str(db), "--migrations", str(directory), *args]


def dbmate_command(binary: str, full: bool, *args: str) -> Command:
    def command(db: Path, directory: Path) -> list[str]:
        url = f"sqlite:{db}?_sync=FULL" if full else f"sqlite:{db}"
        return [binary, "--url", url, "--migrations-dir", str(directory), "--no-dump-schema", *args]

    return command


def yoyo_command(python: str, *args: str) -> Command:
    def command(db: Path, directory: Path) -> list[str]:
        url = f"sqlite:///{db}"  # four slashes before an absolute path
        return [python, "-m", "yoyo", *args, "--batch", "--no-config-file", "--database", url, str(directory)]

    return command


# --- the scenarios ----------------------------------------------------------------


class Peers:
    """Apply, roll back and list the generated migrations with each tool, interleaved with the floor."""

    def __init__(self, bench: Bench, found: Found) -> None:
        self.bench = bench
        self.found = found
        self.size = bench.config.apply_size
        self.repeat = bench.config.repeat
        self.generated = bench.generated
        self.rows: list[Row] = []
        work = bench.work
        log("[peers] writing the migrations in each tool's format; each tool migrates its template database")
        # By file format; the floor reads homesections' pairs too, and its rows are the same as homesections'.
        self.templates: dict[str, Path] = {"homesections": bench.applied}
        self.directories: dict[str, Path] = {"homesections": self.generated}
        if found.dbmate:
            self.directories["dbmate"] = dbmate_migrations(self.generated, work)
            self.templates["dbmate"] = self.template("dbmate", dbmate_command(found.dbmate, False, "up"))
        if found.yoyo_python:
            self.directories["yoyo"] = yoyo_migrations(self.generated, work)
            self.templates["yoyo"] = self.template("yoyo", yoyo_command(found.yoyo_python, "apply"))

    def template(self, tool: str, command: Command) -> Path:
        """A database migrated once by ``tool`` (which also warms up its caches)."""
        directory = Path(tempfile.mkdtemp(dir=self.bench.work))
        database = directory / f"{tool}-applied.db"
        timed(command(database, self.directories[tool]), 1, directory)
        return database

    def contender(
        self, tool: str, name: str, command: Command, repeat: int, applied: bool = False, times: int = 1
    ) -> Contender:
        template = self.templates[tool] if applied else None
        return process(name, command, self.directories[tool], repeat, template, times)

    def run(self) -> list[Row]:
        self.apply()
        self.rollback()
        self.status()
        return self.rows

    def apply(self) -> None:
        size, repeat, found = self.size, self.repeat, self.found
        floor = self.contender("homesections", "python floor.py apply", floor_command("apply"), repeat)
        grouped = self.contender(
            "homesections", "python floor.py apply-one-transaction", floor_command("apply-one-transaction"), repeat
        )
        single = homesections_command("migrate", "up", "--single-transaction")
        homesections_grouped = self.contender(
            "homesections", "homesections migrate up --single-transaction", single, repeat
        )
        others = [
            self.contender("homesections", "homesections migrate up", homesections_command("migrate", "up"), repeat)
        ]
        if found.dbmate:
            others.append(self.contender("dbmate", "dbmate up", dbmate_command(found.dbmate, False, "up"), repeat))
            others.append(
                self.contender("dbmate", "dbmate up (_sync=FULL)", dbmate_command(found.dbmate, True, "up"), repeat)
            )
        if found.yoyo_python:
            others.append(self.contender("yoyo", "yoyo apply", yoyo_command(found.yoyo_python, "apply"), repeat))
        samples = self.bench.round_robin("peers: apply", [floor, grouped, homesections_grouped, *others])
        scenario = f"peers: apply {thousands(size)}"
        for contender in others:
            self.rows.append(
                self.bench.compare(scenario, contender.name, samples[contender.name], samples[floor.name], None)
            )
        if found.dbmate:  # the targets: homesections against dbmate itself
            versus = f"peers: apply {thousands(size)}, against dbmate up (_sync=FULL)"
            taken = samples["homesections migrate up"]
            self.rows.append(
                self.bench.compare(versus, "homesections migrate up", taken, samples["dbmate up (_sync=FULL)"], 1.0)
            )
            taken = samples["homesections migrate up"]
            self.rows.append(
                self.bench.compare(
                    f"peers: apply {thousands(size)}, against dbmate up",
                    "homesections migrate up",
                    taken,
                    samples["dbmate up"],
                    None,
                )
            )
        one = f"peers: apply {thousands(size)}, one transaction"
        for contender in (grouped, homesections_grouped):
            taken = samples[contender.name]
            self.rows.append(self.bench.compare(one, contender.name, taken, samples[floor.name], None))
            if found.dbmate:
                scenario = f"{one}, against dbmate up"
                self.rows.append(self.bench.compare(scenario, contender.name, taken, samples["dbmate up"], 0.33))
                scenario = f"{one}, against dbmate up (_sync=FULL)"
                self.rows.append(
                    self.bench.compare(scenario, contender.name, taken, samples["dbmate up (_sync=FULL)"], None)
                )
        for contender in [grouped, homesections_grouped, *others]:
            self.rows.append(
                memory_row(
                    f"peers: peak RSS, apply {thousands(size)}",
                    contender.name,
                    samples[contender.name],
                    samples[floor.name],
                )
            )

    def rollback(self) -> None:
        size, repeat, found = self.size, self.repeat, self.found
        floor = self.contender("homesections", "python floor.py rollback", floor_command("rollback"), repeat, True)
        down = homesections_command("migrate", "down", "--all", "--yes")
        others = [self.contender("homesections", "homesections migrate down --all", down, repeat, True)]
        if found.yoyo_python:
            command = yoyo_command(found.yoyo_python, "rollback", "--all")
            others.append(self.contender("yoyo", "yoyo rollback --all", command, repeat, True))
        # dbmate rolls back one migration per command: a thousand processes, so fewer repetitions.
        steps = max(3, repeat // 3)
        if found.dbmate:
            for full, suffix in ((False, ""), (True, " (_sync=FULL)")):
                command = dbmate_command(found.dbmate, full, "rollback")
                name = f"dbmate rollback{suffix}, {thousands(size)} times"
                others.append(self.contender("dbmate", name, command, min(steps, repeat), True, times=size))
        samples = self.bench.round_robin("peers: rollback", [floor, *others])
        scenario = f"peers: rollback {thousands(size)}"
        for contender in others:
            taken = samples[contender.name]
            # The i-th repetition of each contender ran in round i: pair the fewer with the floor's first ones.
            floor_taken = samples[floor.name][: len(taken)]
            self.rows.append(self.bench.compare(scenario, contender.name, taken, floor_taken, None))

    def status(self) -> None:
        repeat, found = self.bench.config.cheap_repeat, self.found
        floor = self.contender("homesections", "python floor.py status", floor_command("status"), repeat, True)
        others = [self.contender("homesections", "homesections status", homesections_command("status"), repeat, True)]
        if found.dbmate:
            others.append(
                self.contender("dbmate", "dbmate status", dbmate_command(found.dbmate, False, "status"), repeat, True)
            )
        if found.yoyo_python:
            others.append(self.contender("yoyo", "yoyo list", yoyo_command(found.yoyo_python, "list"), repeat, True))
        samples = self.bench.round_robin("peers: status", [floor, *others])
        scenario = f"peers: status, {thousands(self.size)} applied"
        for contender in others:
            self.rows.append(
                self.bench.compare(scenario, contender.name, samples[contender.name], samples[floor.name], None)
            )


def memory_row(scenario: str, contender: str, taken: list[Sample], floor: list[Sample]) -> Row:
    """Median peak RSS of a whole process against the floor's, with the difference."""

    def mib(samples: list[Sample]) -> float:
        return statistics.median(sample.maxrss_kib or 0 for sample in samples) / 1024

    value, floor_value = mib(taken), mib(floor)
    ratio = f"{value / floor_value:.2f}x ({value - floor_value:+.2f} MiB)"
    return Row(scenario, contender, f"{value:.2f} MiB", f"{floor_value:.2f} MiB", ratio, "—", "—")


def run(bench: Bench) -> tuple[list[Row], list[str], list[str]]:
    """The peers' rows, the header lines naming their versions, and the lines saying which are missing."""
    found = find()
    for line in found.missing:
        log(f"[peers] skipped {line}")
    rows = Peers(bench, found).run()
    missing = [f"- not measured: {line}" for line in found.missing]
    return rows, [f"- peer: {line}" for line in found.about], missing
