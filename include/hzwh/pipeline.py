"""The work behind each DAG task, as plain functions (the DAG files only wire them).

Each returns a small dict of counts for XCom: never data frames.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

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
    """Record a data-quality alert for each file of this run that was quarantined whole or in part."""
    from hzwh.alerts.deliver import deliver_pending
    from hzwh.alerts.record import data_quality_alerts, record

    with db.connect() as conn:
        db.bootstrap(conn)
        raised = record(conn, data_quality_alerts(conn, run_id))
        report = deliver_pending(conn)
    return {"raised": len(raised), "sent": report.sent, "failed": report.failed}


def check_attainment() -> dict:
    """Run the catalogue's attainment suite on the marts and record breach / resolved alerts."""
    from hzwh.alerts.record import attainment_alerts, record
    from hzwh.validation.attainment import find_breaches

    with db.connect() as conn:
        breaches = find_breaches(conn)
        raised = record(conn, attainment_alerts(conn, breaches))
    log.info("%d breaches judged; %d new alerts raised", len(breaches), len(raised))
    return {"breaches": len(breaches), "raised": len(raised)}


def deliver_alerts() -> dict:
    """Send every pending alert delivery; failures stay pending for the next run."""
    from hzwh.alerts.deliver import deliver_pending

    with db.connect() as conn:
        report = deliver_pending(conn)
    if report.failed:
        log.warning("%d deliveries failed and stay pending", report.failed)
    return {"sent": report.sent, "failed": report.failed}
