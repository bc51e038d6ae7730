"""Attainment suite, generated from the target catalogue: does the city meet its plan?

One expectation per catalogue target, with the threshold read from
`marts.dim_target` (the catalogue seed) at run time, so a changed threshold in
the catalogue changes the check with no code edit. Failing rows are breaches to
report, never a reason to drop data.

Only rows at the target's own scope are judged, and accumulating targets only
from their deadline month on (before it they are in progress, not breached).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from hzwh.validation.gx_context import get_context, run_suite

JUDGED_ROWS = """
select
    f.attainment_key,
    f.target_id,
    f.geo_code,
    f.geo_level,
    f.vaccine,
    f.month,
    f.actual_value::float8 as actual_value,
    f.status
from marts.fct_target_attainment as f
inner join marts.dim_target as t on f.target_id = t.target_id
where
    f.is_scope_row
    and f.actual_value is not null
    and (t.measure_kind <> 'cumulative' or f.month >= t.deadline_month)
"""

TARGETS = """
select target_id, comparator, target_value::float8 as target_value, catalogue_version
from marts.dim_target
order by target_id
"""


@dataclass(frozen=True)
class Breach:
    attainment_key: str
    target_id: str
    geo_code: str
    month: date
    vaccine: str | None
    actual_value: float


def _query(conn: psycopg.Connection, statement: str) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(statement)
        columns = [c.name for c in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def build_suite(targets: pd.DataFrame) -> Any:
    """One expectation per target: >= is a minimum, <= a maximum, == both."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    context = get_context()
    name = "target_attainment"
    try:
        context.suites.delete(name)
    except Exception:  # noqa: BLE001 - absent on first use
        pass
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for target in targets.itertuples(index=False):
        bounds: dict[str, float] = {}
        if target.comparator in (">=", "=="):
            bounds["min_value"] = target.target_value
        if target.comparator in ("<=", "=="):
            bounds["max_value"] = target.target_value
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="actual_value",
                row_condition=Column("target_id") == target.target_id,
                meta={"target_id": target.target_id, "comparator": target.comparator,
                      "target_value": target.target_value, "catalogue_version": target.catalogue_version},
                **bounds,
            )
        )
    return suite


def find_breaches(conn: psycopg.Connection) -> list[Breach]:
    """Run the catalogue-generated suite over the judged rows of fct_target_attainment."""
    rows = _query(conn, JUDGED_ROWS)
    if rows.empty:
        return []
    targets = _query(conn, TARGETS)
    targets = targets[targets["target_id"].isin(set(rows["target_id"]))]
    suite = build_suite(targets)
    result = run_suite(suite, "target_attainment_rows", rows, ["attainment_key"])
    failing: set[str] = set()
    for item in result.results:
        if not item.success:
            failing.update(r["attainment_key"] for r in item.result.get("unexpected_index_list") or [])
    hits = rows[rows["attainment_key"].isin(failing)]
    return [
        Breach(r.attainment_key, r.target_id, r.geo_code, r.month, None if pd.isna(r.vaccine) else r.vaccine,
               float(r.actual_value))
        for r in hits.itertuples(index=False)
    ]
