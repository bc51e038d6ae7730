"""Reference data that validity checks need, read from the dbt seeds at run time.

The seeds are the single home of districts and targets; the Python side reads
them rather than keeping a second copy.
"""

from __future__ import annotations

import csv
from datetime import date
from functools import cache

from hzwh.settings import DBT_PROJECT_DIR

SEEDS = DBT_PROJECT_DIR / "seeds"
CITY_CODE = "330100"


@cache
def _seed_rows(name: str) -> tuple[dict[str, str], ...]:
    with open(SEEDS / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def district_codes_valid_in(period: str) -> frozenset[str]:
    """District codes that existed at some point of the month `YYYY-MM` (codes were reused: see §1)."""
    year, month = int(period[:4]), int(period[5:7])
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1)
    return frozenset(
        r["district_code"]
        for r in _seed_rows("districts")
        if date.fromisoformat(r["valid_from"]) < last and date.fromisoformat(r["valid_to"]) >= first
    )


def plan_indicator_targets() -> frozenset[str]:
    return frozenset(r["target_id"] for r in _seed_rows("target_catalogue") if r["feed"] == "plan_indicators")


def allowed_values(lookup: str, period: str) -> frozenset[str]:
    """Resolve a contract column's named lookup for files of one period."""
    if lookup == "districts":
        return district_codes_valid_in(period)
    if lookup == "district_or_township":
        # Townships are open-ended (9 digits, district prefix); the check on
        # the prefix is done by the validity suite with this set.
        return district_codes_valid_in(period) | {CITY_CODE}
    if lookup == "plan_indicator_targets":
        return plan_indicator_targets()
    raise KeyError(f"unknown lookup {lookup!r}")


def bureau_names(bureau_id: str) -> tuple[str, str]:
    """(Chinese, English) name of a bureau id, or the id itself when unknown."""
    for r in _seed_rows("bureaus"):
        if r["bureau_id"] == bureau_id:
            return r["name_zh"], r["name_en"]
    return bureau_id, bureau_id
