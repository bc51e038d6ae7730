"""Ingest one feed: every waiting file is loaded, quarantined, or recognised as a duplicate.

Per file, in one transaction: the audit row, the accepted rows (COPY into a
partition of raw.<feed>) and the quarantined rows (COPY into
ops.quarantined_rows). Either all of it lands or none of it, so a killed task
can simply be retried. Errors about the file itself (encoding, missing
columns, a damaged workbook) quarantine the whole file and the run goes on;
errors of the warehouse (connection lost) fail the task so that Airflow
retries it.

A file streams through in chunks (`hzwh.feeds.stream`), so memory does not
grow with its size: each chunk is parsed, normalised and checked by the row
suite, and its good rows go to COPY on a second thread while the next chunk
is being checked - as the delivered lines when PostgreSQL reads them exactly
as normalising would, else as normalised CSV. Failing rows never reach raw.
The key suite runs once the whole file has been read; a key repeated across
chunks is taken back out of raw by its value, in the same transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
from psycopg import sql

from hzwh import db
from hzwh.feeds.contracts import FeedContract, get_contract
from hzwh.feeds.normalise import Issue, normalise
from hzwh.feeds.reader import ROW_NUMBER, FileRejected, decode, parse_file_name, read_table
from hzwh.feeds.stream import NotStreamable, PlainCsv, WholeTable
from hzwh.load.copy import copy_rows, frame_csv_chunks
from hzwh.load.landing import LandedFile, archive, discover, read_landed, remove_from_landing
from hzwh.report import progress
from hzwh.validation.validity import FileValidator, duplicate_key_issues, merge_issues

log = logging.getLogger(__name__)
COPY_BLOCK = 1 << 20


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


def _count_data_lines(path: Path) -> int:
    """Data rows of a file rejected whole (best effort: non-blank lines after the header)."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return 0  # a workbook or a binary file: it has no lines to count
    try:
        _, text = decode(data)
    except FileRejected:
        text = data.decode("latin-1")  # text in an unsupported encoding: only the line breaks matter
    return max(sum(1 for line in text.splitlines() if line.strip(" ,;\t\x00")) - 1, 0)


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


class _CopyStream:
    """One COPY into a partition, fed from the main thread through a short queue and run on a second
    thread, so that the server parses one chunk while Python checks the next. The connection is not
    touched elsewhere until `close()`."""

    _END = object()

    def __init__(self, conn: psycopg.Connection, partition: sql.Identifier, columns: tuple[str, ...]) -> None:
        self.statement = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
            partition, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        self.pending: queue.Queue = queue.Queue(maxsize=2)  # bounds memory: chunks wait here, at most two
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(conn,), name="copy", daemon=True)
        self.thread.start()

    def _run(self, conn: psycopg.Connection) -> None:
        try:
            with conn.cursor() as cur, cur.copy(self.statement) as copy:
                while (item := self.pending.get()) is not self._END:
                    if isinstance(item, BaseException):
                        raise item  # abort: psycopg ends the COPY with CopyFail
                    for piece in item:
                        for start in range(0, len(piece), COPY_BLOCK):
                            copy.write(piece[start : start + COPY_BLOCK])
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            self.error = exc
            while True:  # unblock a sender waiting on a full queue
                try:
                    self.pending.get_nowait()
                except queue.Empty:
                    break

    def send(self, pieces: Iterable[bytes | memoryview]) -> None:
        pieces = [p for p in pieces if len(p)]
        while pieces and self.error is None:
            try:
                self.pending.put(pieces, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self, abort: BaseException | None = None) -> BaseException | None:
        """End the COPY (or abort it) and wait; returns the COPY's error, if any."""
        if self.thread.is_alive():
            while True:
                try:
                    self.pending.put(abort if abort is not None else self._END, timeout=0.5)
                    break
                except queue.Full:
                    if not self.thread.is_alive():
                        break
        self.thread.join()
        return self.error


def _delete_keys(
    conn: psycopg.Connection, partition: sql.Identifier, contract: FeedContract, keys: pd.DataFrame
) -> None:
    """Take rows back out of raw by their (complete) key values: rows that shared a key across chunks."""
    if keys.empty:
        return
    values = [keys[c].astype(object).tolist() for c in contract.key]
    types = [sql.SQL(contract.column(c).pg_type) for c in contract.key]
    # A hashed `= any` on the key column with the most distinct values narrows the scan cheaply,
    # then a semi-join against the keys (typed arrays: no casts per row).
    narrowest = max(range(len(contract.key)), key=lambda i: keys[contract.key[i]].nunique())
    conn.execute(
        sql.SQL("delete from {} where {} = any(%s::{}[]) and ({}) in (select * from unnest({}))").format(
            partition,
            sql.Identifier(contract.key[narrowest]),
            types[narrowest],
            sql.SQL(", ").join(sql.Identifier(c) for c in contract.key),
            sql.SQL(", ").join(sql.SQL("%s::{}[]").format(t) for t in types),
        ),
        (values[narrowest], *values),
    )


