"""Faults, for real: a load whose database connection is killed, a dbt build killed half-way, a full disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from hzwh import db, settings
from hzwh.feeds.contracts import get_contract
from hzwh.load.ingest import ingest_file
from hzwh.load.landing import LandingError, discover

pytestmark = pytest.mark.integration
SS = get_contract("social_security_enrollment")
ROWS = 400_000


@pytest.fixture(scope="module")
def scratch():
    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, f"hz_test_faults_{os.getpid()}")
    db.drop_database(parts)
    db.create_database(parts)
    with db.connect(parts.url()) as conn:
        db.bootstrap(conn)
    yield parts.url()
    db.drop_database(parts)


def big_file(folder: Path, rows: int = ROWS) -> Path:
    """A month of the feed's shape, large enough that its COPY can be caught in flight."""
    path = folder / SS.name / "social_security_enrollment_201201.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    codes = ["330102", "330103", "330104"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("period,district_code,scheme,eligible_persons,insured_persons\n")
        for i in range(rows):
            fh.write(f"2012-01,{codes[i % 3]},resident_medical,{1000 + i},{900 + i}\n")
    return path


def kill_copy_when_seen(url: str, timeout: float = 30) -> threading.Thread:
    """Terminate the first backend seen running a COPY into raw (as an operator or the OOM killer might)."""
    killed = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        with psycopg.connect(url, autocommit=True) as conn:
            while time.monotonic() < deadline and not killed.is_set():
                row = conn.execute(
                    "select pid from pg_stat_activity where query ilike 'copy %%raw%%' and pid <> pg_backend_pid()"
                ).fetchone()
                if row:
                    conn.execute("select pg_terminate_backend(%s)", (row[0],))
                    killed.set()
                time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.killed = killed  # type: ignore[attr-defined]
    thread.start()
    return thread


def contract_with_wide_key():
    import dataclasses

    # One month has 39 keys; a 400k-row file needs a wider key to be loadable (as in the benchmark).
    return dataclasses.replace(SS, key=("period", "district_code", "scheme", "eligible_persons"))


