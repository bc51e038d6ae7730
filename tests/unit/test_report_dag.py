"""publish_reports: scheduled on the marts Asset, thin, and light to parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hzwh import runtime

ROOT = runtime.settings.PROJECT_ROOT
DAG_FILE = ROOT / "dags" / "publish_reports.py"


@pytest.fixture(scope="module")
def dag():
    os.environ.update({k: v for k, v in runtime.airflow_env({}).items() if k.startswith("AIRFLOW__CORE")})
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["publish_reports"]


def test_it_runs_after_every_marts_build(dag):
    condition = dag.timetable.asset_condition
    assert getattr(condition, "name", None) == "marts"
    assert condition.uri == "hzwh://warehouse/marts"


def test_it_publishes_the_dashboard_and_the_static_dbt_docs(dag):
    assert {t.task_id for t in dag.tasks} == {"publish_dashboard", "dbt_docs"}
    docs = dag.get_task("dbt_docs")
    assert type(docs).__name__ == "DbtDocsLocalOperator"
    assert "--static" in docs.dbt_cmd_flags and docs.required_files == ["static_index.html"]
    assert docs.callback == "hzwh.report.docs.publish_dbt_docs"
    for task in dag.tasks:
        assert task.owner == "data-engineering" and task.retries >= 1
    assert dag.doc_md and dag.tags and dag.catchup is False


def test_parsing_it_imports_nothing_heavy():
    code = (
        "import json, sys, runpy\n"
        f"runpy.run_path({str(DAG_FILE)!r})\n"
        "heavy = ('pandas', 'plotly', 'great_expectations', 'psycopg', 'dbt.cli.main')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    env = {**os.environ, **runtime.airflow_env({})}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
