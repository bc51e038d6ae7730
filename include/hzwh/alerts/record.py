"""Raise alerts into the warehouse: each key once, with a delivery row per channel.

The alert log (`ops.alerts`, `ops.alert_deliveries`) is the source of truth
for what was sent, to whom and when. Recording and delivering are separate
steps so that a channel that is down never loses an alert: undelivered rows
stay pending and the next run retries them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg

from hzwh import settings
from hzwh.alerts.messages import Alert, attainment_alert, data_quality_alert
from hzwh.feeds.contracts import get_contract
from hzwh.feeds.reference import bureau_names
from hzwh.validation.attainment import Breach


@dataclass(frozen=True)
class Channel:
    name: str
    recipient: str


def configured_channels(audience: str) -> list[Channel]:
    """Channels from the environment; none configured means alerts are only recorded."""
    channels = []
    url = settings.alert_webhook_url()
    if url:
        channels.append(Channel("webhook", url))
    return channels


def record(conn: psycopg.Connection, alerts: list[Alert]) -> list[int]:
    """Insert alerts whose key is new; return the ids of those actually raised now."""
    raised: list[int] = []
    with conn.transaction():
        for alert in alerts:
            row = conn.execute(
                "insert into ops.alerts (alert_key, kind, audience, target_id, geo_code, month, vaccine,"
                " actual_value, target_value, comparator, responsible_bureau, load_id, message, payload)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " on conflict (alert_key) do nothing returning alert_id",
                (alert.key, alert.kind, alert.audience, alert.target_id, alert.geo_code, alert.month,
                 alert.vaccine, alert.actual_value, alert.target_value, alert.comparator,
                 alert.responsible_bureau, alert.load_id, alert.message,
                 json.dumps(alert.payload, ensure_ascii=False, default=str)),
            ).fetchone()
            if row is None:
                continue
            raised.append(row[0])
            for channel in configured_channels(alert.audience):
                conn.execute(
                    "insert into ops.alert_deliveries (alert_id, channel, recipient) values (%s, %s, %s)"
                    " on conflict do nothing",
                    (row[0], channel.name, channel.recipient),
                )
    return raised


def _rows(conn: psycopg.Connection, statement: str, params: tuple = ()) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(statement, params)
        return list(cur.fetchall())


def _district_names(conn: psycopg.Connection) -> dict[str, tuple[str, str]]:
    rows = _rows(conn, "select district_code, name_zh, name_en from marts.dim_district order by valid_from")
    return {r["district_code"]: (r["name_zh"], r["name_en"]) for r in rows}


def _targets(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    return {r["target_id"]: r for r in _rows(conn, "select * from marts.dim_target")}


def attainment_alerts(conn: psycopg.Connection, breaches: list[Breach]) -> list[Alert]:
    """Breach alerts for the suite's failures, and resolved notices for earlier breaches now met."""
    targets = _targets(conn)
    names = _district_names(conn)
    alerts = [
        attainment_alert(
            "breach",
            {"geo_code": b.geo_code, "month": b.month, "vaccine": b.vaccine, "actual_value": b.actual_value},
            targets[b.target_id],
            names,
        )
        for b in breaches
    ]
    # A breach that a revision cleared: the key's row is now met.
    cleared = _rows(
        conn,
        """
        select f.target_id, f.geo_code, f.month, f.vaccine, f.actual_value
        from ops.alerts as a
        inner join marts.fct_target_attainment as f
            on f.target_id = a.target_id and f.geo_code = a.geo_code and f.month = a.month
            and f.vaccine is not distinct from a.vaccine
        where a.kind = 'breach' and f.is_scope_row and f.status = 'met'
        """,
    )
    alerts += [attainment_alert("resolved", row, targets[row["target_id"]], names) for row in cleared]
    return alerts


def data_quality_alerts(conn: psycopg.Connection, run_id: str | None = None) -> list[Alert]:
    """One alert per file that had rows quarantined or was rejected (all runs, or one DAG run)."""
    loads = _rows(
        conn,
        "select * from ops.file_loads where (status = 'rejected' or (status = 'loaded' and rows_quarantined > 0))"
        " and (%s::text is null or dag_run_id = %s) order by load_id",
        (run_id, run_id),
    )
    alerts = []
    for load in loads:
        samples = [
            r["reason"]
            for r in _rows(
                conn,
                "select reason from ops.quarantined_rows where load_id = %s order by row_number limit 20",
                (load["load_id"],),
            )
        ]
        owner = get_contract(load["feed"]).owner
        alerts.append(data_quality_alert(load, samples, (owner, *bureau_names(owner))))
    return alerts
