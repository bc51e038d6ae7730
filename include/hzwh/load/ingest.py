"""Ingest one feed: every waiting file is loaded, quarantined, or recognised as a duplicate.

Per file, in one transaction: the audit row, the accepted rows (COPY into
raw.<feed>) and the quarantined rows (COPY into ops.quarantined_rows). Either
all of it lands or none of it, so a killed task can simply be retried. Errors
about the file itself (encoding, missing columns, a damaged workbook)
quarantine the whole file and the run goes on; errors of the warehouse
(connection lost) fail the task so that Airflow retries it.

To stay near the server's COPY rate, rows stream into raw.<feed> on a second
thread while the file is parsed and the validity suite runs; the few rows it
fails are then deleted again, inside the same transaction, and quarantined
instead. A plain file (no quotes, no blank lines, canonical values) streams
its delivered bytes as they are, exactly as `psql \\copy` would; if parsing
shows a value PostgreSQL would read differently, that speculative load is
rolled back to a savepoint and the normalised rows are loaded instead.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from hzwh import db
from hzwh.feeds.contracts import FeedContract, get_contract
from hzwh.feeds.normalise import Issue, normalise
from hzwh.feeds.reader import (
    ROW_NUMBER,
    DirectCopyPlan,
    FileRejected,
    RawTable,
    decode,
    direct_copy_plan,
    parse_file_name,
    read_table,
)
from hzwh.load.copy import copy_frame, copy_rows
from hzwh.load.landing import LandedFile, archive, discover, read_landed, remove_from_landing
from hzwh.report import progress
from hzwh.validation.validity import merge_issues, validate

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    feed: str
    file_name: str
    status: str  # loaded | rejected | duplicate
    load_id: int | None
    rows_delivered: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


@dataclass
class Parsed:
    period: str
    table: RawTable
    typed: pd.DataFrame
    type_issues: list[Issue]
    verbatim: bool  # the delivered text is what PostgreSQL should store, cell for cell


def _count_data_lines(data: bytes) -> int:
    """Data rows of a file rejected whole (best effort: non-blank lines after the header)."""
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return 0  # a workbook or a binary file: it has no lines to count
    try:
        _, text = decode(data)
    except FileRejected:
        text = data.decode("latin-1")  # text in an unsupported encoding: only the line breaks matter
    return max(sum(1 for line in text.splitlines() if line.strip(" ,;\t\x00")) - 1, 0)


def parse(landed: LandedFile, contract: FeedContract) -> Parsed:
    """Read and type a file, or raise FileRejected saying why it cannot be used at all."""
    delivered = parse_file_name(landed.name, contract.name)
    table = read_table(landed.path, contract, label=landed.name, data=landed.data)
    if table.rows_delivered == 0:
        raise FileRejected(f"{landed.name}: the file has a header but no data rows")
    typed, type_issues, verbatim = normalise(table.frame, contract)
    return Parsed(delivered.period, table, typed, type_issues, verbatim and table.plain and not table.blank_rows)


def quarantine_records(
    file_name: str, table: RawTable, by_row: dict[int, list[Issue]]
) -> list[tuple[int, str, list[dict], dict]]:
    """(row, reason, issues, delivered values) for each failing row, in file order."""
    if not by_row:
        return []
    wanted = pa.array(sorted(by_row), type=pa.int64())
    picked = table.frame.filter(pc.is_in(table.frame.column(ROW_NUMBER), value_set=wanted))
    originals = {rec.pop(ROW_NUMBER): rec for rec in picked.to_pylist()}
    records = []
    for row_number in sorted(by_row):
        issues = by_row[row_number]
        reason = f"{file_name} row {row_number}: " + "; ".join(i.message for i in issues)
        details = [{"column": i.column, "value": i.value, "rule": i.rule, "message": i.message} for i in issues]
        records.append((row_number, reason, details, originals[row_number]))
    return records


def _existing_version(conn: psycopg.Connection, feed: str, sha256: str) -> int | None:
    row = conn.execute(
        "select load_id from ops.file_loads where feed = %s and sha256 = %s and status in ('loaded', 'rejected')",
        (feed, sha256),
    ).fetchone()
    return row[0] if row else None


def _insert_load(conn: psycopg.Connection, contract: FeedContract, landed: LandedFile, **values) -> int:
    columns = ["feed", "file_name", "sha256", "size_bytes", *values]
    params = [contract.name, landed.name, landed.sha256, landed.size, *values.values()]
    statement = sql.SQL("insert into ops.file_loads ({}) values ({}) returning load_id").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    return conn.execute(statement, params).fetchone()[0]


class _Copier:
    """Runs one COPY on a second thread; the connection is not touched elsewhere until `join()`."""

    def __init__(self, target, *args) -> None:
        self.error: BaseException | None = None

        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:  # noqa: BLE001 - reported to the main thread by join()
                self.error = exc

        self.thread = threading.Thread(target=run, name="copy")
        self.thread.start()

    def join(self) -> BaseException | None:
        self.thread.join()
        return self.error


def _copy_delivered_bytes(conn: psycopg.Connection, partition: sql.Identifier, plan: DirectCopyPlan) -> None:
    statement = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
        partition, sql.SQL(", ").join(sql.Identifier(c) for c in plan.columns)
    )
    view = memoryview(plan.body)
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for start in range(0, len(view), 1 << 20):
            copy.write(view[start : start + (1 << 20)])


def _copy_typed(conn: psycopg.Connection, partition: sql.Identifier, contract: FeedContract, parsed: Parsed) -> None:
    copy_frame(conn, partition, parsed.typed[list(contract.column_names)])


def _delete_rows(
    conn: psycopg.Connection, partition: sql.Identifier, contract: FeedContract, parsed: Parsed, rows: list[int]
) -> None:
    """Take failing rows back out of raw, by the feed's key (unique among a file's valid rows)."""
    picked = parsed.typed[parsed.typed[ROW_NUMBER].isin(rows)]
    values = {c: picked[c].astype(object).where(picked[c].notna(), None).tolist() for c in contract.key}
    complete = [all(values[c][i] is not None for c in contract.key) for i in range(len(picked))]
    key = sql.SQL(", ").join(sql.Identifier(c) for c in contract.key)
    # Keys without nulls: a hashed `= any` on the key column with the most distinct values
    # narrows the scan cheaply, then a semi-join against the bad keys (typed: no casts per row).
    arrays = [[v for v, ok in zip(values[c], complete, strict=True) if ok] for c in contract.key]
    if arrays[0]:
        narrowest = max(range(len(contract.key)), key=lambda i: parsed.typed[contract.key[i]].nunique())
        types = [sql.SQL(contract.column(c).pg_type) for c in contract.key]
        conn.execute(
            sql.SQL("delete from {} where {} = any(%s::{}[]) and ({}) in (select * from unnest({}))").format(
                partition,
                sql.Identifier(contract.key[narrowest]),
                types[narrowest],
                key,
                sql.SQL(", ").join(sql.SQL("%s::{}[]").format(t) for t in types),
            ),
            (arrays[narrowest], *arrays),
        )
    # Keys with an empty part (rare): one statement each, matching nulls explicitly.
    for i, ok in enumerate(complete):
        if ok:
            continue
        conditions = [
            sql.SQL("{} is null").format(sql.Identifier(c)) if values[c][i] is None
            else sql.SQL("{} = {}").format(sql.Identifier(c), sql.Literal(values[c][i]))
            for c in contract.key
        ]
        conn.execute(
            sql.SQL("delete from {} where {}").format(partition, sql.SQL(" and ").join(conditions))
        )


def ingest_file(
    conn: psycopg.Connection,
    contract: FeedContract,
    path: Path,
    *,
    run_id: str | None = None,
    archive_root: Path | None = None,
) -> FileOutcome:
    landed = read_landed(path)
    original = _existing_version(conn, contract.name, landed.sha256)
    if original is not None:
        with conn.transaction():
            load_id = _insert_load(
                conn, contract, landed, status="duplicate", duplicate_of=original, dag_run_id=run_id,
                reason=f"same content as load {original}; nothing to do",
            )
        remove_from_landing(path)
        return FileOutcome(contract.name, landed.name, "duplicate", load_id, reason=f"duplicate of load {original}")

    archived = str(archive(landed, contract.name, archive_root))
    with conn.transaction():
        load_id = _insert_load(conn, contract, landed, status="loaded", archive_path=archived, dag_run_id=run_id)
        plan = direct_copy_plan(landed.data, contract)
        speculative = None
        if plan is not None:
            conn.execute("savepoint direct_copy")
            partition = db.create_load_partition(conn, contract.name, load_id)
            speculative = _Copier(_copy_delivered_bytes, conn, partition, plan)
        try:
            parsed = parse(landed, contract)
        except FileRejected as exc:
            if speculative is not None:
                speculative.join()
                conn.execute("rollback to savepoint direct_copy")
            outcome = _reject(conn, contract, landed, load_id, exc)
        else:
            outcome = _load(conn, contract, landed, load_id, parsed, speculative)
    remove_from_landing(path)
    log.info("%s", asdict(outcome))
    return outcome


def _reject(
    conn: psycopg.Connection, contract: FeedContract, landed: LandedFile, load_id: int, exc: FileRejected
) -> FileOutcome:
    reason = str(exc) if str(exc).startswith(landed.name) else f"{landed.name}: {exc}"
    delivered = _count_data_lines(landed.data)
    conn.execute(
        "update ops.file_loads set status = 'rejected', rows_delivered = %s, rows_loaded = 0,"
        " rows_quarantined = %s, reason = %s where load_id = %s",
        (delivered, delivered, reason, load_id),
    )
    return FileOutcome(contract.name, landed.name, "rejected", load_id, delivered, 0, delivered, reason)


def _load(
    conn: psycopg.Connection,
    contract: FeedContract,
    landed: LandedFile,
    load_id: int,
    parsed: Parsed,
    speculative: _Copier | None,
) -> FileOutcome:
    copier = speculative
    partition = sql.Identifier("raw", f"{contract.name}__load_{int(load_id)}")
    if copier is None:
        db.create_load_partition(conn, contract.name, load_id)
        copier = _Copier(_copy_typed, conn, partition, contract, parsed)
    try:
        rule_issues = validate(parsed.typed, contract, parsed.period)
    finally:
        error = copier.join()
    if speculative is not None and (error is not None or not parsed.verbatim):
        # The delivered text was not what should be stored: load the normalised rows instead.
        log.info("%s: loading normalised rows (%s)", landed.name, error or "values needed normalising")
        conn.execute("rollback to savepoint direct_copy")
        db.create_load_partition(conn, contract.name, load_id)
        _copy_typed(conn, partition, contract, parsed)
    elif error is not None:
        raise error

    by_row = merge_issues(parsed.type_issues, rule_issues)
    delivered = parsed.table.rows_delivered
    if by_row:
        _delete_rows(conn, partition, contract, parsed, sorted(by_row))
        records = quarantine_records(landed.name, parsed.table, by_row)
        copy_rows(
            conn, "ops", "quarantined_rows",
            ("load_id", "row_number", "feed", "file_name", "reason", "issues", "record"),
            ((load_id, r, contract.name, landed.name, reason, issues, record) for r, reason, issues, record in records),
        )
    conn.execute(
        "update ops.file_loads set file_period = %s, encoding = %s, rows_delivered = %s, rows_loaded = %s,"
        " rows_quarantined = %s, blank_lines = %s, extra_columns = %s where load_id = %s",
        (parsed.period, parsed.table.encoding, delivered, delivered - len(by_row), len(by_row),
         parsed.table.blank_rows, list(parsed.table.extra_columns), load_id),
    )
    return FileOutcome(contract.name, landed.name, "loaded", load_id, delivered, delivered - len(by_row), len(by_row))


def ingest_feed(
    feed: str, *, landing: Path | None = None, archive_root: Path | None = None, run_id: str | None = None
) -> list[FileOutcome]:
    """Ingest every file waiting for one feed, oldest first. One bad file never blocks the others."""
    contract = get_contract(feed)
    files = discover(feed, landing)
    outcomes: list[FileOutcome] = []
    if not files:
        return outcomes
    with db.connect() as conn:
        db.bootstrap(conn)
        for path in files:
            progress.show(feed, path, conn=conn, landing=landing, run_id=run_id)
            outcomes.append(ingest_file(conn, contract, path, run_id=run_id, archive_root=archive_root))
    return outcomes
