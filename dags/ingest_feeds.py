"""
### Ingest bureau feeds

Every hour (`INGEST_SCHEDULE`), each feed's landing folder (`$LANDING_DIR/<feed>/`) is scanned.
Every waiting file is archived with its SHA-256 and then, in one transaction,
loaded into `raw.<feed>` with its invalid rows quarantined (`ops.quarantine`),
rejected whole with a reason, or recognised as a duplicate (a no-op). Row
accounting per file is in `ops.file_loads`.

One task per feed, generated from the feed contracts
(`include/hzwh/feeds/contracts.py`). A feed task that loaded something
updates its `raw.<feed>` Asset; with nothing to load it is skipped. Once every
feed task has finished (whatever its outcome: one bad feed never blocks the
others), `announce_new_data` updates the `raw` Asset if the run loaded
anything, which schedules one `build_marts` run on all of it. Files that were
quarantined raise a data-quality alert for the data engineers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from hzwh import settings
from hzwh.assets import RAW_BATCH_ASSET, raw_asset
from hzwh.feeds.contracts import FEED_NAMES


@task
def ingest(feed: str) -> dict:
    from airflow.sdk.exceptions import AirflowSkipException

    from hzwh.pipeline import ingest as ingest_files

    summary = ingest_files(feed, run_id=get_current_context()["run_id"])
    if summary["loaded"] == 0:
        # No new figures: skip, so that no Asset event triggers a marts build.
        raise AirflowSkipException(f"no new {feed} figures ({summary['files']} file(s) seen)")
    return summary


@task(trigger_rule="all_done")
def alert_data_quality() -> dict:
    from hzwh.pipeline import alert_data_quality as raise_alerts

    return raise_alerts(run_id=get_current_context()["run_id"])


@task(trigger_rule="all_done", outlets=[RAW_BATCH_ASSET])
def announce_new_data() -> dict:
    from airflow.sdk.exceptions import AirflowSkipException

    from hzwh.pipeline import rows_loaded_in_run

    rows = rows_loaded_in_run(get_current_context()["run_id"])
    if rows == 0:
        raise AirflowSkipException("this run loaded no new figures: no marts build")
    return {"rows_loaded": rows}


@dag(
    dag_id="ingest_feeds",
    schedule=settings.ingest_schedule(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["ingest", "feeds"],
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(seconds=settings.task_retry_delay_seconds()),
    },
    doc_md=__doc__,
)
def ingest_feeds() -> None:
    loads = [
        ingest.override(task_id=f"ingest_{feed}", outlets=[raw_asset(feed)])(feed) for feed in FEED_NAMES
    ]
    loads >> alert_data_quality()
    loads >> announce_new_data()


ingest_feeds()
