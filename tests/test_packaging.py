"""What a user installs: the wheel carries the migrations and the typing marker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, SHIPPED_MIGRATIONS


@pytest.mark.slow
def test_wheel_ships_the_migrations_and_py_typed(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("homesections-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"homesections/sql/{path.name}" for path in SHIPPED_MIGRATIONS.glob("*.sql")}
    assert len(shipped) >= 6
    assert shipped <= names
    assert "homesections/py.typed" in names
    assert not any(name.startswith(("tests/", "sql/")) for name in names)