def _typed_keys(contract: FeedContract, records: dict[int, dict[str, str]]) -> pd.DataFrame:
    """The typed key values of some rows, from their delivered text, normalised as their chunk was."""
    rows = sorted(records)
    table = pa.table({
        ROW_NUMBER: pa.array(rows, pa.int64()),
        **{c: pa.array([records[r].get(c, "") for r in rows], pa.string()) for c in contract.key},
    })
    key_only = FeedContract(contract.name, contract.owner, contract.description,
                            tuple(contract.column(c) for c in contract.key), contract.key)
    typed, _, _ = normalise(table, key_only)
    return typed


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
        conn.execute("savepoint file_rows")  # a rejected file keeps its audit row, and nothing else
        try:
            period = parse_file_name(landed.name, contract.name).period
            outcome = None
            stream = PlainCsv.open(landed.path, contract)
            if stream is not None:
                try:
                    outcome = _load(conn, contract, landed, load_id, period, stream)
                except NotStreamable as why:
                    log.info("%s: not a plain CSV after all (%s); reading it whole", landed.name, why)
                    conn.execute("rollback to savepoint file_rows")
            if outcome is None:
                whole = WholeTable(read_table(landed.path, contract, label=landed.name), contract)
                outcome = _load(conn, contract, landed, load_id, period, whole)
        except FileRejected as exc:
            conn.execute("rollback to savepoint file_rows")
            outcome = _reject(conn, contract, landed, load_id, exc)
    remove_from_landing(path)
    log.info("%s", asdict(outcome))
    return outcome


def _reject(
    conn: psycopg.Connection, contract: FeedContract, landed: LandedFile, load_id: int, exc: FileRejected
) -> FileOutcome:
    reason = str(exc) if str(exc).startswith(landed.name) else f"{landed.name}: {exc}"
    delivered = _count_data_lines(landed.path)
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
    period: str,
    source: PlainCsv | WholeTable,
) -> FileOutcome:
    """Every row of `source` into the file's partition of raw.<feed> or into quarantine."""
    partition = db.create_load_partition(conn, contract.name, load_id)
    validator = FileValidator(contract, period)
    by_row: dict[int, list[Issue]] = {}
    records: dict[int, dict[str, str]] = {}
    delivered = 0
    copier = _CopyStream(conn, partition, source.columns)
    try:
        for chunk in source.chunks():
            typed, type_issues, verbatim = normalise(chunk.table, contract)
            issues = merge_issues(type_issues, validator.check(typed))
            bad = sorted(issues)
            by_row.update(issues)
            records.update(chunk.records(bad))
            delivered += chunk.rows
            if verbatim and source.direct and chunk.lines is not None:
                copier.send(chunk.lines_without(bad))  # the delivered lines, as `psql \copy` would send them
            else:
                good = typed[~typed[ROW_NUMBER].isin(bad)] if bad else typed
                for piece in frame_csv_chunks(good[list(source.columns)]):
                    copier.send([piece])
            del typed, chunk
            if copier.error is not None:
                break  # the COPY failed: close() reports why
        if delivered == 0:
            raise FileRejected(f"{landed.name}: the file has a header but no data rows")
        # The key suite, while COPY finishes the last chunks (it needs no connection).
        duplicates, delivered_text = [], {}
        candidates = validator.duplicate_rows()
        if candidates:
            delivered_text = source.records(candidates)
            duplicates = duplicate_key_issues(contract, _typed_keys(contract, delivered_text))
    except BaseException as exc:
        copier.close(abort=exc)
        raise
    error = copier.close()
    if error is not None:
        if isinstance(source, PlainCsv) and isinstance(error, psycopg.errors.DataError):
            # PostgreSQL read a delivered line differently from Arrow (e.g. an encoding it rejects):
            # the careful reader takes the file instead.
            raise NotStreamable(f"COPY: {error}")
        raise error

    # Rows that passed the row suite went to raw: take them back out, by key.
    loaded = sorted({i.row_number for i in duplicates} - set(by_row))
    if loaded:
        keys = _typed_keys(contract, {r: delivered_text[r] for r in loaded}).drop_duplicates(list(contract.key))
        _delete_keys(conn, partition, contract, keys)
    for issue in duplicates:
        by_row.setdefault(issue.row_number, []).append(issue)
        records.setdefault(issue.row_number, delivered_text[issue.row_number])

    if by_row:
        copy_rows(
            conn, "ops", "quarantined_rows",
            ("load_id", "row_number", "feed", "file_name", "reason", "issues", "record"),
            (
                (load_id, row, contract.name, landed.name,
                 f"{landed.name} row {row}: " + "; ".join(i.message for i in by_row[row]),
                 [{"column": i.column, "value": i.value, "rule": i.rule, "message": i.message} for i in by_row[row]],
                 records[row])
                for row in sorted(by_row)
            ),
        )
    conn.execute(
        "update ops.file_loads set file_period = %s, encoding = %s, rows_delivered = %s, rows_loaded = %s,"
        " rows_quarantined = %s, blank_lines = %s, extra_columns = %s where load_id = %s",
        (period, source.encoding, delivered, delivered - len(by_row), len(by_row),
         source.blank_rows, list(source.extra_columns), load_id),
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
