"""The work behind each DAG task, as plain functions (the DAG files only wire them).

Each returns a small dict of counts for XCom: never data frames.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime

from hzwh import db

log = logging.getLogger(__name__)


def ingest(feed: str, run_id: str | None = None) -> dict:
    """Load every waiting file of one feed; returns counts (files by status, rows)."""
    from hzwh.load.ingest import ingest_feed

    outcomes = ingest_feed(feed, run_id=run_id)
    summary = {
        "feed": feed,
        "files": len(outcomes),
        "loaded": sum(o.status == "loaded" for o in outcomes),
        "rejected": sum(o.status == "rejected" for o in outcomes),
        "duplicates": sum(o.status == "duplicate" for o in outcomes),
        "rows_loaded": sum(o.rows_loaded for o in outcomes),
        "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
        "outcomes": [asdict(o) for o in outcomes],
    }
    for o in outcomes:
        log.info("%s %s: %s (%s loaded, %s quarantined)%s", feed, o.file_name, o.status, o.rows_loaded,
                 o.rows_quarantined, f" - {o.reason}" if o.reason else "")
    return summary


def alert_data_quality(run_id: str | None = None) -> dict:
    """Record a data-quality alert for each file of this run that was quarantined whole or in part, then deliver."""
    from hzwh.alerts.record import data_quality_alerts, record

    with db.connect() as conn:
        db.bootstrap(conn)
        raised = record(conn, data_quality_alerts(conn, run_id))
    return {"raised": len(raised), **deliver_alerts()}


def check_attainment() -> dict:
    """Run the catalogue's attainment suite on the marts and record breach / resolved alerts."""
    from hzwh.alerts.record import attainment_alerts, record
    from hzwh.validation.attainment import find_breaches

    with db.connect() as conn:
        breaches = find_breaches(conn)
        raised = record(conn, attainment_alerts(conn, breaches))
    log.info("%d breaches judged; %d new alerts raised", len(breaches), len(raised))
    return {"breaches": len(breaches), "raised": len(raised)}


def check_late_feeds(logical_date: datetime) -> dict:
    """Record a late-feed alert for each feed x month not loaded by its due day (as of the run's logical date)."""
    from hzwh.alerts import late
    from hzwh.alerts.record import record
    from hzwh.alerts.routing import load_routing

    as_of = late.as_of_date(logical_date)
    routing = load_routing()
    with db.connect() as conn:
        db.bootstrap(conn)
        alerts = late.check(conn, as_of, routing)
        raised = record(conn, alerts, routing=routing)
    for alert in alerts:
        log.warning("%s", alert.message.splitlines()[-1])
    log.info("late-feed check as of %s: %d late feed x month, %d new alerts", as_of, len(alerts), len(raised))
    return {"as_of": as_of.isoformat(), "late": [a.key for a in alerts], "raised": len(raised)}


def deliver_alerts() -> dict:
    """Send every due alert delivery; failures stay pending, with their reason, for a later run."""
    from hzwh.alerts.deliver import deliver_pending

    with db.connect(autocommit=True) as conn:
        report = deliver_pending(conn)
    if report.failed:
        log.warning("%d deliveries failed and stay pending (see ops.alert_log)", report.failed)
    return {"sent": report.sent, "failed": report.failed, "messages": report.messages}


def rows_loaded_in_run(run_id: str) -> int:
    """Rows an ingest run loaded, over all feeds: whether the marts need building."""
    with db.connect() as conn:
        return conn.execute(
            "select coalesce(sum(rows_loaded), 0) from ops.file_loads where dag_run_id = %s and status = 'loaded'",
            (run_id,),
        ).fetchone()[0]
