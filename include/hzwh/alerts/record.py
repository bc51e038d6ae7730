"""Raise alerts into the warehouse: each key once, routed, with a delivery row per recipient.

The alert log (`ops.alerts`, `ops.alert_deliveries`, the view `ops.alert_log`)
is the source of truth for what was sent, to whom and when. Recording and
delivering are separate steps so that a channel that is down never loses an
alert: undelivered rows stay pending and the next run retries them.

Routing happens here, once, when the alert is raised (alerts/routing.py): the
recipients an alert was meant for stay recorded even if the routing file
changes later. ALERT_WEBHOOK_URL (FEEDS.md §7), when set, receives every alert
in addition to its route. A channel that is not configured is noted on the
alert (`route_note`) instead of getting a delivery row that could never succeed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import psycopg

from hzwh import settings
from hzwh.alerts import channels
from hzwh.alerts.messages import Alert, attainment_alert, data_quality_alert, fallback_note
from hzwh.alerts.routing import Routing, load_routing
from hzwh.feeds.contracts import get_contract
from hzwh.feeds.reference import bureau_names
from hzwh.validation.attainment import Breach

log = logging.getLogger(__name__)


def recipients(alert: Alert, routing: Routing) -> tuple[str, list[tuple[str, str]], str | None]:
    """(route label, [(channel, recipient)], fallback bureau or None) for one alert."""
    resolution = routing.resolve(alert.audience, alert.responsible_bureau)
    out = resolution.route.recipients()
    generic = settings.alert_webhook_url()
    if generic:
        out.append(("webhook", generic))
    return resolution.label, list(dict.fromkeys(out)), resolution.fallback_for


def record(
    conn: psycopg.Connection,
    alerts: list[Alert],
    *,
    routing: Routing | None = None,
    unavailable: Callable[[str, str], str | None] = channels.unavailable,
) -> list[int]:
    """Insert alerts whose key is new, with their deliveries; return the ids of those raised now."""
    routing = routing or load_routing()
    raised: list[int] = []
    fallbacks: dict[str, int] = {}
    unsent: dict[str, int] = {}
    with conn.transaction():
        for alert in alerts:
            label, wanted, fallback_for = recipients(alert, routing)
            message, payload = alert.message, dict(alert.payload)
            if fallback_for is not None:
                message += fallback_note(fallback_for, *bureau_names(fallback_for), routing.source_name)
                payload["message"] = message
            payload["route"] = label
            why_not = {(c, r): unavailable(c, r) for c, r in wanted}
            notes = [n for n in why_not.values() if n]
            deliverable = [cr for cr in wanted if not why_not[cr]]
            if not wanted:
                notes.append(f"no recipients for {label} in {routing.source_name}: recorded only")
            row = conn.execute(
                "insert into ops.alerts (alert_key, kind, audience, target_id, geo_code, month, vaccine,"
                " actual_value, target_value, comparator, responsible_bureau, load_id, feed, checked_on,"
                " route, route_note, message, payload)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " on conflict (alert_key) do nothing returning alert_id",
                (alert.key, alert.kind, alert.audience, alert.target_id, alert.geo_code, alert.month,
                 alert.vaccine, alert.actual_value, alert.target_value, alert.comparator,
                 alert.responsible_bureau, alert.load_id, alert.feed, alert.checked_on, label,
                 "; ".join(dict.fromkeys(notes)) or None, message,
                 json.dumps(payload, ensure_ascii=False, default=str)),
            ).fetchone()
            if row is None:
                continue
            raised.append(row[0])
            for note in dict.fromkeys(notes):
                unsent[note] = unsent.get(note, 0) + 1
            if fallback_for is not None:
                fallbacks[fallback_for] = fallbacks.get(fallback_for, 0) + 1
            for channel, recipient in deliverable:
                conn.execute(
                    "insert into ops.alert_deliveries (alert_id, channel, recipient) values (%s, %s, %s)"
                    " on conflict do nothing",
                    (row[0], channel, recipient),
                )
    for bureau, count in sorted(fallbacks.items()):
        log.warning("bureau %s has no route in %s: %d alert(s) went to the data engineers instead",
                    bureau, routing.source_name, count)
    for note, count in sorted(unsent.items()):
        log.warning("%s (%d alert(s); recorded in ops.alerts.route_note)", note, count)
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
