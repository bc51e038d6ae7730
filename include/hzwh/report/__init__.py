"""Reports people look at: the monitoring dashboard, the dbt docs site, and progress lines for long runs.

- `hzwh.report.dashboard.publish()` writes `$DATA_DIR/reports/dashboard.html` from the marts.
- `hzwh.report.docs` publishes `dbt docs generate --static` into `$DATA_DIR/reports/dbt-docs/`.
- `hzwh.report.progress.show()` prints which feed and month is loading and how many files remain.
- `hzwh.report.where_to_look()` names both reports, for the end of `python -m hzwh run`.

The `publish_reports` DAG runs the first two after every marts build. This
package imports nothing heavy: the modules above load pandas and plotly only
when used.
"""

from hzwh.report.paths import dashboard_path, docs_index, where_to_look

__all__ = ["dashboard_path", "docs_index", "where_to_look"]
