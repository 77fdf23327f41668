"""``bench/run.py --quick`` runs and prints its table: a row per scenario; so do ``--peers``, also
where no peer is installed, and ``--journal``. No timing is asserted.

Marked ``slow``: the quick run still applies thousands of migrations, each commit
waiting for the disk.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench" / "run.py"

# The first cell of the rows the issue asks for; the sizes depend on --quick.
SIZE = r"[0-9][0-9,]*"
SCENARIOS = (
    "no-op up, CLI",
    "status, CLI",
    "no-op up, library",
    f"apply {SIZE}",
    f"rollback {SIZE}",
    f"status, {SIZE} applied",
    rf"scaling \(steady\): apply {SIZE}, per migration",
    rf"scaling \(steady\): per migration at {SIZE} / at {SIZE}",
    rf"scaling \(steady\): homesections / floor at {SIZE}, against at {SIZE}",
    f"data migration, {SIZE} rows",
    f"peak RSS, apply {SIZE} steady",
    f"no-op up, library, {SIZE} MB applied",
    f"backup of a {SIZE} MB database",
)
HEADER = "| scenario | contender | median | floor | ratio | target | ok? |"


def table_rows(report: str) -> list[list[str]]:
    """The cells of the first table after its header: the wall-clock results."""
    lines = report.splitlines()
    start = lines.index(HEADER) + 2  # the header and its |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def run_bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``bench/run.py ARGS`` with this interpreter, from the checkout, bounded."""
    return subprocess.run(
        [sys.executable, str(BENCH), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_quick_run_prints_a_row_per_scenario(tmp_path: Path) -> None:
    output = tmp_path / "bench.md"
    done = run_bench("--quick", "--output", str(output))
    assert done.returncode == 0, done.stderr
    rows = table_rows(done.stdout)
    for scenario in SCENARIOS:
        assert any(re.fullmatch(scenario, row[0]) for row in rows), f"no row for {scenario!r}:\n{done.stdout}"
    assert all(len(row) == 7 for row in rows), done.stdout
    assert output.read_text(encoding="utf-8") == done.stdout
    for version in ("Python ", "SQLite ", "click ", "homesections "):
        assert version in done.stdout


@pytest.mark.slow
def test_peers_without_peers_installed_says_which_are_missing(tmp_path: Path) -> None:
    """``--peers`` on a machine without dbmate and yoyo: homesections and the floors still run, exit 0."""
    nowhere = tmp_path / "not-installed"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DBMATE", "YOYO_PYTHON") and not key.startswith("HOMESECTIONS_")
    }
    # Neither on PATH (which keeps only this interpreter's directory) nor named by their variables.
    env.update(
        PATH=str(Path(sys.executable).parent), DBMATE=str(nowhere / "dbmate"), YOYO_PYTHON=str(nowhere / "python")
    )
    done = run_bench("--quick", "--peers", "--repeat", "1", env=env)
    assert done.returncode == 0, done.stderr
    for peer in ("dbmate", "yoyo"):
        assert f"- not measured: {peer}: " in done.stdout
        assert f"[peers] skipped {peer}: " in done.stderr
    rows = table_rows(done.stdout)
    contenders = {row[1] for row in rows}
    assert {"homesections migrate up", "homesections migrate down --all", "homesections status"} <= contenders
    assert "python floor.py apply-one-transaction" in contenders
    assert not any(name.startswith(("dbmate", "yoyo")) for name in contenders), done.stdout
    for scenario in (f"peers: apply {SIZE}", f"peers: rollback {SIZE}", f"peers: status, {SIZE} applied"):
        assert any(re.fullmatch(scenario, row[0]) for row in rows), f"no row for {scenario!r}:\n{done.stdout}"
    assert all(len(row) == 7 for row in rows), done.stdout


@pytest.mark.slow
def test_journal_study_prints_each_mode_and_round_trip() -> None:
    done = run_bench("--quick", "--journal", "--repeat", "1")
    assert done.returncode == 0, done.stderr
    contenders = {(row[0].split(":")[0], row[1]) for row in table_rows(done.stdout)}
    for mode in ("journal TRUNCATE", "journal PERSIST", "locking_mode EXCLUSIVE"):
        assert ("journal mode", f"stdlib loop, {mode}") in contenders, done.stdout
    for extra in ("PRAGMA data_version", "SELECT the applied rows", "PRAGMA foreign_key_check"):
        assert ("round trips", f"+ {extra}") in contenders, done.stdout
    assert "| round trip | database | per call |" in done.stdout
