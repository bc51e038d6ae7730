"""
### Publish the reports

Runs after every marts build (scheduled on the `marts` Asset that
`build_marts` updates) and rewrites, in `$DATA_DIR/reports/`:

- `dashboard.html`: the monitoring dashboard, one self-contained page
  (plotly.js inline, opens offline) built from `marts.fct_target_attainment`,
  `fct_district_equalisation`, the dimensions and `ops.alerts`
  (`include/hzwh/report/dashboard.py`);
- `dbt-docs/index.html`: the dbt documentation site, `dbt docs generate
  --static` through cosmos with the `warehouse` connection's profile, one file
  that opens without a server; the dashboard is an exposure in it.

Both only read the warehouse, so the tasks run side by side and can be
retried freely. How to open them: `docs/dashboard.md`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task
from cosmos.operators.local import DbtDocsLocalOperator

from hzwh.assets import MARTS_ASSET
from hzwh.transform.dbt import profile_config, project_dir


@task
def publish_dashboard() -> str:
    from hzwh.report.dashboard import publish

    return str(publish())


@dag(
    dag_id="publish_reports",
    schedule=MARTS_ASSET,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["reports", "dashboard", "dbt-docs"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=1)},
    doc_md=__doc__,
)
def publish_reports() -> None:
    publish_dashboard()
    DbtDocsLocalOperator(
        task_id="dbt_docs",
        project_dir=project_dir(),
        profile_config=profile_config(),
        install_deps=False,
        dbt_cmd_flags=["--static"],
        callback="hzwh.report.docs.publish_dbt_docs",
    )


publish_reports()
