"""The bureau feeds, declared once (FEEDS.md §3).

Everything per-feed in the warehouse (raw tables, readers, validity suites,
DAG tasks) is generated from these declarations, so adding a feed means adding
a contract here and a staging model in dbt, and nothing else.

This module is imported by DAG files at parse time: keep it free of heavy
imports and of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["period", "code", "text", "integer", "decimal"]


@dataclass(frozen=True)
class Column:
    """One contract column.

    `allowed` is either a fixed tuple of canonical values or the name of a
    lookup resolved at run time from the dbt seeds (`districts`,
    `district_or_township`, `plan_indicator_targets`), so that reference data
    lives in one place.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    allowed: tuple[str, ...] | str | None = None
    min_value: float | None = None
    strict_min: bool = False
    description: str = ""

    @property
    def pg_type(self) -> str:
        return {
            "period": "text",
            "code": "text",
            "text": "text",
            "integer": "bigint",
            "decimal": "numeric",
        }[self.kind]


@dataclass(frozen=True)
class FeedContract:
    name: str
    owner: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # (smaller, larger): the first column may not exceed the second.
    not_greater_than: tuple[tuple[str, str], ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


PERIOD = Column("period", "period", description="YYYY-MM, the month the figures describe (state at month end)")

VACCINES = ("BCG", "HepB", "OPV", "DTaP", "DT", "MCV", "MR", "MMR", "JE", "MenA", "MenAC", "HepA")

SOCIAL_SECURITY_ENROLLMENT = FeedContract(
    name="social_security_enrollment",
    owner="hrss",
    description=(
        "市人力社保局: enrolment in resident medical, resident pension and employee medical insurance,"
        " per district and scheme, monthly."
    ),
    columns=(
        PERIOD,
        Column("district_code", "code", allowed="districts", description="GB/T 2260 district code"),
        Column(
            "scheme",
            "text",
            allowed=("resident_medical", "resident_pension", "employee_medical"),
            description="insurance scheme",
        ),
        Column("eligible_persons", "integer", min_value=0, strict_min=True, description="应参保人数, > 0"),
        Column("insured_persons", "integer", min_value=0, description="参保人数, 0 ≤ insured ≤ eligible"),
    ),
    key=("period", "district_code", "scheme"),
    not_greater_than=(("insured_persons", "eligible_persons"),),
)

VACCINATION_COVERAGE = FeedContract(
    name="vaccination_coverage",
    owner="health",
    description=(
        "市卫生局: national immunisation programme coverage of resident children, per district and vaccine,"
        " monthly."
    ),
    columns=(
        PERIOD,
        Column("district_code", "code", allowed="districts", description="GB/T 2260 district code"),
        Column("vaccine", "text", allowed=VACCINES, description="NIP vaccine, case-insensitive"),
        Column("eligible_children", "integer", min_value=0, strict_min=True, description="resident children due, > 0"),
        Column("vaccinated_children", "integer", min_value=0, description="0 ≤ vaccinated ≤ eligible"),
    ),
    key=("period", "district_code", "vaccine"),
    not_greater_than=(("vaccinated_children", "eligible_children"),),
)

VEGETABLE_SUPPLY = FeedContract(
    name="vegetable_supply",
    owner="agriculture",
    description="市农业局 (with 市贸易局): local output and consumption per area and product group, monthly.",
    columns=(
        PERIOD,
        Column("area", "text", allowed=("main_urban", "city"), description="main_urban (主城区) or city (全市)"),
        Column(
            "product",
            "text",
            allowed=("vegetables", "leafy_vegetables", "livestock_poultry", "aquatic"),
            description="product group",
        ),
        Column("local_output_tonnes", "decimal", min_value=0, description="local bases' output that month, ≥ 0"),
        Column("consumption_tonnes", "decimal", min_value=0, strict_min=True, description="consumption, > 0"),
    ),
    key=("period", "area", "product"),
)

PLAN_INDICATORS = FeedContract(
    name="plan_indicators",
    owner="ndrc",
    description=(
        "Any bureau: the year-to-date figure of any other catalogue target, per city, district or township,"
        " monthly."
    ),
    columns=(
        PERIOD,
        Column("target_id", "text", allowed="plan_indicator_targets", description="a target of the catalogue"),
        Column(
            "geo_code",
            "code",
            allowed="district_or_township",
            description="330100, a district code, or a 9-digit township code",
        ),
        Column("value", "decimal", description="year-to-date figure at period end; rates as fractions"),
        Column("reported_by", "text", required=False, description="optional: the reporting bureau"),
    ),
    key=("period", "target_id", "geo_code"),
)

CONTRACTS: dict[str, FeedContract] = {
    c.name: c for c in (SOCIAL_SECURITY_ENROLLMENT, VACCINATION_COVERAGE, VEGETABLE_SUPPLY, PLAN_INDICATORS)
}
FEED_NAMES: tuple[str, ...] = tuple(CONTRACTS)


def get_contract(feed: str) -> FeedContract:
    try:
        return CONTRACTS[feed]
    except KeyError:
        raise KeyError(f"unknown feed {feed!r}; known feeds: {', '.join(FEED_NAMES)}") from None
