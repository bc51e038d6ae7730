"""Write the generated GX suites to expectations/ as JSON, for people to read and review.

The suites are built in code from the feed contracts and the target catalogue
(one place for every threshold); these files are their rendering, and
tests/unit/test_expectations_export.py fails when they are out of date, so a
changed threshold shows up in review as a changed suite.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from hzwh.feeds.contracts import CONTRACTS
from hzwh.settings import DBT_PROJECT_DIR, PROJECT_ROOT

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
EXAMPLE_PERIOD = "2012-01"  # validity suites depend on the month (codes valid then); rendered for this one


def _catalogue_targets() -> pd.DataFrame:
    with open(DBT_PROJECT_DIR / "seeds" / "target_catalogue.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return pd.DataFrame(
        {
            "target_id": [r["target_id"] for r in rows],
            "comparator": [r["comparator"] for r in rows],
            "target_value": [float(r["target_value"]) for r in rows],
            "catalogue_version": [r["catalogue_version"] for r in rows],
        }
    ).sort_values("target_id")


def _render(suite) -> str:
    data = suite.to_json_dict()
    data.pop("id", None)
    for expectation in data.get("expectations", []):
        expectation.pop("id", None)
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def rendered_suites() -> dict[Path, str]:
    from hzwh.validation import attainment, validity

    out = {}
    for contract in CONTRACTS.values():
        suite = validity.build_suite(contract, EXAMPLE_PERIOD)
        out[Path("validity") / f"{contract.name}.json"] = _render(suite)
        out[Path("validity") / f"{contract.name}__unique_key.json"] = _render(validity.build_key_suite(contract))
    out[Path("attainment") / "target_attainment.json"] = _render(attainment.build_suite(_catalogue_targets()))
    return out


def export(root: Path = EXPECTATIONS_DIR) -> list[Path]:
    written = []
    for relative, text in rendered_suites().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
