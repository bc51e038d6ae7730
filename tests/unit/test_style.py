"""ruff (with Airflow's AIR rules) and sqlfluff keep the code in the house style."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_ruff_is_clean():
    result = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sqlfluff_is_clean():
    result = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "--nocolor", "dbt_project/models", "include/hzwh/sql"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
