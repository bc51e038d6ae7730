"""Orchestration case: a generated 2012 year of all four feeds, empty warehouse to alerts, through the real
DAGs and directly, same files, same run.

    python bench/pipeline_overhead.py [--repeat 3] [--months 1 2 ...]

* Through Airflow: `hzwh.runtime.run_once()` - `airflow dags test ingest_feeds`, then
  `airflow dags test build_marts` (cosmos runs one `dbt build`, parsing with dbt's partial-parse
  state), both in one process (`hzwh.dags_test`), as `python -m hzwh run` does;
* directly (the inherent work): a fresh Python process that calls the same task functions in the same
  order - `hzwh.pipeline.ingest` for each feed, `alert_data_quality`, one `dbt build` through dbt's
  dbtRunner, `check_attainment`, `deliver_alerts` - timed from process start (imports included).

Each path gets its own scratch warehouse, emptied (dropped and created) before every repetition, and
Airflow its own home and metadata database, so nothing is shared with other runs on the machine. One
untimed warm-up of each path first (Airflow's metadata migration; dbt's and cosmos' parse caches, as in
production where the scheduler runs every hour); then the paths alternate. Alerts go to a webhook
receiver in this process (both paths), so "to alerts" includes delivering them. The two warehouses
must end equal (marts and alerts), or the case fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402 - the bench folder is not a package

DIRECT_RUN_ID = "bench-direct"
DAG_IDS = ("ingest_feeds", "build_marts")  # landing folder to alerts (not the dashboard)


class Receiver:
    """A webhook endpoint that counts the alerts POSTed to it."""

    def __init__(self) -> None:
        self.posts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def deliver(files: list[Path], landing: Path) -> None:
    """Drop files into their feed folders in delivery order (mtime), as the bureaus would."""
    shutil.rmtree(landing, ignore_errors=True)
    for path in files:
        (landing / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, landing / path.parent.name / path.name)


def fresh_warehouse(parts) -> None:
    from hzwh import db

    db.drop_database(parts)
    db.create_database(parts)


# --------------------------------------------------------------------------- the direct path (child process)


def _direct(target: str) -> None:
    """The same task functions in the same order, in one process; prints the phases' seconds as JSON."""
    start = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = now - since
        return now

    from hzwh import db, pipeline
    from hzwh.feeds.contracts import FEED_NAMES

    t = lap("imports", start)
    db.ensure_warehouse()
    with db.connect() as conn:
        db.bootstrap(conn)
        db.ensure_reader_role(conn)
    t = lap("prepare", t)
    loaded = 0
    for feed in FEED_NAMES:
        loaded += pipeline.ingest(feed, run_id=DIRECT_RUN_ID)["rows_loaded"]
        t = lap(f"ingest {feed}", t)
    pipeline.alert_data_quality(run_id=DIRECT_RUN_ID)
    t = lap("alert_data_quality", t)
    from hzwh import settings

    parts = settings.warehouse()
    run = common.dbt_build(parts, Path(target))
    if not run.success:
        raise SystemExit("dbt build failed on the direct path")
    t = lap("dbt build", t)
    judged = pipeline.check_attainment()
    t = lap("check_attainment", t)
    sent = pipeline.deliver_alerts()
    lap("deliver_alerts", t)
    print(json.dumps({"phases": phases, "rows_loaded": loaded, "breaches": judged["breaches"],
                      "sent": sent["sent"], "dbt_models": run.models, "dbt_tests": run.tests}), flush=True)


# --------------------------------------------------------------------------- the case


def task_seconds(airflow_url: str, run_ids: list[str]) -> dict[str, float]:
    """Per task, how long Airflow says it ran (start to end), over the given DAG runs."""
    import psycopg

    with psycopg.connect(airflow_url) as conn:
        rows = conn.execute(
            "select task_id, extract(epoch from (end_date - start_date)) from task_instance"
            " where run_id = any(%s) and start_date is not null and end_date is not null",
            (run_ids,),
        ).fetchall()
    return {task: float(seconds) for task, seconds in rows}


