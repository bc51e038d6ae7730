"""Integration fixtures: a scratch warehouse on the local PostgreSQL, a webhook receiver, real DAG runs."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from hzwh import db, runtime, settings

pytestmark = pytest.mark.integration


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every JSON body POSTed to it."""

    url: str
    bodies: list = field(default_factory=list)
    fail_next: int = 0  # answer HTTP 500 to this many requests

    @property
    def alerts(self) -> list[dict]:
        out: list[dict] = []
        for body in self.bodies:
            out.extend(body if isinstance(body, list) else [body])
        return out


def _start_receiver() -> tuple[ThreadingHTTPServer, Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", 0))
            payload = self.rfile.read(length)
            if receiver.fail_next > 0:
                receiver.fail_next -= 1
                self.send_response(500)
                self.end_headers()
                return
            receiver.bodies.append(json.loads(payload))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, receiver


@dataclass
class Warehouse:
    url: str
    landing: Path
    archive: Path
    receiver: Receiver

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url)

    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(statement, params).fetchall()

    def run_pipeline(self) -> list[runtime.DagRunResult]:
        """Both DAGs through Airflow (`airflow dags test`), as `python -m hzwh run` does."""
        # The reports DAG has its own test (test_dashboard.py); leaving it out saves ~14 s a run.
        results = runtime.run_once(runtime.PIPELINE_DAG_IDS, echo=False)
        failed = [r for r in results if r.state != "success"]
        assert not failed and len(results) == len(runtime.PIPELINE_DAG_IDS), "\n\n".join(
            f"{r}\n{r.log_tail()}" for r in failed or results
        )
        return results


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Iterator[Warehouse]:
    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, f"hz_test_{os.getpid()}")
    root = tmp_path_factory.mktemp("warehouse")
    server, receiver = _start_receiver()
    env = {
        "WAREHOUSE_URL": parts.url(),
        "LANDING_DIR": str(root / "landing"),
        "ARCHIVE_DIR": str(root / "archive"),
        "DATA_DIR": str(root),
        "ALERT_WEBHOOK_URL": receiver.url,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    db.drop_database(parts)
    db.ensure_warehouse()
    try:
        yield Warehouse(parts.url(), root / "landing", root / "archive", receiver)
    finally:
        server.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not os.environ.get("HZWH_KEEP_TEST_DB"):
            db.drop_database(parts)
