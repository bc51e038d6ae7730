"""
### Build the marts and judge attainment

Runs after every ingest run that loaded new figures (the `raw` Asset, updated
once per run after all its feed tasks): one `dbt build`
(seeds, staging, intermediate, marts and their tests, through cosmos), then
the attainment suite generated from the target catalogue checks
`marts.fct_target_attainment`. Each breach is recorded once per target x geo
x month (x vaccine) in `ops.alerts` and a revision that clears one records a
resolved notice; pending deliveries go out on the configured channels.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task
from cosmos.operators.local import DbtBuildLocalOperator

from hzwh import settings
from hzwh.assets import MARTS_ASSET, RAW_BATCH_ASSET
from hzwh.transform.dbt import partial_parse_cache_dir, profile_config, project_dir


@task
def check_attainment() -> dict:
    from hzwh.pipeline import check_attainment as judge

    return judge()


@task(outlets=[MARTS_ASSET])
def deliver_alerts() -> dict:
    from hzwh.pipeline import deliver_alerts as deliver

    return deliver()


@dag(
    dag_id="build_marts",
    schedule=[RAW_BATCH_ASSET],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["dbt", "marts", "attainment", "alerts"],
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(seconds=settings.task_retry_delay_seconds()),
    },
    doc_md=__doc__,
)
def build_marts() -> None:
    dbt_build = DbtBuildLocalOperator(
        task_id="dbt_build",
        project_dir=project_dir(),
        profile_config=profile_config(),
        install_deps=False,
        cache_dir=partial_parse_cache_dir("dbt_build"),  # dbt's partial parsing across runs
        # The marts are announced once, by the last task (MARTS_ASSET); per-model assets would
        # need a host name, which a warehouse on a Unix socket does not have.
        emit_datasets=False,
    )
    dbt_build >> check_attainment() >> deliver_alerts()


build_marts()
