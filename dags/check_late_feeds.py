"""
### Check for late feeds

Every day at 09:00 Hangzhou time (01:00 UTC), each feed's monthly files are
checked against their due day: by default the 10th of the following month,
per feed in the alert routing file (`ALERT_ROUTING_FILE`, see docs/alerts.md).
A month with no loaded file after its due day raises one `late_feed` alert for
the data engineers; while it stays missing, a reminder follows once every
`realert_days`. Re-runs never repeat an alert.

The check counts days from the run's logical date (in Asia/Shanghai), never
from the wall clock, so a backfill (`airflow backfill create`, or
`airflow dags test check_late_feeds 2012-04-11`) asks which months were due
by then. Pending deliveries (of any alert) then go out on the configured
channels.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, get_current_context, task


@task
def check_late_feeds() -> dict:
    from hzwh.pipeline import check_late_feeds as check

    context = get_current_context()
    # A manually triggered run may have no logical date: then the moment it was due to run.
    logical_date = context.get("logical_date") or context["dag_run"].run_after
    return check(logical_date)


@task(trigger_rule="all_done")
def deliver_alerts() -> dict:
    from hzwh.pipeline import deliver_alerts as deliver

    return deliver()


@dag(
    dag_id="check_late_feeds",
    schedule="0 1 * * *",
    # The plan year: a backfill can replay any day since the first feed month was due.
    # catchup stays off: a new deployment checks today, not every day since 2012.
    start_date=datetime(2012, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["alerts", "feeds", "late"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def check_late_feeds_dag() -> None:
    check_late_feeds() >> deliver_alerts()


check_late_feeds_dag()
