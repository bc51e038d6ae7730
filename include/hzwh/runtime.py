"""Running the real Airflow DAGs from the command line (FEEDS.md §7).

`run_once()` prepares the warehouse and Airflow's metadata database, then runs
`ingest_feeds` and `build_marts` with `airflow dags test` (both in one process,
`hzwh.dags_test`): Airflow executes every task, in-process, and the command
returns when both DAG runs are done.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hzwh import settings

AIRFLOW_HOME = settings.PROJECT_ROOT / ".airflow"
# `airflow dags test` does not follow Asset triggers, so a run names the downstream DAGs itself.
PIPELINE_DAG_IDS = ("ingest_feeds", "build_marts")  # landing folder to alerts
DAG_IDS = (*PIPELINE_DAG_IDS, "publish_reports")  # ... and the dashboard and dbt docs


def airflow_db_url() -> str:
    """AIRFLOW_DB_URL: Airflow's own metadata database (default: `hz_airflow` on the warehouse's server)."""
    if os.environ.get("AIRFLOW_DB_URL"):
        return os.environ["AIRFLOW_DB_URL"]
    return settings.warehouse().url(dbname=os.environ.get("AIRFLOW_DB_NAME", "hz_airflow"))


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg2://" + url.split("://", 1)[1]


def warehouse_conn_uri() -> str:
    """The `warehouse` Airflow connection; dbt's profile needs a password even under trust auth.

    A socket directory goes percent-encoded in the host part, where Airflow's URI parser (and so
    cosmos' dbt profile) reads it back as the host."""
    from urllib.parse import quote

    parts = settings.warehouse()
    password = quote(parts.password or "unused", safe="")
    host = quote(parts.host, safe="") if parts.is_socket else parts.host
    return f"postgres://{quote(parts.user, safe='')}:{password}@{host}:{parts.port}/{parts.dbname}"


def airflow_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    home = Path(env.get("AIRFLOW_HOME", AIRFLOW_HOME))
    defaults = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _sqlalchemy_url(airflow_db_url()),
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos"),
        "AIRFLOW__COSMOS__ENABLE_CACHE": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("HZWH_AIRFLOW_LOG_LEVEL", "WARNING"),
        "AIRFLOW_CONN_WAREHOUSE": warehouse_conn_uri(),
        "GX_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    # What the tasks read must match what this process resolved (e.g. an embedded server's URL).
    for key in ("WAREHOUSE_URL", "LANDING_DIR", "ARCHIVE_DIR", "DATA_DIR"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _airflow(args: list[str], env: dict[str, str], *, capture: bool = False) -> subprocess.CompletedProcess:
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.run(
        [str(airflow), *args], env=env, check=False, text=True,
        stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None,
    )


def ensure_airflow_db(env: dict[str, str]) -> None:
    """`airflow db migrate`, skipped when this Airflow version already migrated this database."""
    from importlib.metadata import version

    from hzwh import db

    db.create_database(settings.parse_pg_url(airflow_db_url()))
    stamp = hashlib.sha256(f"{version('apache-airflow-core')}|{airflow_db_url()}".encode()).hexdigest()[:16]
    marker = Path(env["AIRFLOW_HOME"]) / f".migrated-{stamp}"
    if marker.exists():
        return
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    result = _airflow(["db", "migrate"], env, capture=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-4000:]}")
    marker.touch()


@dataclass
class DagRunResult:
    dag_id: str
    run_id: str
    state: str
    returncode: int
    log_path: Path | None = None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _run_state(dag_id: str, logical_date: datetime) -> tuple[str, str]:
    """How the DAG run ended, read from Airflow's metadata database."""
    import psycopg

    with psycopg.connect(airflow_db_url(), connect_timeout=10) as conn:
        row = conn.execute(
            "select run_id, state from dag_run where dag_id = %s and logical_date = %s",
            (dag_id, logical_date),
        ).fetchone()
    return (row[0], row[1]) if row else ("?", "not found")


def test_dags(
    dag_ids: tuple[str, ...], env: dict[str, str], *, echo: bool = True, logical_date: datetime | None = None
) -> list[DagRunResult]:
    """Run DAGs through Airflow (`airflow dags test`, one after the other, in one process) and report
    how each run ended; a DAG after a failed run is not started.

    `logical_date` defaults to now; a DAG that reasons about business dates (check_late_feeds)
    can be run for any day. The runs' output is kept in $AIRFLOW_HOME/logs/dags-test/ (and
    echoed when `echo`).
    """
    logical_date = (logical_date or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    log_dir = Path(env["AIRFLOW_HOME"]) / "logs" / "dags-test"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{'+'.join(dag_ids)}_{logical_date:%Y%m%dT%H%M%S}.log"
    with open(log_path, "w", encoding="utf-8") as log, subprocess.Popen(
        [sys.executable, "-m", "hzwh.dags_test", logical_date.isoformat(), *dag_ids],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
    ) as proc:
        for line in proc.stdout:
            log.write(line)
            if echo:
                sys.stdout.write(line)
        returncode = proc.wait()
    results = []
    for dag_id in dag_ids:
        run_id, state = _run_state(dag_id, logical_date)
        results.append(DagRunResult(dag_id, run_id, state, returncode, log_path))
        if state != "success":
            break
    return results


def test_dag(
    dag_id: str, env: dict[str, str], *, echo: bool = True, logical_date: datetime | None = None
) -> DagRunResult:
    """Run one DAG through Airflow (`airflow dags test`); see `test_dags`."""
    return test_dags((dag_id,), env, echo=echo, logical_date=logical_date)[0]


def prepare() -> dict[str, str]:
    """Warehouse database, raw/ops schemas, the BI role, and Airflow's metadata database."""
    from hzwh import db

    db.ensure_warehouse()
    with db.connect() as conn:
        db.bootstrap(conn)
        db.ensure_reader_role(conn)
    env = airflow_env()
    ensure_airflow_db(env)
    return env


def run_once(dag_ids: tuple[str, ...] = DAG_IDS, *, echo: bool = True) -> list[DagRunResult]:
    return test_dags(dag_ids, prepare(), echo=echo)
