"""``bench/run.py --quick`` runs and prints its table: a row per scenario. No timing is asserted.

Marked ``slow``: the quick run still applies thousands of migrations, each commit
waiting for the disk.
"""

from __future__ import annotations

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


@pytest.mark.slow
def test_quick_run_prints_a_row_per_scenario(tmp_path: Path) -> None:
    output = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = table_rows(done.stdout)
    for scenario in SCENARIOS:
        assert any(re.fullmatch(scenario, row[0]) for row in rows), f"no row for {scenario!r}:\n{done.stdout}"
    assert all(len(row) == 7 for row in rows), done.stdout
    assert output.read_text(encoding="utf-8") == done.stdout
    for version in ("Python ", "SQLite ", "click ", "homesections "):
        assert version in done.stdout