def run(repeat: int, months: list[int] | None = None) -> dict:
    from hzwh import runtime
    from hzwh.demo.generate import generate

    work = Path(tempfile.mkdtemp(prefix="hzwh-bench-pipeline-"))
    dags_db = common.scratch("dags")
    direct_db = common.scratch("direct")
    airflow_db = common.scratch("airflow")
    receiver = Receiver()
    saved = dict(os.environ)
    try:
        manifest = generate(work / "generated", months=months or range(1, 13), faults=True)
        files = list(manifest.files)
        rows = sum(len(frame) for frame in manifest.truth.values())
        common_env = {
            "ALERT_WEBHOOK_URL": receiver.url, "ALERT_RETRY_PAUSE_SECONDS": "0",
            "AIRFLOW_HOME": str(work / "airflow"), "AIRFLOW_DB_URL": airflow_db.url(),
            "HZWH_AIRFLOW_LOG_LEVEL": "WARNING",
        }

        def airflow_once() -> dict:
            os.environ.update(common_env)
            os.environ.update({"WAREHOUSE_URL": dags_db.url(), "LANDING_DIR": str(work / "dags" / "landing"),
                               "ARCHIVE_DIR": str(work / "dags" / "archive"), "DATA_DIR": str(work / "dags")})
            fresh_warehouse(dags_db)
            shutil.rmtree(work / "dags" / "archive", ignore_errors=True)
            deliver(files, work / "dags" / "landing")
            posts = receiver.posts
            with common.timed() as elapsed:
                results = runtime.run_once(DAG_IDS, echo=False)
            failed = [r for r in results if r.state != "success"]
            if failed or len(results) != len(DAG_IDS):
                raise RuntimeError("\n".join(f"{r}\n{r.log_tail()}" for r in failed or results))
            tasks = task_seconds(runtime.airflow_db_url(), [r.run_id for r in results])
            log = results[-1].log_path.read_text(encoding="utf-8", errors="replace") if results[-1].log_path else ""
            parse = "full" if "Unable to do partial parsing" in log else "partial"
            return {"seconds": elapsed(), "tasks": tasks, "posts": receiver.posts - posts, "dbt_parse": parse}

        def direct_once() -> dict:
            env = {**os.environ, **common_env, "WAREHOUSE_URL": direct_db.url(),
                   "LANDING_DIR": str(work / "direct" / "landing"), "ARCHIVE_DIR": str(work / "direct" / "archive"),
                   "DATA_DIR": str(work / "direct")}
            fresh_warehouse(direct_db)
            shutil.rmtree(work / "direct" / "archive", ignore_errors=True)
            deliver(files, work / "direct" / "landing")
            posts = receiver.posts
            with common.timed() as elapsed:
                proc = subprocess.run([sys.executable, __file__, "--direct", str(work / "direct" / "target")],
                                      env=env, check=True, text=True, stdout=subprocess.PIPE)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            return {"seconds": elapsed(), **out, "posts": receiver.posts - posts}

        print("pipeline: warm-up (Airflow metadata migration, parse caches) ...", flush=True)
        os.environ.update(common_env)
        os.environ["WAREHOUSE_URL"] = dags_db.url()
        with common.timed() as setup:
            runtime.prepare()
        warm = {"airflow": airflow_once(), "direct": direct_once(), "airflow_db_migrate": setup()}
        airflow, direct = [], []
        for i in range(repeat):  # interleaved, so that a busy spell hits both alike
            airflow.append(airflow_once())
            direct.append(direct_once())
            print(f"  run {i + 1}: Airflow {airflow[-1]['seconds']:.1f} s, direct {direct[-1]['seconds']:.1f} s",
                  flush=True)
        # The same files, so the same marts - but not the same file version ids: the feed tasks ran in
        # another order, so load_id differs.
        sums = [common.checksum_tables(db.url(), ("marts",), skip_columns="%load_id") for db in (dags_db, direct_db)]
        same = sums[0] == sums[1]
        alerts = [common_count(db.url(), "select count(*) from ops.alerts") for db in (dags_db, direct_db)]
        return {
            "files": len(files), "rows": rows, "airflow": airflow, "direct": direct, "warmup": warm,
            "marts_equal": same, "alerts": alerts,
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)
        receiver.close()
        for parts in (dags_db, direct_db, airflow_db):
            common.drop(parts)
        shutil.rmtree(work, ignore_errors=True)


def common_count(url: str, statement: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(statement).fetchone()[0]


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--direct":
        _direct(sys.argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--months", type=int, nargs="*")
    args = parser.parse_args()
    print(json.dumps(run(args.repeat, args.months), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
