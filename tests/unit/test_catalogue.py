"""Unit tests for the versioned target catalogue (dbt seed) and the bureau list.

No database: these read the seed CSVs and the plan text only.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "docs" / "plan" / "plan_2012.txt"
SEEDS = ROOT / "dbt_project" / "seeds"
CATALOGUE = SEEDS / "target_catalogue.csv"
BUREAUS = SEEDS / "bureaus.csv"

COLUMNS = [
    "target_id",
    "catalogue_version",
    "section",
    "metric_zh",
    "metric_en",
    "comparator",
    "target_value",
    "unit",
    "scope",
    "measure_kind",
    "reporting_frequency",
    "feed",
    "responsible_bureau",
    "co_bureaus",
    "deadline",
    "source_phrase",
    "note",
]

COMPARATORS = {">=", "<=", "=="}
SCOPES = {
    "city",
    "each_district",
    "main_urban_area",
    "urban_districts",
    "municipal_level",
    "each_village",
}
UNITS = {
    # the standard set
    "ratio",
    "persons",
    "person_times",
    "households",
    "yuan",
    "yuan_per_capita_year",
    "yuan_per_student_term",
    "units",
    "beds",
    "beds_per_100_elderly",
    "stations",
    "centres",
    "schools",
    "villages",
    "townships",
    "km",
    "m2",
    "tonnes",
    "heads",
    "books",
    "events",
    "screenings",
    "projects",
    "milestone",
    "items",
    # added where none of the above fits (documented in docs/catalogue.md)
    "multiple_of_local_income",
    "screenings_per_village_month",
    "communities",
    "hospitals",
    "streets",
}
MEASURE_KINDS = {"level", "cumulative"}
FREQUENCIES = {"monthly", "quarterly", "semiannual", "annual"}
FEEDS = {
    "social_security_enrollment",
    "vaccination_coverage",
    "vegetable_supply",
    "plan_indicators",
}

# FEEDS.md §4: ids that feeds and people refer to.
FIXED = {
    "ss_resident_medical_enrollment_rate": (">=", 0.95, "city", "social_security_enrollment"),
    "ss_resident_pension_enrollment_rate": (">=", 0.90, "city", "social_security_enrollment"),
    "health_nip_vaccination_rate": (">=", 0.90, "each_district", "vaccination_coverage"),
    "sup_main_urban_vegetable_self_sufficiency": (">=", 0.54, "main_urban_area", "vegetable_supply"),
    "sup_main_urban_leafy_vegetable_self_sufficiency": (">=", 0.74, "main_urban_area", "vegetable_supply"),
    "sup_livestock_poultry_self_sufficiency": (">=", 0.77, "city", "vegetable_supply"),
    "sup_aquatic_self_sufficiency": (">=", 0.73, "city", "vegetable_supply"),
    "emp_registered_unemployment_rate": ("<=", 0.04, "city", "plan_indicators"),
    "emp_urban_new_jobs": (">=", 186700.0, "city", "plan_indicators"),
}

TARGET_ID_RE = re.compile(r"^(emp|ss|cul|sport|edu|health|fp|eld|hous|sup|pub|fin)_[a-z0-9]+(_[a-z0-9]+)*$")
SNAKE_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
DECIMAL_RE = re.compile(r"^-?\d+(\.\d+)?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- helpers

_FULLWIDTH = str.maketrans("０１２３４５６７８９％．", "0123456789%.")
_NUMBER_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(%|万|亿)?")
_SCALE = {"": 1.0, "%": 0.01, "万": 1e4, "亿": 1e8}


def phrase_numbers(phrase: str) -> list[float]:
    """All numbers stated in a plan phrase, converted the way the catalogue stores them.

    Full-width digits and ％ are normalised; N% -> N/100, N万 -> N*1e4, N亿 -> N*1e8
    (a space between the number and its suffix, as in "70 %", is allowed);
    三分之二 -> 2/3; 归零 ("brought to zero") -> 0.
    """
    text = phrase.translate(_FULLWIDTH)
    values = [float(num) * _SCALE[suffix] for num, suffix in _NUMBER_RE.findall(text)]
    if "三分之二" in text:
        values.append(2 / 3)
    if "归零" in text:
        values.append(0.0)
    return values


def _load_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def plan_text() -> str:
    return PLAN.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return _load_rows(CATALOGUE)


@pytest.fixture(scope="module")
def bureau_ids() -> set[str]:
    return {r["bureau_id"] for r in _load_rows(BUREAUS)}


def _ids(rows):
    return [r["target_id"] for r in rows]


# --------------------------------------------------------------------------- helper self-test


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("全年城镇新增就业18.67万人", 186700),
        ("总投资390.6亿元", 39060000000),
        ("报销比例提高至70 %", 0.70),
        ("自给率达到 54％以上", 0.54),
        ("奖励扶助金3165.146万元", 31651460),
        ("学前三年入园率达到98.5%", 0.985),
        ("新增财力三分之二以上用于民生", 0.6666666667),
        ("基数归零、动态归零", 0),
        ("覆盖率提高到１００％", 1.0),
        ("人均补贴标准不低于26元/年", 26),
        ("送戏下乡500 场以上", 500),
    ],
)
def test_phrase_number_conversion(phrase, expected):
    assert any(math.isclose(v, expected, rel_tol=1e-9) for v in phrase_numbers(phrase))


# --------------------------------------------------------------------------- file shape


def test_header_is_exactly_the_contract_columns():
    with CATALOGUE.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == COLUMNS


def test_every_row_has_all_columns(rows):
    for r in rows:
        assert None not in r, f"{r.get('target_id')}: too many fields"
        assert all(r[c] is not None for c in COLUMNS), f"{r.get('target_id')}: missing fields"


def test_parses_with_pandas():
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(CATALOGUE, dtype=str, encoding="utf-8")
    assert list(df.columns) == COLUMNS
    assert len(df) == len(_load_rows(CATALOGUE))
    assert df["target_id"].notna().all()


def test_at_least_100_rows(rows):
    assert len(rows) >= 100


# --------------------------------------------------------------------------- (a) verbatim source


def test_source_phrase_occurs_verbatim_in_plan(rows, plan_text):
    missing = [r["target_id"] for r in rows if not r["source_phrase"] or r["source_phrase"] not in plan_text]
    assert not missing, f"source_phrase not found verbatim in plan: {missing}"


# --------------------------------------------------------------------------- (b) value in phrase


def test_target_value_is_stated_in_source_phrase(rows):
    bad = []
    for r in rows:
        value = float(r["target_value"])
        if r["unit"] == "milestone" and value == 1:
            continue
        numbers = phrase_numbers(r["source_phrase"])
        if not any(math.isclose(value, n, rel_tol=1e-9, abs_tol=0.0) for n in numbers):
            bad.append((r["target_id"], r["target_value"], numbers))
    assert not bad, f"target_value not stated in source_phrase: {bad}"


def test_milestone_rows_are_value_one(rows):
    for r in rows:
        if r["unit"] == "milestone":
            assert float(r["target_value"]) == 1, r["target_id"]


def test_ratios_are_fractions(rows):
    for r in rows:
        if r["unit"] == "ratio":
            assert 0 <= float(r["target_value"]) <= 1, r["target_id"]


# --------------------------------------------------------------------------- (c) fixed ids


@pytest.mark.parametrize("target_id", sorted(FIXED))
def test_fixed_ids(rows, target_id):
    matches = [r for r in rows if r["target_id"] == target_id]
    assert len(matches) == 1, f"{target_id} must appear exactly once"
    r = matches[0]
    comparator, value, scope, feed = FIXED[target_id]
    assert r["comparator"] == comparator
    assert math.isclose(float(r["target_value"]), value, rel_tol=1e-9)
    assert r["scope"] == scope
    assert r["feed"] == feed
    assert r["reporting_frequency"] == "monthly"


def test_new_jobs_is_cumulative(rows):
    (r,) = [r for r in rows if r["target_id"] == "emp_urban_new_jobs"]
    assert r["measure_kind"] == "cumulative"


def test_dedicated_feeds_only_for_fixed_ids(rows):
    for r in rows:
        if r["target_id"] not in FIXED:
            assert r["feed"] == "plan_indicators", r["target_id"]


# --------------------------------------------------------------------------- (d) domains


def test_target_id_unique_and_well_formed(rows):
    ids = _ids(rows)
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate target_id: {dupes}"
    bad = [i for i in ids if not TARGET_ID_RE.match(i)]
    assert not bad, f"target_id not snake_case with an area prefix: {bad}"


@pytest.mark.parametrize(
    ("column", "allowed"),
    [
        ("comparator", COMPARATORS),
        ("scope", SCOPES),
        ("unit", UNITS),
        ("measure_kind", MEASURE_KINDS),
        ("reporting_frequency", FREQUENCIES),
        ("feed", FEEDS),
    ],
)
def test_column_in_allowed_set(rows, column, allowed):
    bad = [(r["target_id"], r[column]) for r in rows if r[column] not in allowed]
    assert not bad, f"{column} outside allowed set: {bad}"


def test_units_are_snake_case():
    assert all(SNAKE_RE.match(u) or u == "m2" for u in UNITS)


def test_target_value_is_plain_decimal(rows):
    bad = [(r["target_id"], r["target_value"]) for r in rows if not DECIMAL_RE.match(r["target_value"])]
    assert not bad, f"target_value not a plain decimal: {bad}"


def test_deadline_is_iso_date_in_2012(rows):
    for r in rows:
        assert DATE_RE.match(r["deadline"]), r["target_id"]
        d = dt.date.fromisoformat(r["deadline"])
        assert d.year == 2012, r["target_id"]


def test_bureaus_file_is_well_formed():
    brows = _load_rows(BUREAUS)
    with BUREAUS.open(encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == ["bureau_id", "name_zh", "name_en", "domain"]
    ids = [b["bureau_id"] for b in brows]
    assert len(ids) == len(set(ids))
    for b in brows:
        assert SNAKE_RE.match(b["bureau_id"]), b["bureau_id"]
        assert b["name_zh"] and b["name_en"], b["bureau_id"]


def test_every_bureau_id_exists(rows, bureau_ids):
    bad = []
    for r in rows:
        if r["responsible_bureau"] not in bureau_ids:
            bad.append((r["target_id"], r["responsible_bureau"]))
        co = [c for c in r["co_bureaus"].split(";") if c] if r["co_bureaus"] else []
        for c in co:
            if c not in bureau_ids or c == r["responsible_bureau"]:
                bad.append((r["target_id"], c))
    assert not bad, f"unknown or duplicated bureau ids: {bad}"


def test_text_columns_filled(rows):
    for r in rows:
        for c in ("section", "metric_zh", "metric_en", "responsible_bureau", "source_phrase"):
            assert r[c].strip(), f"{r['target_id']}: empty {c}"


# --------------------------------------------------------------------------- (e) version


def test_catalogue_version_not_empty(rows):
    versions = {r["catalogue_version"].strip() for r in rows}
    assert "" not in versions
    assert len(versions) == 1, f"one catalogue file holds one version, got {versions}"
