"""The late-feed DAG follows the house policy and does no heavy work at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hzwh import runtime

ROOT = runtime.settings.PROJECT_ROOT


@pytest.fixture(scope="module")
def dag():
    os.environ.update({k: v for k, v in runtime.airflow_env({}).items() if k.startswith("AIRFLOW__CORE")})
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "check_late_feeds.py"))
    assert bag.import_errors == {}
    return bag.dags["check_late_feeds"]


def test_policy(dag):
    assert dag.tags and dag.doc_md and dag.catchup is False
    assert dag.start_date is not None and dag.start_date.tzinfo is not None
    assert dag.start_date.year == 2012, "backfills over the plan year need tasks that exist then"
    for task in dag.tasks:
        assert task.owner == "data-engineering" and task.retries >= 1 and task.retry_delay.total_seconds() > 0


def test_daily_check_then_delivery_even_if_the_check_failed(dag):
    assert [t.task_id for t in dag.topological_sort()] == ["check_late_feeds", "deliver_alerts"]
    assert dag.get_task("deliver_alerts").trigger_rule == "all_done"
    assert dag.schedule == "0 1 * * *"  # 09:00 in Hangzhou


def test_no_heavy_imports_at_parse_time():
    code = (
        "import json, sys, runpy\n"
        "runpy.run_path('dags/check_late_feeds.py')\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'great_expectations', 'psycopg', 'hzwh.alerts', 'hzwh.pipeline')"
        " if m in sys.modules)))\n"
    )
    env = {**os.environ, **runtime.airflow_env({})}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
