"""Every DAG imports cleanly, follows the house policy, and does no heavy work at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hzwh import runtime
from hzwh.feeds.contracts import FEED_NAMES

ROOT = runtime.settings.PROJECT_ROOT


@pytest.fixture(scope="module")
def dagbag():
    os.environ.update({k: v for k, v in runtime.airflow_env({}).items() if k.startswith("AIRFLOW__CORE")})
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


DAG_FILES = sorted(p.stem for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))


def test_no_import_errors_and_one_dag_per_file_named_after_it(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == DAG_FILES


def test_dag_policy(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.catchup is False, f"{dag_id}: catchup must be chosen on purpose"
        assert dag.start_date is not None and dag.start_date.tzinfo is not None
        for task in dag.tasks:
            assert task.owner == "data-engineering", f"{dag_id}.{task.task_id} owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} retries"
            assert task.retry_delay.total_seconds() > 0


def test_one_ingest_task_per_feed_contract_each_producing_its_asset(dagbag):
    dag = dagbag.dags["ingest_feeds"]
    for feed in FEED_NAMES:
        task = dag.get_task(f"ingest_{feed}")
        assert [a.name for a in task.outlets] == [f"raw.{feed}"]


def _asset_names(condition) -> set[str]:
    if hasattr(condition, "objects"):
        return set().union(*(_asset_names(c) for c in condition.objects))
    return {condition.name}


def test_marts_are_built_once_per_ingest_run_that_loaded_something(dagbag):
    assert _asset_names(dagbag.dags["build_marts"].timetable.asset_condition) == {"raw"}
    announce = dagbag.dags["ingest_feeds"].get_task("announce_new_data")
    assert [a.name for a in announce.outlets] == ["raw"]
    assert announce.trigger_rule == "all_done"
    assert {t.task_id for t in announce.upstream_list} == {f"ingest_{feed}" for feed in FEED_NAMES}


def test_dag_files_do_no_heavy_imports_at_parse_time():
    code = (
        "import json, sys, runpy\n"
        f"for f in {tuple(DAG_FILES)!r}:\n"
        "    runpy.run_path(f'dags/{f}.py')\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'great_expectations', 'psycopg') if m in sys.modules)))\n"
    )
    env = {**os.environ, **runtime.airflow_env({})}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_ingest_schedule_follows_INGEST_SCHEDULE():  # noqa: N802 - the variable's name
    code = (
        "import json, os, runpy\n"
        "seen = {}\n"
        "for value in (None, 'none', '*/15 * * * *'):\n"
        "    os.environ.pop('INGEST_SCHEDULE', None)\n"
        "    if value is not None:\n"
        "        os.environ['INGEST_SCHEDULE'] = value\n"
        "    dag = runpy.run_path('dags/ingest_feeds.py')['ingest_feeds']\n"
        "    made = dag()\n"
        "    seen[str(value)] = [type(made.timetable).__name__, made.schedule]\n"
        "print(json.dumps(seen))\n"
    )
    env = {k: v for k, v in {**os.environ, **runtime.airflow_env({})}.items() if k != "INGEST_SCHEDULE"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["None"][1] == "@hourly", seen
    assert seen["none"][0] == "NullTimetable", seen
    assert seen["*/15 * * * *"][1] == "*/15 * * * *", seen