def test_a_load_whose_connection_is_killed_leaves_nothing_and_loads_once_on_retry(scratch, tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    path = big_file(landing)
    contract = contract_with_wide_key()

    watcher = kill_copy_when_seen(scratch)
    with pytest.raises(psycopg.OperationalError):
        with db.connect(scratch) as conn:
            ingest_file(conn, contract, path, archive_root=archive)
    watcher.join()
    assert watcher.killed.is_set(), "the COPY was never seen; the file is too small to catch"

    with db.connect(scratch) as conn:
        assert conn.execute("select count(*) from ops.file_loads").fetchone()[0] == 0
        assert conn.execute("select count(*) from raw.social_security_enrollment").fetchone()[0] == 0
    assert path.exists(), "the file stays in landing for the retry"

    with db.connect(scratch) as conn:  # the retry, as Airflow would run it
        outcome = ingest_file(conn, contract, path, archive_root=archive)
        assert (outcome.status, outcome.rows_loaded) == ("loaded", ROWS)
        assert conn.execute("select count(*) from raw.social_security_enrollment").fetchone()[0] == ROWS
        assert conn.execute("select count(*) from ops.file_loads").fetchone()[0] == 1
    assert not path.exists()


def test_a_full_archive_is_reported_and_nothing_is_loaded(scratch, tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    try:
        path = big_file(tmp_path / "landing", rows=20_000)
        with db.connect(scratch) as conn:
            with pytest.raises(LandingError, match="cannot archive .* No space left on device; nothing was loaded"):
                ingest_file(conn, SS, path, archive_root=mount)
            assert conn.execute("select count(*) from ops.file_loads").fetchone()[0] == 1  # from the test above
        assert path.exists()
        assert not any(mount.rglob("*.part"))
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_landing_folder_that_is_not_a_folder_is_reported(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / SS.name).write_text("not a folder")
    with pytest.raises(LandingError, match="should be a folder"):
        discover(SS.name, landing)


def test_a_dbt_build_killed_half_way_converges_on_rerun(scratch, tmp_path):
    from hzwh.demo.generate import generate
    from hzwh.feeds.contracts import FEED_NAMES
    from hzwh.load.ingest import ingest_feed

    with db.connect(scratch) as conn:  # real feeds, not the wide-key file of the tests above
        conn.execute("drop schema raw cascade")
        conn.execute("truncate ops.quarantined_rows, ops.file_loads cascade")
        conn.commit()
        db.bootstrap(conn)
    generate(tmp_path / "landing", months=[1, 2])
    os.environ["WAREHOUSE_URL"], saved = scratch, os.environ.get("WAREHOUSE_URL")
    try:
        for feed in FEED_NAMES:
            ingest_feed(feed, landing=tmp_path / "landing", archive_root=tmp_path / "archive")
    finally:
        if saved is None:
            del os.environ["WAREHOUSE_URL"]
        else:
            os.environ["WAREHOUSE_URL"] = saved
    env = {**os.environ, **pg_env(scratch)}
    dbt = [str(Path(sys.executable).with_name("dbt")), "build", "--profiles-dir", ".", "--target-path",
           str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    cwd = settings.DBT_PROJECT_DIR
    first = subprocess.run(dbt, cwd=cwd, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:]
    reference = marts_checksum(scratch)

    proc = subprocess.Popen(dbt, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    for line in proc.stdout:  # kill it once models are being built, half-way through
        if " OK created sql table model marts." in line:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode != 0

    again = subprocess.run(dbt, cwd=cwd, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-3000:]
    assert marts_checksum(scratch) == reference


def pg_env(url: str) -> dict[str, str]:
    parts = settings.parse_pg_url(url)
    return {"PGHOST": parts.host, "PGPORT": str(parts.port), "PGUSER": parts.user, "PGDATABASE": parts.dbname,
            "PGPASSWORD": parts.password or "unused"}


def marts_checksum(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select tablename from pg_tables where schemaname = 'marts' order by 1").fetchall()]
        return {
            t: conn.execute(f"select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from marts.{t} x")
            .fetchone()[0]
            for t in tables
        }


def indicator_file(folder: Path, rows: int) -> Path:
    """plan_indicators at township level: every row a distinct, valid key, so the whole file loads."""
    import csv

    from hzwh.feeds.reference import plan_indicator_targets

    targets = sorted(plan_indicator_targets())
    districts = ["330102", "330103", "330104", "330105", "330106", "330108", "330109", "330110"]
    path = folder / "plan_indicators" / "plan_indicators_201201.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["period", "target_id", "geo_code", "value"])
        for i in range(rows):
            township = f"{districts[i % len(districts)]}{(i // len(districts)) % 1000:03d}"
            out.writerow(["2012-01", targets[(i // 8000) % len(targets)], township, i % 997])
    return path


def test_airflow_retries_a_load_whose_connection_was_killed(scratch, tmp_path, monkeypatch):
    """The same fault under Airflow: the task fails, Airflow retries it, and the file is loaded exactly once."""
    from hzwh import runtime

    rows = 300_000
    landing = tmp_path / "landing"
    indicator_file(landing, rows)
    with db.connect(scratch) as conn:
        conn.execute("drop schema raw cascade")
        conn.execute("truncate ops.quarantined_rows, ops.file_loads cascade")
        conn.commit()
    for key, value in {"WAREHOUSE_URL": scratch, "LANDING_DIR": str(landing), "ARCHIVE_DIR": str(tmp_path / "a"),
                       "DATA_DIR": str(tmp_path), "HZWH_RETRY_DELAY_SECONDS": "1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    env = runtime.prepare()
    watcher = kill_copy_when_seen(scratch, timeout=120)
    result = runtime.test_dag("ingest_feeds", env, echo=False)
    watcher.join()
    assert watcher.killed.is_set()
    assert result.state == "success", result.log_tail()
    with psycopg.connect(runtime.airflow_db_url()) as conn:
        (tries,) = conn.execute(
            "select try_number from task_instance where dag_id = 'ingest_feeds' and run_id = %s"
            " and task_id = 'ingest_plan_indicators'", (result.run_id,)).fetchone()
    assert tries == 2, "the first try was killed mid-COPY, the second loaded the file"
    with db.connect(scratch) as conn:
        loads = conn.execute("select status, rows_delivered, rows_loaded from ops.file_loads").fetchall()
        stored = conn.execute("select count(*) from raw.plan_indicators").fetchone()[0]
    assert loads == [("loaded", rows, rows)] and stored == rows
