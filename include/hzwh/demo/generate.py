"""A deterministic, realistic year of bureau feeds, and the outcome a correct warehouse must reach.

Why this exists: the pipeline can only be demonstrated, and tested end to end,
with files that look like what the bureaus send and whose correct outcome is
known in advance. `generate` writes the four feeds of FEEDS.md §3 for one plan
year into a landing folder (`<landing>/<feed>/<feed>_<YYYYMM>.csv`) and returns
a `DemoManifest`: the files in delivery order, the clean rows that will load
(`truth`), and the `(target_id, geo_code, 'YYYY-MM', vaccine)` rows that a
correct warehouse must judge `breached` at the target's own scope. The breaches
are recomputed here from the written numbers with the contract's rules (§4–§5),
independently of the dbt models, so that the two can be compared.

Everything is drawn from `numpy.random.default_rng(seed)` (one child stream per
feed, so a feed's figures do not depend on which other feeds are requested)
around the plan's own thresholds, read from the target catalogue seed. The
scenario (which months sit below a target, which target is late) is data in
this module; the resulting figures and breaches are computed, never written
down.

Geography of `plan_indicators`: the generic feed knows only 330100, district
codes and 9-digit township codes (§3.4). Its targets whose scope is
`main_urban_area`, `urban_districts`, `municipal_level` or `each_village` are
therefore reported, and judged, at 330100, as the attainment mart does.

Faults (`faults=True`) add, to the social security feed only: a GB18030 re-export
of one month with a Chinese district-name column, thousands separators and
full-width digits (same figures: loads fully); two bad rows in one month's file
(quarantined); a file missing `insured_persons` (rejected whole); and a
revision of a month whose city resident medical rate was below target, which
lifts it to the target (the breach is cleared).
"""

from __future__ import annotations

import argparse
import calendar
import csv
import io
import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from hzwh.feeds.contracts import FEED_NAMES, VACCINES, get_contract
from hzwh.feeds.reference import CITY_CODE, SEEDS, district_codes_valid_in

SOCIAL_SECURITY = "social_security_enrollment"
VACCINATION = "vaccination_coverage"
VEGETABLE_SUPPLY = "vegetable_supply"
PLAN_INDICATORS = "plan_indicators"

MAIN_URBAN = "main_urban"
MONTHS = tuple(range(1, 13))
Breach = tuple[str, str, str, str | None]

# --------------------------------------------------------------------------- reference data


@dataclass(frozen=True)
class Target:
    """One catalogue row, with the threshold as an exact fraction (so 0.95 is 19/20, not a float near it)."""

    target_id: str
    comparator: str
    target_value: Fraction
    unit: str
    scope: str
    measure_kind: str
    reporting_frequency: str
    feed: str
    responsible_bureau: str
    deadline: date

    @property
    def deadline_period(self) -> str:
        return f"{self.deadline:%Y-%m}"


