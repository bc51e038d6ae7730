"""The BI role reads marts and nothing else; landing file names cannot reach outside their folders."""

from __future__ import annotations

import os
import shutil

import psycopg
import pytest

from hzwh import db, settings
from hzwh.demo.generate import generate

pytestmark = pytest.mark.integration
PASSWORD = "bi-test-password"


@pytest.fixture(scope="module")
def built(warehouse, tmp_path_factory):
    """A warehouse with marts: reuse the pipeline test's, or build one month."""
    tables = warehouse.query("select to_regclass('marts.fct_target_attainment') is not null")[0][0]
    if not tables:
        source = tmp_path_factory.mktemp("one_month")
        manifest = generate(source, months=[1])
        for path in manifest.files:
            (warehouse.landing / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, warehouse.landing / path.parent.name / path.name)
        warehouse.run_pipeline()
    os.environ["BI_READONLY_PASSWORD"] = PASSWORD
    try:
        with db.connect(warehouse.url) as conn:
            db.ensure_reader_role(conn)
    finally:
        del os.environ["BI_READONLY_PASSWORD"]
    return warehouse


@pytest.fixture
def reader(built):
    parts = settings.parse_pg_url(built.url)
    url = settings.PgParts(parts.host, parts.port, settings.bi_role(), PASSWORD, parts.dbname).url()
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def test_reader_selects_from_every_mart(reader):
    tables = [r[0] for r in reader.execute(
        "select tablename from pg_tables where schemaname = 'marts' order by 1").fetchall()]
    assert "fct_target_attainment" in tables and "dim_district" in tables
    for table in tables:
        reader.execute(f"select count(*) from marts.{table}").fetchone()


@pytest.mark.parametrize(
    "statement",
    [
        "select * from raw.social_security_enrollment limit 1",
        "select * from ops.file_loads limit 1",
        "select * from ops.quarantined_rows limit 1",
        "select * from ops.alerts limit 1",
        "select * from staging.stg_hrss__social_security_enrollments limit 1",
        "select * from reference.target_catalogue limit 1",
        "insert into marts.dim_bureau (bureau_id) values ('x')",
        "update marts.dim_target set target_value = 0",
        "delete from marts.fct_target_attainment",
        "drop table marts.dim_month",
        "create table marts.mine (x int)",
        "truncate marts.dim_month",
    ],
)
def test_reader_is_refused_everything_else(reader, statement):
    with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)):
        reader.execute(statement)
