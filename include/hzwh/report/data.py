"""What the dashboard reads from the warehouse: the marts of FEEDS.md §5 and the breach alerts in ops.alerts.

Everything is read in one go into small data frames (a plan year is a few
thousand attainment rows), with numerics as floats and months as dates, so
that the rendering code does no SQL and can be tested on frames it builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import psycopg

ATTAINMENT_SQL = """
select
    f.target_id, f.geo_code, f.geo_level, f.vaccine, f.month,
    f.actual_value::float8 as actual_value, f.target_value::float8 as target_value, f.comparator,
    f.status, f.is_scope_row, f.expected_to_date::float8 as expected_to_date,
    f.projected_year_end::float8 as projected_year_end, f.pace_status, f.responsible_bureau
from marts.fct_target_attainment as f
order by f.target_id, f.month, f.geo_code, f.vaccine
"""

TARGETS_SQL = """
select
    target_id, section, metric_zh, metric_en, comparator, target_value::float8 as target_value, unit,
    scope, measure_kind, reporting_frequency, feed, responsible_bureau, deadline
from marts.dim_target
order by target_id
"""

BUREAUS_SQL = "select bureau_id, name_zh, name_en from marts.dim_bureau order by bureau_id"

DISTRICTS_SQL = """
select district_code, name_zh, name_en, valid_from, valid_to, is_main_urban_area
from marts.dim_district
order by district_code, valid_from
"""

VACCINES_SQL = "select vaccine, name_zh, name_en from marts.dim_vaccine order by vaccine"

EQUALISATION_SQL = """
select
    target_id, vaccine, month, comparator, target_value::float8 as target_value, districts_reporting,
    min_value::float8 as min_value, max_value::float8 as max_value, max_min_ratio::float8 as max_min_ratio,
    mean_value::float8 as mean_value, coefficient_of_variation::float8 as coefficient_of_variation,
    weighted_value::float8 as weighted_value, districts_below_target, below_target_districts,
    lowest_district_code
from marts.fct_district_equalisation
order by target_id, month, vaccine
"""

# The first breach alert recorded for each target x geo x month (x vaccine); the marts say whether it still stands.
ALERTS_SQL = """
select target_id, geo_code, month, vaccine, min(created_at) as alerted_at
from ops.alerts
where kind = 'breach'
group by target_id, geo_code, month, vaccine
"""


@dataclass
class ReportData:
    attainment: pd.DataFrame
    targets: pd.DataFrame
    bureaus: pd.DataFrame
    districts: pd.DataFrame
    vaccines: pd.DataFrame
    equalisation: pd.DataFrame
    alerts: pd.DataFrame
    source: str = ""
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _frame(conn: psycopg.Connection, statement: str) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(statement)
        columns = [c.name for c in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


class MartsMissing(RuntimeError):
    """The marts have not been built in this warehouse yet."""


def load(conn: psycopg.Connection) -> ReportData:
    """Read the marts (and ops.alerts, when it exists) that the dashboard shows."""
    if not _exists(conn, "marts.fct_target_attainment"):
        raise MartsMissing("marts.fct_target_attainment does not exist: build the marts first (dbt build)")
    alerts = (
        _frame(conn, ALERTS_SQL) if _exists(conn, "ops.alerts")
        else pd.DataFrame(columns=["target_id", "geo_code", "month", "vaccine", "alerted_at"])
    )
    return ReportData(
        attainment=_frame(conn, ATTAINMENT_SQL),
        targets=_frame(conn, TARGETS_SQL),
        bureaus=_frame(conn, BUREAUS_SQL),
        districts=_frame(conn, DISTRICTS_SQL),
        vaccines=_frame(conn, VACCINES_SQL),
        equalisation=_frame(conn, EQUALISATION_SQL),
        alerts=alerts,
        source=conn.info.dbname,
    )