@cache
def _seed_rows(name: str) -> tuple[dict[str, str], ...]:
    with open(SEEDS / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


@cache
def load_catalogue() -> dict[str, Target]:
    """The target catalogue seed: thresholds live there and nowhere else (FEEDS.md §4)."""
    return {
        r["target_id"]: Target(
            target_id=r["target_id"],
            comparator=r["comparator"],
            target_value=Fraction(r["target_value"]),
            unit=r["unit"],
            scope=r["scope"],
            measure_kind=r["measure_kind"],
            reporting_frequency=r["reporting_frequency"],
            feed=r["feed"],
            responsible_bureau=r["responsible_bureau"],
            deadline=date.fromisoformat(r["deadline"]),
        )
        for r in _seed_rows("target_catalogue")
    }


def scheme_targets() -> dict[str, str]:
    """Social security scheme -> the target its city rate is judged against (schemes without one are left out)."""
    return {r["scheme"]: r["target_id"] for r in _seed_rows("social_security_schemes") if r["target_id"]}


def district_names(year: int) -> dict[str, str]:
    """Chinese district names as they stood in `year`, for the name column bureau spreadsheets carry."""
    names: dict[str, str] = {}
    for r in _seed_rows("districts"):
        if date.fromisoformat(r["valid_from"]).year <= year <= date.fromisoformat(r["valid_to"]).year:
            names.setdefault(r["district_code"], r["name_zh"])
    return names


def districts_of_year(year: int) -> tuple[str, ...]:
    """Codes valid in every month of the year (13 in 2012): a demo year has no boundary change inside it."""
    sets = [district_codes_valid_in(f"{year}-{m:02d}") for m in MONTHS]
    codes = tuple(sorted(frozenset.intersection(*sets)))
    missing = [c for c in codes if c not in DISTRICT_PROFILES]
    if missing:
        raise ValueError(f"the demo has no district profile for {', '.join(missing)} (valid in {year}); use 2012")
    return codes


@dataclass(frozen=True)
class DistrictProfile:
    """Plausible c. 2012 magnitudes of one district; shares and offsets are demo assumptions, not statistics.

    population: rounded registered (户籍) residents. employed_share: covered by
    employee medical insurance. pension_share: part of the non-employee
    population due for resident pension (16+, not students, not pensioners).
    *_offset: how far the district's rate sits from the city's (the core
    districts, with many residents between jobs, lag; the counties lead).
    child_factor: resident children per registered resident relative to the
    city (migrant families push it up in Binjiang and Jianggan).
    """

    population: int
    employed_share: float
    pension_share: float
    medical_offset: float
    pension_offset: float
    child_factor: float
    vaccine_offset: float


DISTRICT_PROFILES: dict[str, DistrictProfile] = {
    "330102": DistrictProfile(350_000, 0.50, 0.34, -0.011, -0.012, 1.00, -0.004),  # 上城
    "330103": DistrictProfile(420_000, 0.50, 0.34, -0.007, -0.009, 1.00, -0.002),  # 下城
    "330104": DistrictProfile(450_000, 0.46, 0.38, -0.014, -0.015, 1.30, -0.008),  # 江干
    "330105": DistrictProfile(360_000, 0.48, 0.36, -0.009, -0.010, 1.05, -0.004),  # 拱墅
    "330106": DistrictProfile(580_000, 0.50, 0.36, -0.005, -0.006, 1.10, -0.002),  # 西湖
    "330108": DistrictProfile(190_000, 0.58, 0.30, -0.019, -0.020, 1.50, -0.010),  # 滨江
    "330109": DistrictProfile(1_250_000, 0.38, 0.50, 0.004, 0.004, 1.05, -0.006),  # 萧山
    "330110": DistrictProfile(1_000_000, 0.36, 0.50, 0.003, 0.003, 1.15, -0.005),  # 余杭
    "330122": DistrictProfile(410_000, 0.27, 0.56, 0.010, 0.011, 0.90, 0.004),  # 桐庐
    "330127": DistrictProfile(450_000, 0.22, 0.58, 0.012, 0.013, 0.90, 0.003),  # 淳安
    "330182": DistrictProfile(510_000, 0.26, 0.56, 0.010, 0.010, 0.90, 0.004),  # 建德
    "330183": DistrictProfile(660_000, 0.31, 0.54, 0.006, 0.007, 0.95, 0.002),  # 富阳
    "330185": DistrictProfile(530_000, 0.29, 0.55, 0.008, 0.009, 0.95, 0.003),  # 临安
}


@dataclass(frozen=True)
class Context:
    year: int
    districts: tuple[str, ...]
    catalogue: Mapping[str, Target]

    def period(self, month: int) -> str:
        return f"{self.year}-{month:02d}"


# --------------------------------------------------------------------------- judging (FEEDS.md §4–§5)


def exact(value: float | int) -> Fraction:
    """A written number as an exact fraction: ints as they are, floats through the shortest text that names them.

    Floats in `truth` were parsed from the text written to the file, so their
    shortest repr is that text and the fraction is the decimal the warehouse
    stores as numeric.
    """
    if isinstance(value, int | np.integer):
        return Fraction(int(value))
    return Fraction(repr(float(value)))


def fails(actual: Fraction, comparator: str, target: Fraction) -> bool:
    """Does the figure miss the target? A figure exactly on the threshold meets it."""
    if comparator == ">=":
        return actual < target
    if comparator == "<=":
        return actual > target
    if comparator == "==":
        return actual != target
    raise ValueError(f"unknown comparator {comparator!r}")


def is_breached(target: Target, actual: Fraction, period: str) -> bool:
    """Levels are breached whenever they miss; accumulating targets only from their deadline month on."""
    if not fails(actual, target.comparator, target.target_value):
        return False
    return target.measure_kind != "cumulative" or period >= target.deadline_period


def _feed_targets(catalogue: Mapping[str, Target], feed: str) -> list[Target]:
    return [t for t in catalogue.values() if t.feed == feed]


def _social_security_breaches(frame: pd.DataFrame, catalogue: Mapping[str, Target]) -> set[Breach]:
    """City targets on Σ insured ÷ Σ eligible over the districts delivered (never a mean of rates)."""
    found: set[Breach] = set()
    for scheme, target_id in scheme_targets().items():
        target = catalogue.get(target_id)
        rows = frame[frame["scheme"] == scheme]
        if target is None or rows.empty:
            continue
        if target.scope == "each_district":
            for r in rows.itertuples(index=False):
                if is_breached(target, Fraction(int(r.insured_persons), int(r.eligible_persons)), r.period):
                    found.add((target_id, r.district_code, r.period, None))
            continue
        sums = rows.groupby("period")[["insured_persons", "eligible_persons"]].sum()
        for period, s in sums.iterrows():
            if is_breached(target, Fraction(int(s["insured_persons"]), int(s["eligible_persons"])), str(period)):
                found.add((target_id, CITY_CODE, str(period), None))
    return found


def _vaccination_breaches(frame: pd.DataFrame, catalogue: Mapping[str, Target]) -> set[Breach]:
    """Each district, each vaccine (§4): every row is a scope row."""
    found: set[Breach] = set()
    for target in _feed_targets(catalogue, VACCINATION):
        for r in frame.itertuples(index=False):
            if is_breached(target, Fraction(int(r.vaccinated_children), int(r.eligible_children)), r.period):
                found.add((target.target_id, r.district_code, r.period, r.vaccine))
    return found


SUPPLY_TARGETS: dict[str, tuple[str, str]] = {
    # Fixed ids (FEEDS.md §4) -> the (area, product) row that measures them.
    "sup_main_urban_vegetable_self_sufficiency": (MAIN_URBAN, "vegetables"),
    "sup_main_urban_leafy_vegetable_self_sufficiency": (MAIN_URBAN, "leafy_vegetables"),
    "sup_livestock_poultry_self_sufficiency": ("city", "livestock_poultry"),
    "sup_aquatic_self_sufficiency": ("city", "aquatic"),
}
AREA_GEO = {MAIN_URBAN: MAIN_URBAN, "city": CITY_CODE}


def _vegetable_breaches(frame: pd.DataFrame, catalogue: Mapping[str, Target]) -> set[Breach]:
    """Year-to-date Σ output ÷ Σ consumption since January of the period's year, over the months delivered."""
    found: set[Breach] = set()
    for target_id, (area, product) in SUPPLY_TARGETS.items():
        target = catalogue.get(target_id)
        rows = frame[(frame["area"] == area) & (frame["product"] == product)].sort_values("period")
        if target is None:
            continue
        totals: dict[str, list[Fraction]] = {}
        for r in rows.itertuples(index=False):
            ytd = totals.setdefault(r.period[:4], [Fraction(0), Fraction(0)])
            ytd[0] += exact(r.local_output_tonnes)
            ytd[1] += exact(r.consumption_tonnes)
            if is_breached(target, ytd[0] / ytd[1], r.period):
                found.add((target_id, AREA_GEO[area], r.period, None))
    return found


def _plan_indicator_breaches(frame: pd.DataFrame, catalogue: Mapping[str, Target]) -> set[Breach]:
    """Only scope rows count: city targets at 330100, each-district targets at their district codes."""
    found: set[Breach] = set()
    for r in frame.itertuples(index=False):
        target = catalogue.get(r.target_id)
        if target is None or not _is_scope_geo(target, r.geo_code):
            continue
        if is_breached(target, exact(r.value), r.period):
            found.add((r.target_id, r.geo_code, r.period, None))
    return found


AREA_SCOPES = ("main_urban_area", "urban_districts", "municipal_level", "each_village")


def _is_scope_geo(target: Target, geo_code: str) -> bool:
    """Where a target is judged. The generic feed has no code for the plan's areas, so its targets
    scoped to one are reported, and judged, at 330100 (as fct_target_attainment does)."""
    if target.scope == "city" or (target.feed == PLAN_INDICATORS and target.scope in AREA_SCOPES):
        return geo_code == CITY_CODE
    if target.scope == "each_district":
        return len(geo_code) == 6 and geo_code != CITY_CODE
    if target.scope == "main_urban_area":
        return geo_code == MAIN_URBAN
    return False


BREACH_RULES: dict[str, Callable[[pd.DataFrame, Mapping[str, Target]], set[Breach]]] = {
    SOCIAL_SECURITY: _social_security_breaches,
    VACCINATION: _vaccination_breaches,
    VEGETABLE_SUPPLY: _vegetable_breaches,
    PLAN_INDICATORS: _plan_indicator_breaches,
}


def compute_expected_breaches(
    truth: Mapping[str, pd.DataFrame], catalogue: Mapping[str, Target] | None = None
) -> set[Breach]:
    """The rows a correct warehouse must judge `breached` at the target's own scope, from the loaded rows alone."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    found: set[Breach] = set()
    for feed, frame in truth.items():
        if not frame.empty:
            found |= BREACH_RULES[feed](frame, catalogue)
    return found


# --------------------------------------------------------------------------- generated feeds


@dataclass
class FeedData:
    """A feed's clean rows for all twelve months (contract columns, typed) and what was planted in them."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _frame(feed: str, records: list[tuple]) -> pd.DataFrame:
    contract = get_contract(feed)
    frame = pd.DataFrame.from_records(records, columns=list(contract.column_names))
    for column in contract.columns:
        if column.kind == "integer":
            frame[column.name] = frame[column.name].astype("int64")
        elif column.kind == "decimal":
            frame[column.name] = frame[column.name].astype("float64")
        else:
            frame[column.name] = frame[column.name].astype(str)
    return frame


# ---- social security


@dataclass(frozen=True)
class RatePath:
    """How a city enrolment rate moves through the year around its target.

    The first `months_below` months sit below the threshold, `exact_month` sits
    exactly on it (a rate on its threshold is met), later months are above; the
    rate rises by about `step` a month and stays at least `min_gap` away from
    the threshold except in the exact month.
    """

    months_below: int
    exact_month: int | None
    step: float
    min_gap: float = 0.0015


SCHEME_PATHS: dict[str, RatePath] = {
    "resident_medical": RatePath(months_below=3, exact_month=4, step=0.0014),
    "resident_pension": RatePath(months_below=2, exact_month=None, step=0.0016),
}
EMPLOYEE_MEDICAL_RATE = 0.975  # no target: employers enrol staff almost completely
MONTHLY_ELIGIBLE_DRIFT = {"employee_medical": 0.0015, "resident_medical": -0.0005, "resident_pension": 0.0002}


def planned_city_rates(threshold: Fraction, path: RatePath, rng: np.random.Generator) -> list[Fraction | float]:
    """Planned city rate per month: exact months as a Fraction (hit exactly), others as floats clear of the line."""
    pivot = path.months_below + 0.5
    rates: list[Fraction | float] = []
    for month in MONTHS:
        if month == path.exact_month:
            rates.append(threshold)
            continue
        gap = max(path.min_gap, path.step * abs(month - pivot) + rng.uniform(-0.25, 0.25) * path.step)
        rates.append(float(threshold) + (gap if month > path.months_below else -gap))
    return rates


def _eligible_persons(districts: Sequence[str], scheme: str, month: int, rng: np.random.Generator) -> np.ndarray:
    """应参保人数: employees for employee medical, the rest of the population for the resident schemes."""
    base = []
    for code in districts:
        p = DISTRICT_PROFILES[code]
        employed = p.population * p.employed_share
        others = p.population - employed
        base.append({"employee_medical": employed, "resident_medical": others}.get(scheme, others * p.pension_share))
    drift = 1 + MONTHLY_ELIGIBLE_DRIFT[scheme] * (month - 1)
    noise = 1 + rng.normal(0, 0.0003, len(districts))
    return np.rint(np.array(base) * drift * noise).astype(np.int64)


def _divisible_total(eligible: np.ndarray, denominator: int) -> np.ndarray:
    """Nudge the largest district by < `denominator` persons so that Σ eligible × rate is a whole number."""
    out = eligible.copy()
    out[int(np.argmax(out))] += (-int(out.sum())) % denominator
    return out


def rebalance(insured: np.ndarray, eligible: np.ndarray, total: int) -> np.ndarray:
    """Move persons between district counts until Σ insured == total, keeping 0 ≤ insured ≤ eligible.

    The residual is spread in proportion to the districts' eligible persons,
    so the district pattern survives and every district takes part.
    """
    if not 0 <= total <= int(eligible.sum()):
        raise ValueError(f"a city total of {total} cannot be split over {int(eligible.sum())} eligible persons")
    out = insured.astype(np.int64).copy()
    while (residual := total - int(out.sum())) != 0:
        room = eligible - out if residual > 0 else out
        share = np.minimum(room, np.floor(abs(residual) * eligible / eligible.sum()).astype(np.int64))
        if share.sum() == 0:
            share = np.zeros_like(out)
            share[int(np.argmax(room))] = 1
        out += int(np.sign(residual)) * share
    return out


def _scheme_month(
    districts: Sequence[str], scheme: str, month: int, city_rate: Fraction | float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Eligible and insured per district for one scheme and month, with the city rate exactly as planned."""
    eligible = _eligible_persons(districts, scheme, month, rng)
    if isinstance(city_rate, Fraction):
        eligible = _divisible_total(eligible, city_rate.denominator)
        total = int(city_rate * int(eligible.sum()))
    else:
        total = round(city_rate * int(eligible.sum()))
    attr = {"resident_medical": "medical_offset", "resident_pension": "pension_offset"}.get(scheme)
    offsets = np.array([getattr(DISTRICT_PROFILES[c], attr) if attr else 0.0 for c in districts])
    weights = eligible / eligible.sum()
    rates = float(city_rate) + offsets - float((weights * offsets).sum()) + rng.normal(0, 0.002, len(districts))
    insured = np.floor(eligible * np.clip(rates, 0.80, 0.997)).astype(np.int64)
    return eligible, rebalance(insured, eligible, total)


def _social_security(ctx: Context, rng: np.random.Generator) -> FeedData:
    schemes = get_contract(SOCIAL_SECURITY).column("scheme").allowed
    judged = {s: ctx.catalogue[t] for s, t in scheme_targets().items() if t in ctx.catalogue}
    paths: dict[str, list[Fraction | float]] = {}
    for scheme in schemes:
        if scheme in judged and scheme in SCHEME_PATHS:
            paths[scheme] = planned_city_rates(judged[scheme].target_value, SCHEME_PATHS[scheme], rng)
        else:
            paths[scheme] = [EMPLOYEE_MEDICAL_RATE + 0.0006 * m for m in MONTHS]
    records = []
    for month in MONTHS:
        by_scheme = {s: _scheme_month(ctx.districts, s, month, paths[s][month - 1], rng) for s in schemes}
        for i, code in enumerate(ctx.districts):
            for scheme in schemes:
                eligible, insured = by_scheme[scheme]
                records.append((ctx.period(month), code, scheme, int(eligible[i]), int(insured[i])))
    notes = [
        f"{scheme} city rate planned below {float(judged[scheme].target_value):g} in months 1–{path.months_below}"
        + (f", exactly on it in month {path.exact_month} (met)" if path.exact_month else "")
        for scheme, path in SCHEME_PATHS.items()
        if scheme in judged
    ]
    return FeedData(_frame(SOCIAL_SECURITY, records), notes)


# ---- vaccination

VACCINE_COVERAGE = {
    "BCG": 0.990, "HepB": 0.982, "OPV": 0.975, "DTaP": 0.972, "DT": 0.958, "MCV": 0.970,
    "MR": 0.962, "MMR": 0.960, "JE": 0.958, "MenA": 0.955, "MenAC": 0.948, "HepA": 0.952,
}  # fmt: skip
VACCINE_COHORT = {
    "BCG": 1.00, "HepB": 1.00, "OPV": 1.00, "DTaP": 1.00, "DT": 0.96, "MCV": 0.99,
    "MR": 0.98, "MMR": 0.97, "JE": 0.98, "MenA": 0.99, "MenAC": 0.93, "HepA": 0.97,
}  # fmt: skip
CHILDREN_PER_RESIDENT = 0.0112  # one birth cohort of resident children per registered resident
PLANTED_LOW_COVERAGE_ROWS = 5
PLANTED_EXACT_COVERAGE_ROWS = 1


def _vaccination(ctx: Context, rng: np.random.Generator) -> FeedData:
    threshold = _feed_targets(ctx.catalogue, VACCINATION)[0].target_value
    keys = [(m, d, v) for m in MONTHS for d in ctx.districts for v in VACCINES]
    picks = rng.choice(len(keys), size=PLANTED_LOW_COVERAGE_ROWS + PLANTED_EXACT_COVERAGE_ROWS, replace=False)
    low = {keys[i] for i in picks[:PLANTED_LOW_COVERAGE_ROWS]}
    on_line = {keys[i] for i in picks[PLANTED_LOW_COVERAGE_ROWS:]}
    records = []
    for month, code, vaccine in keys:
        p = DISTRICT_PROFILES[code]
        eligible = int(round(p.population * CHILDREN_PER_RESIDENT * p.child_factor * VACCINE_COHORT[vaccine]
                             * (1 + 0.002 * (month - 1)) * (1 + rng.normal(0, 0.004))))
        rate = float(np.clip(VACCINE_COVERAGE[vaccine] + p.vaccine_offset + rng.normal(0, 0.005), 0.93, 0.995))
        if (month, code, vaccine) in low:
            rate = rng.uniform(0.84, float(threshold) - 0.005)
        if (month, code, vaccine) in on_line:
            eligible += (-eligible) % threshold.denominator
            vaccinated = int(threshold * eligible)
        else:
            vaccinated = math.floor(eligible * rate)
        records.append((ctx.period(month), code, vaccine, eligible, vaccinated))
    notes = [f"{len(low)} district × vaccine × month rows planted below {float(threshold):g}"]
    notes += [f"{ctx.period(m)} {d} {v} exactly on {float(threshold):g} (met)" for m, d, v in sorted(on_line)]
    return FeedData(_frame(VACCINATION, records), notes)


# ---- vegetable supply


@dataclass(frozen=True)
class SupplyProduct:
    """Monthly consumption of the whole city (tonnes per 30.4 days) and the self-sufficiency pattern.

    `offsets` place the judged area's monthly ratio relative to its target,
    Jan..Dec (summer heat and typhoons and the winter gap cut local vegetable
    output; fish ponds are harvested in autumn and before Spring Festival);
    `other_area_gap` is the other area's ratio minus the judged one.
    """

    monthly_consumption: float
    offsets: tuple[float, ...]
    other_area_gap: float


SUPPLY_PRODUCTS: dict[str, SupplyProduct] = {
    "vegetables": SupplyProduct(
        128_000, (-0.045, -0.03, 0.04, 0.08, 0.07, 0.02, -0.05, -0.07, 0.0, 0.06, 0.08, 0.03), 0.24
    ),
    "leafy_vegetables": SupplyProduct(
        54_000, (0.02, 0.012, 0.05, 0.06, 0.04, 0.0, -0.06, -0.075, 0.0, 0.05, 0.06, 0.03), 0.12
    ),
    "livestock_poultry": SupplyProduct(
        37_000, (0.04, 0.03, 0.02, 0.03, 0.03, 0.02, 0.01, 0.01, 0.02, 0.03, 0.04, 0.05), -0.45
    ),
    "aquatic": SupplyProduct(
        20_500, (0.05, 0.01, -0.07, -0.09, -0.07, -0.05, -0.03, -0.01, 0.05, 0.11, 0.13, 0.11), -0.40
    ),
}
MAIN_URBAN_CONSUMPTION_SHARE = 0.53  # the main urban area's share of the city's residents
CONSUMPTION_SEASON = (1.10, 1.14, 0.98, 0.96, 0.97, 0.95, 0.94, 0.95, 0.99, 1.00, 1.00, 1.06)
YTD_MARGIN = 0.0005  # keep year-to-date ratios clearly off their threshold: no judgement hangs on rounding


def _judged_supply(ctx: Context) -> dict[str, tuple[str, float]]:
    """Product -> (area judged, threshold), from the catalogue."""
    out = {}
    for target_id, (area, product) in SUPPLY_TARGETS.items():
        if target_id in ctx.catalogue:
            out[product] = (area, float(ctx.catalogue[target_id].target_value))
    return out


def _supply_ratios(product: str, month: int, judged: tuple[str, float], rng: np.random.Generator) -> dict[str, float]:
    area, threshold = judged
    spec = SUPPLY_PRODUCTS[product]
    main = threshold + spec.offsets[month - 1] + rng.normal(0, 0.006)
    other = float(np.clip(main + spec.other_area_gap + rng.normal(0, 0.01), 0.05, 1.2))
    return {area: main, ("city" if area == MAIN_URBAN else MAIN_URBAN): other}


def _consumption(product: str, year: int, month: int, rng: np.random.Generator) -> dict[str, float]:
    days = calendar.monthrange(year, month)[1]
    city = SUPPLY_PRODUCTS[product].monthly_consumption * CONSUMPTION_SEASON[month - 1] * days / 30.4
    city *= 1 + rng.normal(0, 0.012)
    return {"city": city, MAIN_URBAN: city * MAIN_URBAN_CONSUMPTION_SHARE * (1 + rng.normal(0, 0.01))}


def _keep_clear(output: float, ytd: list[float], consumption: float, threshold: float) -> float:
    """Raise this month's output a little when the year-to-date ratio would land within YTD_MARGIN of the line."""
    ratio = (ytd[0] + output) / (ytd[1] + consumption)
    if abs(ratio - threshold) < YTD_MARGIN:
        output += 2 * YTD_MARGIN * (ytd[1] + consumption)
    return round(output, 3)


def _vegetable_supply(ctx: Context, rng: np.random.Generator) -> FeedData:
    contract = get_contract(VEGETABLE_SUPPLY)
    areas, products = contract.column("area").allowed, contract.column("product").allowed
    judged = _judged_supply(ctx)
    ytd = {p: [0.0, 0.0] for p in products}
    values: dict[tuple[int, str, str], tuple[float, float]] = {}
    for month in MONTHS:
        for product in products:
            ratios = _supply_ratios(product, month, judged.get(product, ("city", 0.6)), rng)
            consumption = _consumption(product, ctx.year, month, rng)
            for area in areas:
                cons = round(consumption[area], 3)
                output = round(ratios[area] * cons, 3)
                if product in judged and judged[product][0] == area:
                    output = _keep_clear(output, ytd[product], cons, judged[product][1])
                    ytd[product][0] += output
                    ytd[product][1] += cons
                values[(month, area, product)] = (output, cons)
    records = [
        (ctx.period(m), a, p, *values[(m, a, p)]) for m in MONTHS for a in areas for p in products
    ]
    notes = [
        f"{p} self-sufficiency judged year-to-date at {AREA_GEO[a]} against {t:g}" for p, (a, t) in judged.items()
    ]
    return FeedData(_frame(VEGETABLE_SUPPLY, records), notes)


# ---- plan indicators

FREQUENCY_MONTHS = {
    "monthly": MONTHS,
    "quarterly": (3, 6, 9, 12),
    "semiannual": (6, 12),
    "annual": (12,),
}
UNIT_PLACES = {
    "ratio": 6,
    "tonnes": 3,
    "km": 1,
    "multiple_of_local_income": 1,
    "yuan_per_capita_year": 2,
    "beds_per_100_elderly": 2,
    "screenings_per_village_month": 2,
}  # every other unit (counts, yuan, m2) is a whole number
ON_THRESHOLD_SHARE = 0.3  # districts whose local policy is set exactly at the plan's minimum


@dataclass(frozen=True)
class Progress:
    """How an accumulating target progresses.

    `final_share` of the target is reached at `reach_month` (default: the
    deadline month); with `keep_pace` the figure keeps growing at the same pace
    afterwards (a target reached early), otherwise it levels off.
    """

    final_share: float | None = None
    reach_month: int | None = None
    keep_pace: bool = False


@dataclass(frozen=True)
class LevelPlant:
    """A level figure that misses its target in the given months at one geography (None: the city)."""

    target_id: str
    months: tuple[int, ...]
    geo_code: str | None = None


CUMULATIVE_PLANTS: dict[str, Progress] = {
    # Late: Line 1 opened on 24 Nov 2012, after the plan's September deadline.
    "pub_metro_line1_opening": Progress(final_share=1.0, reach_month=11),
    # Short: renovation stalls at about 95 % of the year's target.
    "hous_dilapidated_house_renovation": Progress(final_share=0.95),
    # Early: new urban jobs pass the year's target in October and keep growing.
    "emp_urban_new_jobs": Progress(final_share=1.01, reach_month=10, keep_pace=True),
}
LEVEL_PLANTS: tuple[LevelPlant, ...] = (
    LevelPlant("emp_registered_unemployment_rate", (2, 7)),  # after Spring Festival; graduates in July
    LevelPlant("emp_zero_employment_households", (3,)),  # new cases found before they are cleared
    LevelPlant("sup_vegetable_basket_sampling_pass_rate", (7,)),  # summer pesticide residues
    LevelPlant("health_ehr_filing_rate", (3,)),  # first quarter, before the filing drive
    LevelPlant("ss_resident_medical_fund_cap_multiple", (12,), "330127"),  # one county below 6×
)


def _places(target: Target) -> int:
    return UNIT_PLACES.get(target.unit, 0)


def _floor_to(value: float, places: int) -> float:
    return math.floor(value * 10**places + 1e-9) / 10**places


def _ceil_to(value: float, places: int) -> float:
    return math.ceil(value * 10**places - 1e-9) / 10**places


def _level_path(target: Target, rng: np.random.Generator) -> np.ndarray:
    """A healthy level through the year: close to its threshold on the right side, rising a little."""
    t, places = float(target.target_value), _places(target)
    months = np.arange(1, 13)
    if target.comparator == "==":
        return np.full(12, t)
    if target.comparator == "<=":
        path = t * rng.uniform(0.78, 0.88) * (1 + 0.02 * np.sin(months / 2)) + rng.normal(0, t * 0.005, 12)
        return np.array([min(_floor_to(v, places), _floor_to(t * 0.97, places)) for v in path])
    if target.scope == "each_district" and rng.random() < ON_THRESHOLD_SHARE:
        return np.full(12, _ceil_to(t, places))
    if target.unit == "ratio":
        if t >= 1:
            return np.ones(12)
        margin = min(0.04, (1 - t) * rng.uniform(0.25, 0.6))
        path = t + margin * (0.75 + 0.25 * months / 12) + rng.normal(0, margin * 0.05, 12)
        path = np.clip(path, t + margin / 2, 1.0)
    else:
        path = t * (1 + rng.uniform(0.02, 0.15)) * (1 + 0.002 * months)
    return np.array([max(round(float(v), places), _ceil_to(t, places)) for v in path])


def failing_value(target: Target, rng: np.random.Generator) -> float:
    """A figure that clearly misses the target, on the side its comparator forbids."""
    t, places = float(target.target_value), _places(target)
    if target.comparator == "<=":
        value = _ceil_to(t * rng.uniform(1.02, 1.08), places)
    elif target.comparator == "==":
        value = t + max(10.0**-places, float(rng.integers(1, 4)))
    elif target.unit == "ratio":
        value = _floor_to(t - rng.uniform(0.005, 0.02), places)
    else:
        value = _floor_to(t * rng.uniform(0.8, 0.95), places)
    if not fails(exact(value), target.comparator, target.target_value):
        raise AssertionError(f"planted value {value} for {target.target_id} does not miss its target")
    return value


def _cumulative_path(target: Target, year: int, progress: Progress, rng: np.random.Generator) -> np.ndarray:
    """Year-to-date figure: non-decreasing, reaching `final_share` × target at the reach month (S-ish pace)."""
    t, places = float(target.target_value), _places(target)
    deadline = min(max((target.deadline.year - year) * 12 + target.deadline.month, 1), 12)
    reach = progress.reach_month or deadline
    share = progress.final_share if progress.final_share is not None else rng.uniform(1.01, 1.08)
    months = np.arange(1, 13)
    frac = (months / reach) ** rng.uniform(0.85, 1.25)
    if not progress.keep_pace:
        frac = np.minimum(frac, 1.0) * (1 + 0.004 * np.maximum(months - reach, 0))
    frac = frac * (1 + rng.normal(0, 0.01, 12) * (months < reach))
    values = np.array([_floor_to(t * share * float(f), places) for f in frac])
    return np.maximum.accumulate(values)


def _plant_check(ctx: Context) -> None:
    """Fail loudly if the scenario names a target or district the catalogue no longer has."""
    for target_id in [*CUMULATIVE_PLANTS, *(p.target_id for p in LEVEL_PLANTS)]:
        if target_id not in ctx.catalogue or ctx.catalogue[target_id].feed != PLAN_INDICATORS:
            raise ValueError(f"the demo scenario plants {target_id!r}, which is not a plan_indicators target")
    for plant in LEVEL_PLANTS:
        if plant.geo_code not in (None, *ctx.districts):
            raise ValueError(f"the demo scenario plants {plant.target_id} at unknown district {plant.geo_code}")


def scope_geo_codes(target: Target, districts: Sequence[str]) -> tuple[str, ...]:
    """Where the generic feed reports a target: each district, or 330100 for every other scope (see module doc)."""
    return tuple(districts) if target.scope == "each_district" else (CITY_CODE,)


def _indicator_path(ctx: Context, target: Target, geo: str, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    if target.measure_kind == "cumulative":
        progress = CUMULATIVE_PLANTS.get(target.target_id, Progress())
        return _cumulative_path(target, ctx.year, progress, rng), []
    path = _level_path(target, rng)
    notes = []
    for plant in LEVEL_PLANTS:
        if plant.target_id == target.target_id and (plant.geo_code or CITY_CODE) == geo:
            for month in plant.months:
                path[month - 1] = failing_value(target, rng)
                notes.append(f"{target.target_id} at {geo} in {ctx.period(month)}: {path[month - 1]:g}")
    return path, notes


def _plan_indicators(ctx: Context, rng: np.random.Generator) -> FeedData:
    _plant_check(ctx)
    targets = _feed_targets(ctx.catalogue, PLAN_INDICATORS)
    paths: dict[tuple[str, str], np.ndarray] = {}
    notes: list[str] = []
    for target in targets:
        for geo in scope_geo_codes(target, ctx.districts):
            paths[(target.target_id, geo)], planted = _indicator_path(ctx, target, geo, rng)
            notes += planted
    records = [
        (ctx.period(m), t.target_id, geo, float(paths[(t.target_id, geo)][m - 1]), t.responsible_bureau)
        for m in MONTHS
        for t in targets
        if m in FREQUENCY_MONTHS[t.reporting_frequency]
        for geo in scope_geo_codes(t, ctx.districts)
    ]
    notes += [f"{tid}: {_describe_progress(p)}" for tid, p in CUMULATIVE_PLANTS.items()]
    return FeedData(_frame(PLAN_INDICATORS, records), notes)


def _describe_progress(progress: Progress) -> str:
    if progress.keep_pace:
        return f"reached early (month {progress.reach_month})"
    if progress.reach_month:
        return f"reached late (month {progress.reach_month}, after its deadline)"
    return f"stops at {progress.final_share:.0%} of target"


GENERATORS: dict[str, Callable[[Context, np.random.Generator], FeedData]] = {
    SOCIAL_SECURITY: _social_security,
    VACCINATION: _vaccination,
    VEGETABLE_SUPPLY: _vegetable_supply,
    PLAN_INDICATORS: _plan_indicators,
}

# --------------------------------------------------------------------------- files


@dataclass
class FeedFile:
    """One file to deliver: its cells as text, so faults can alter spellings without touching figures."""

    feed: str
    name: str
    header: list[str]
    rows: list[list[str]]
    encoding: str = "utf-8"

    def payload(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue().encode(self.encoding)


def decimal_text(value: float) -> str:
    """Plain decimal notation of a figure already rounded to its places (no exponent, no trailing zeros)."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _cell(value: object, kind: str) -> str:
    if kind == "integer":
        return str(int(value))  # type: ignore[call-overload]
    if kind == "decimal":
        return decimal_text(float(value))  # type: ignore[arg-type]
    return str(value)


def text_rows(feed: str, frame: pd.DataFrame) -> list[list[str]]:
    contract = get_contract(feed)
    kinds = [c.kind for c in contract.columns]
    return [[_cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in frame.itertuples(index=False)]


def file_name(feed: str, year: int, month: int, suffix: str | None = None) -> str:
    return f"{feed}_{year}{month:02d}{'_' + suffix if suffix else ''}.csv"


def _original(feed: str, ctx: Context, month: int, frame: pd.DataFrame) -> FeedFile:
    rows = text_rows(feed, frame[frame["period"] == ctx.period(month)])
    return FeedFile(feed, file_name(feed, ctx.year, month), list(get_contract(feed).column_names), rows)


# ---- faults (social security only)


@dataclass(frozen=True)
class FaultMonths:
    """Which requested months carry which fault; None where the requested months leave no room for it."""

    revision: int | None
    duplicate: int | None
    bad_rows: int | None
    rejected: int | None


PREFERRED_FAULT_MONTHS = (6, 8, 10)


def choose_fault_months(months: Sequence[int]) -> FaultMonths:
    """Distinct months, so no fault hides another: the revision fixes a planted low month; the exact month is spared."""
    path = SCHEME_PATHS["resident_medical"]
    low = [m for m in months if m <= path.months_below]
    revision = low[-1] if low else None
    free = [m for m in months if m not in (revision, path.exact_month)]
    ordered = [m for m in PREFERRED_FAULT_MONTHS if m in free] + [m for m in free if m not in PREFERRED_FAULT_MONTHS]
    picks = [*ordered[:3], None, None, None][:3]
    return FaultMonths(revision=revision, duplicate=picks[0], bad_rows=picks[1], rejected=picks[2])


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _awkward_number(text: str, row: int) -> str:
    """Spellings bureau spreadsheets produce: `12,345`, `１２３４５`, `１２,３４５` (all the same number)."""
    grouped = f"{int(text):,}"
    return (text.translate(FULL_WIDTH), grouped, grouped.translate(FULL_WIDTH))[row % 3]


def gbk_reexport(original: FeedFile, ctx: Context) -> FeedFile:
    """The same month re-exported from a Chinese spreadsheet: GB18030, a 区名 column, awkward number spellings."""
    names = district_names(ctx.year)
    header = original.header[:2] + ["区名"] + original.header[2:]
    rows = []
    for i, (period, code, scheme, eligible, insured) in enumerate(original.rows):
        rows.append([period, code, names.get(code, ""), scheme, f"{int(eligible):,}", _awkward_number(insured, i)])
    name = original.name.replace(".csv", "_gbk.csv")
    return FeedFile(original.feed, name, header, rows, encoding="gb18030")


def rejected_copy(original: FeedFile) -> FeedFile:
    """A draft whose insured column was renamed: `insured_persons` is missing, so the file is rejected whole."""
    header = ["insured" if h == "insured_persons" else h for h in original.header]
    return FeedFile(original.feed, original.name.replace(".csv", "_bad.csv"), header, [r[:] for r in original.rows])


def plant_bad_rows(original: FeedFile, rng: np.random.Generator) -> tuple[tuple[str, str, str], int]:
    """Corrupt one resident pension row (insured > eligible) and add a row under the unknown code 330199.

    The unknown row is a second copy of Xiaoshan's (330109) resident medical
    row with the code mistyped, as happens when a sheet is edited by hand.
    Returns the key whose clean figures will not load, and the number of rows
    that must be quarantined.
    """
    candidates = [i for i, r in enumerate(original.rows) if r[2] == "resident_pension"]
    index = candidates[int(rng.integers(len(candidates)))]
    row = original.rows[index]
    row[4] = str(int(row[3]) + int(rng.integers(50, 2000)))
    source = next((r for r in original.rows if r[1] == "330109" and r[2] == "resident_medical"), original.rows[0])
    original.rows.insert(index + 1, [source[0], "330199", *source[2:]])
    return (row[0], row[1], row[2]), 2


def revise_to_target(frame: pd.DataFrame, period: str, threshold: Fraction, rng: np.random.Generator) -> pd.DataFrame:
    """Late registrations found on re-checking: every district's resident medical count rises past the target."""
    out = frame.copy()
    mask = (out["period"] == period) & (out["scheme"] == "resident_medical")
    eligible = out.loc[mask, "eligible_persons"].to_numpy(np.int64)
    insured = out.loc[mask, "insured_persons"].to_numpy(np.int64)
    goal = math.ceil(threshold * int(eligible.sum())) + round(int(eligible.sum()) * rng.uniform(0.0004, 0.0012))
    out.loc[mask, "insured_persons"] = rebalance(insured, eligible, max(goal, int(insured.sum())))
    return out


@dataclass
class FaultOutcome:
    quarantined: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plant_faults(
    batches: dict[int, list[FeedFile]],
    frame: pd.DataFrame,
    ctx: Context,
    months: Sequence[int],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, FaultOutcome]:
    """Add the fault files to the delivery batches; return the social security rows that will load in the end."""
    chosen = choose_fault_months(months)
    outcome = FaultOutcome()
    originals = {
        m: f for m in months for f in batches[m] if f.name == file_name(SOCIAL_SECURITY, ctx.year, m)
    }
    if chosen.duplicate:
        copy = gbk_reexport(originals[chosen.duplicate], ctx)
        batches[_next_batch(chosen.duplicate, months)].append(copy)
        outcome.notes.append(f"{copy.name} re-exports {ctx.period(chosen.duplicate)} in GB18030 (same figures)")
    if chosen.bad_rows:
        original = originals[chosen.bad_rows]
        key, count = plant_bad_rows(original, rng)
        frame = frame[~((frame["period"] == key[0]) & (frame["district_code"] == key[1]) & (frame["scheme"] == key[2]))]
        outcome.quarantined[original.name] = count
        outcome.notes.append(f"{original.name}: {key[1]} {key[2]} insured > eligible and a row for 330199")
    if chosen.rejected:
        bad = rejected_copy(originals[chosen.rejected])
        batch = batches[chosen.rejected]
        batch.insert(batch.index(originals[chosen.rejected]), bad)
        outcome.rejected.append(bad.name)
        outcome.notes.append(f"{bad.name} lacks insured_persons (rejected)")
    if chosen.revision:
        target = ctx.catalogue[scheme_targets()["resident_medical"]]
        frame = revise_to_target(frame, ctx.period(chosen.revision), target.target_value, rng)
        revision = _original(SOCIAL_SECURITY, ctx, chosen.revision, frame)
        revision.name = revision.name.replace(".csv", "_rev1.csv")
        batches[_next_batch(chosen.revision, months)].append(revision)
        outcome.notes.append(f"{revision.name} revises {ctx.period(chosen.revision)} above the resident medical target")
    return frame.reset_index(drop=True), outcome


def _next_batch(month: int, months: Sequence[int]) -> int:
    """Corrections arrive with the next month's delivery (or in a last batch of their own)."""
    later = [m for m in months if m > month]
    return later[0] if later else 13


def _write(files: list[FeedFile], landing: Path) -> list[Path]:
    """Write in delivery order with strictly increasing mtimes: the loader orders by mtime, then name."""
    paths = []
    start = time.time_ns() - (len(files) + 1) * 1_000_000_000
    for i, f in enumerate(files):
        path = landing / f.feed / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.payload())
        stamp = start + i * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- entry points


@dataclass
class DemoManifest:
    """What was written and what a correct warehouse must make of it."""

    files: list[Path]
    truth: dict[str, pd.DataFrame]
    expected_breaches: set[Breach]
    expected_quarantined_rows: dict[str, int] = field(default_factory=dict)
    expected_rejected_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _normalise_months(months: Sequence[int]) -> tuple[int, ...]:
    chosen = tuple(sorted({int(m) for m in months}))
    if not chosen or chosen[0] < 1 or chosen[-1] > 12:
        raise ValueError(f"months must be a non-empty selection of 1..12, got {list(months)}")
    return chosen


def generate(
    landing: Path,
    *,
    year: int = 2012,
    months: Sequence[int] = range(1, 13),
    feeds: Sequence[str] = FEED_NAMES,
    seed: int = 2012,
    faults: bool = False,
) -> DemoManifest:
    """Write the requested feeds and months into `landing` and return the manifest of the expected outcome."""
    landing = Path(landing)
    chosen_months = _normalise_months(months)
    for feed in feeds:
        get_contract(feed)  # an unknown feed raises, naming the known ones
    chosen_feeds = [f for f in FEED_NAMES if f in set(feeds)]
    ctx = Context(year=year, districts=districts_of_year(year), catalogue=load_catalogue())
    *feed_rngs, fault_rng = np.random.default_rng(seed).spawn(len(FEED_NAMES) + 1)
    streams = dict(zip(FEED_NAMES, feed_rngs, strict=True))

    periods = {ctx.period(m) for m in chosen_months}
    data = {feed: GENERATORS[feed](ctx, streams[feed]) for feed in chosen_feeds}
    truth = {feed: d.frame[d.frame["period"].isin(periods)].reset_index(drop=True) for feed, d in data.items()}
    batches = {m: [_original(feed, ctx, m, truth[feed]) for feed in chosen_feeds] for m in chosen_months}
    batches[13] = []
    notes = [n for d in data.values() for n in d.notes]

    outcome = FaultOutcome()
    if faults and SOCIAL_SECURITY in truth:
        truth[SOCIAL_SECURITY], outcome = plant_faults(batches, truth[SOCIAL_SECURITY], ctx, chosen_months, fault_rng)
    files = _write([f for m in sorted(batches) for f in batches[m]], landing)
    return DemoManifest(
        files=files,
        truth=truth,
        expected_breaches=compute_expected_breaches(truth, ctx.catalogue),
        expected_quarantined_rows=outcome.quarantined,
        expected_rejected_files=outcome.rejected,
        notes=notes + outcome.notes,
    )


def parse_months(text: str) -> list[int]:
    """`1-12`, `3`, `1,2,7-9` -> month numbers."""
    months: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(\d{1,2})(?:-(\d{1,2}))?", part)
        if not match:
            raise argparse.ArgumentTypeError(f"cannot read months {text!r}: use e.g. 1-12 or 1,3,5-7")
        first, last = int(match[1]), int(match[2] or match[1])
        months.extend(range(first, last + 1))
    return months


def summarise(manifest: DemoManifest, landing: Path) -> str:
    """One paragraph: what was written, which breaches were planted, which faults."""
    catalogue = load_catalogue()
    by_feed: dict[str, list[Breach]] = {}
    for breach in sorted(manifest.expected_breaches, key=lambda b: (b[2], b[0], b[1], b[3] or "")):
        by_feed.setdefault(catalogue[breach[0]].feed, []).append(breach)
    written = ", ".join(f"{feed} {len(frame)} rows" for feed, frame in manifest.truth.items())
    parts = [f"Wrote {len(manifest.files)} files into {landing} ({written})."]
    total = len(manifest.expected_breaches)
    per_feed = "; ".join(
        f"{feed} {len(items)} (e.g. " + ", ".join(_describe(b) for b in items[:3]) + ")"
        for feed, items in by_feed.items()
    )
    parts.append(f"A correct warehouse must judge {total} scope rows breached: {per_feed or 'none'}.")
    if manifest.notes:
        parts.append("Planted: " + "; ".join(manifest.notes) + ".")
    if manifest.expected_quarantined_rows or manifest.expected_rejected_files:
        quarantined = ", ".join(f"{k} ({v} rows)" for k, v in manifest.expected_quarantined_rows.items())
        parts.append(
            f"Expected quarantined: {quarantined or 'none'}; rejected: {', '.join(manifest.expected_rejected_files)}."
        )
    return " ".join(parts)


def _describe(breach: Breach) -> str:
    target_id, geo, period, vaccine = breach
    return f"{target_id} {geo}{' ' + vaccine if vaccine else ''} {period}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hzwh.demo.generate",
        description="Write a deterministic demo year of bureau feeds into a landing folder.",
    )
    parser.add_argument("--landing", type=Path, required=True, help="landing folder (FEEDS.md §2)")
    parser.add_argument("--year", type=int, default=2012)
    parser.add_argument("--months", type=parse_months, default=list(MONTHS), help="e.g. 1-12 or 1,3,5-7")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--faults", action="store_true", help="also deliver the fault files of the module doc")
    args = parser.parse_args(argv)
    manifest = generate(args.landing, year=args.year, months=args.months, seed=args.seed, faults=args.faults)
    print(summarise(manifest, args.landing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
