"""The production configuration, proven on this machine: CeleryExecutor, Redis, PostgreSQL, two workers.

One generated month (January 2012) of all four feeds goes through the real
Airflow processes that docker-compose.yml runs as services (api-server,
scheduler, dag-processor, two Celery workers; `hzwh.cluster.LocalCluster`):
ingest_feeds is triggered, build_marts follows on the raw Assets, and every
task runs on one of the workers, which take the work between them.

The environment is the one of conftest's `warehouse` fixture (a scratch
warehouse database, landing and archive folders, an HTTP receiver as
ALERT_WEBHOOK_URL), but a set of its own: the session's `warehouse` is shared
with test_pipeline.py, whose counts of files, alerts and webhook posts a month
loaded here would change.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from hzwh import cluster, db, runtime, settings
from hzwh.cluster import INGEST_DAG, MARTS_DAG, LocalCluster
from hzwh.demo.generate import generate
from hzwh.feeds.contracts import FEED_NAMES

pytestmark = pytest.mark.integration
MONTH = 1


@dataclass
class Scratch:
    url: str
    landing: Path
    posts: list = field(default_factory=list)  # every JSON body POSTed to the webhook

    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(statement, params).fetchall()

    @property
    def alerts(self) -> list[dict]:
        return [a for body in self.posts for a in (body if isinstance(body, list) else [body])]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Iterator[Scratch]:
    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, f"hz_test_celery_{os.getpid()}")
    root = tmp_path_factory.mktemp("celery-warehouse")
    posts: list = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            posts.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "WAREHOUSE_URL": parts.url(),
        "LANDING_DIR": str(root / "landing"),
        "ARCHIVE_DIR": str(root / "archive"),
        "DATA_DIR": str(root),
        "ALERT_WEBHOOK_URL": f"http://127.0.0.1:{server.server_address[1]}/alerts",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    db.drop_database(parts)
    try:
        yield Scratch(parts.url(), root / "landing", posts)
    finally:
        server.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not os.environ.get("HZWH_KEEP_TEST_DB"):
            db.drop_database(parts)


@pytest.fixture(scope="module")
def cluster_run(scratch, tmp_path_factory):
    manifest = generate(scratch.landing, months=[MONTH])
    assert {f.parent.name for f in manifest.files} == set(FEED_NAMES)
    cluster.prepare_warehouse()
    t0 = time.monotonic()
    home = tmp_path_factory.mktemp("celery-airflow-home")  # kept by pytest with the logs of every process
    with LocalCluster(runtime.airflow_env(), workers=2, concurrency=2, home=home, startup_timeout=150) as running:
        started = time.monotonic() - t0
        report = running.run_feeds(timeout=300, fail_fast=True)
        diagnostics = running.diagnostics()
    print(f"\ncluster started in {started:.0f}s; whole run {time.monotonic() - t0:.0f}s\n{report.table()}")
    return {"report": report, "manifest": manifest, "diagnostics": diagnostics}


def test_both_dags_ran_to_success(cluster_run):
    report = cluster_run["report"]
    ingest = report.runs_of(INGEST_DAG)
    marts = report.runs_of(MARTS_DAG)
    assert [r.run_id for r in ingest] == [report.triggered_run_id], "one ingest run: the triggered one"
    assert len(marts) == 1 and marts[0].run_type == "asset_triggered", "one marts build per ingest run"
    failed = [r for r in report.dag_runs if r.state != "success"]
    assert not failed, f"{failed}\n{report.table()}\n\n{cluster_run['diagnostics']}"


def test_every_task_ran_on_a_celery_worker(cluster_run):
    report = cluster_run["report"]
    workers = set(report.workers)
    assert len(workers) == 2
    expected = {(INGEST_DAG, f"ingest_{feed}") for feed in FEED_NAMES} | {
        (INGEST_DAG, "alert_data_quality"), (INGEST_DAG, "announce_new_data"),
        (MARTS_DAG, "dbt_build"), (MARTS_DAG, "check_attainment"), (MARTS_DAG, "deliver_alerts")}
    assert {(t.dag_id, t.task_id) for t in report.tasks} == expected
    for task in report.tasks:
        where = f"{task.dag_id}.{task.task_id} ({task.run_id})"
        assert task.queue == cluster.QUEUE, where
        # Sent through Celery: the Celery task the scheduler queued finished in the result backend.
        assert task.celery_task_id and task.celery_status == "SUCCESS", where
        assert task.hostname in workers, f"{where} ran on {task.hostname!r}"
        # Two records of the same fact: Airflow's task instance, and the worker's own log of the Celery task.
        assert task.celery_worker == task.hostname, f"{where}: TI says {task.hostname}, logs say {task.celery_worker}"


def test_the_work_was_spread_over_both_workers(cluster_run):
    by_worker = cluster_run["report"].tasks_by_worker()
    assert set(by_worker) == set(cluster_run["report"].workers), by_worker.keys()
    assert all(by_worker.values()), {w: len(ts) for w, ts in by_worker.items()}


def test_the_month_reached_the_marts_and_the_alerts_went_out(cluster_run, scratch):
    month = f"2012-{MONTH:02d}"
    loads = scratch.query("select feed, status from ops.file_loads")
    assert sorted(loads) == sorted((feed, "loaded") for feed in FEED_NAMES)
    (rows,) = scratch.query("select count(*) from marts.fct_target_attainment"
                            " where to_char(month, 'YYYY-MM') = %s", (month,))[0]
    assert rows > 0
    judged = set(scratch.query(
        "select target_id, geo_code, to_char(month, 'YYYY-MM'), vaccine from marts.fct_target_attainment"
        " where is_scope_row and status = 'breached'"))
    assert judged == set(cluster_run["manifest"].expected_breaches)
    breaches = set(scratch.query(
        "select target_id, geo_code, to_char(month, 'YYYY-MM'), vaccine from ops.alerts where kind = 'breach'"))
    assert breaches == set(cluster_run["manifest"].expected_breaches)
    # ALERT_WEBHOOK_URL (the scratch receiver) gets every alert; each webhook delivery is marked sent.
    recorded = scratch.query("select payload ->> 'message' from ops.alerts")
    received = scratch.alerts
    assert sorted(a["message"] for a in received) == sorted(m for (m,) in recorded)
    webhook = scratch.query("select status, count(*) from ops.alert_deliveries where channel = 'webhook'"
                            " group by status")
    assert dict(webhook) == {"sent": len(recorded)}
