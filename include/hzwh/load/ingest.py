"""Ingest one feed: every waiting file is loaded, quarantined, or recognised as a duplicate.

Per file, in one transaction: the audit row, the accepted rows (COPY into
raw.<feed>) and the quarantined rows (COPY into ops.quarantined_rows). Either
all of it lands or none of it, so a killed task can simply be retried. Errors
about the file itself (encoding, missing columns, a damaged workbook)
quarantine the whole file and the run goes on; errors of the warehouse
(connection lost) fail the task so that Airflow retries it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import psycopg

from hzwh import db
from hzwh.feeds.contracts import FeedContract, get_contract
from hzwh.feeds.normalise import normalise
from hzwh.feeds.reader import ROW_NUMBER, FileRejected, parse_file_name, read_table
from hzwh.load.copy import copy_frame, copy_rows
from hzwh.load.landing import LandedFile, archive, discover, read_landed, remove_from_landing
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
class Prepared:
    """A parsed and validated file, ready to be written in one transaction."""

    period: str | None
    encoding: str | None
    good: pd.DataFrame | None
    quarantined: list[tuple]
    rows_delivered: int
    blank_lines: int
    extra_columns: tuple[str, ...]
    reason: str | None


def _count_data_lines(data: bytes) -> int:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return max(sum(1 for line in text.splitlines() if line.strip()) - 1, 0)
    return 0


def prepare(landed: LandedFile, contract: FeedContract) -> Prepared:
    """Parse, normalise and validate; never touches the warehouse."""
    try:
        delivered = parse_file_name(landed.name, contract.name)
        table = read_table(landed.path, contract, label=landed.name)
        if table.rows_delivered == 0:
            raise FileRejected(f"{landed.name}: the file has a header but no data rows")
    except FileRejected as exc:
        reason = str(exc)
        if not reason.startswith(landed.name):
            reason = f"{landed.name}: {reason}"
        return Prepared(None, None, None, [], _count_data_lines(landed.data), 0, (), reason)

    typed, type_issues = normalise(table.frame, contract)
    rule_issues = validate(typed, contract, delivered.period)
    by_row = merge_issues(type_issues, rule_issues)

    bad_rows = set(by_row)
    is_bad = typed[ROW_NUMBER].isin(bad_rows).to_numpy()
    good = typed.loc[~is_bad]
    quarantined: list[tuple] = []
    if bad_rows:
        originals = table.frame.set_index(ROW_NUMBER)
        for row_number in sorted(bad_rows):
            issues = by_row[row_number]
            reason = f"{landed.name} row {row_number}: " + "; ".join(i.message for i in issues)
            quarantined.append(
                (
                    row_number,
                    reason,
                    [{"column": i.column, "value": i.value, "rule": i.rule, "message": i.message} for i in issues],
                    {k: v for k, v in originals.loc[row_number].items()},
                )
            )
    return Prepared(
        period=delivered.period,
        encoding=table.encoding,
        good=good,
        quarantined=quarantined,
        rows_delivered=table.rows_delivered,
        blank_lines=table.blank_rows,
        extra_columns=table.extra_columns,
        reason=None,
    )


def _existing_version(conn: psycopg.Connection, feed: str, sha256: str) -> int | None:
    row = conn.execute(
        "select load_id from ops.file_loads where feed = %s and sha256 = %s and status in ('loaded', 'rejected')",
        (feed, sha256),
    ).fetchone()
    return row[0] if row else None


def ingest_file(
    conn: psycopg.Connection, contract: FeedContract, path: Path, *, run_id: str | None = None,
    archive_root: Path | None = None,
) -> FileOutcome:
    landed = read_landed(path)
    original = _existing_version(conn, contract.name, landed.sha256)
    if original is not None:
        with conn.transaction():
            load_id = conn.execute(
                "insert into ops.file_loads (feed, file_name, sha256, size_bytes, status, duplicate_of, reason,"
                " dag_run_id) values (%s, %s, %s, %s, 'duplicate', %s, %s, %s) returning load_id",
                (contract.name, landed.name, landed.sha256, landed.size, original,
                 f"same content as load {original}; nothing to do", run_id),
            ).fetchone()[0]
        remove_from_landing(path)
        return FileOutcome(contract.name, landed.name, "duplicate", load_id, reason=f"duplicate of load {original}")

    archived = archive(landed, contract.name, archive_root)
    prepared = prepare(landed, contract)
    status = "rejected" if prepared.reason else "loaded"
    rows_loaded = 0 if prepared.good is None else len(prepared.good)
    rows_quarantined = prepared.rows_delivered if prepared.reason else len(prepared.quarantined)

    with conn.transaction():
        load_id = conn.execute(
            "insert into ops.file_loads (feed, file_name, sha256, size_bytes, file_period, status, encoding,"
            " rows_delivered, rows_loaded, rows_quarantined, blank_lines, extra_columns, archive_path, reason,"
            " dag_run_id) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning load_id",
            (contract.name, landed.name, landed.sha256, landed.size, prepared.period, status, prepared.encoding,
             prepared.rows_delivered, rows_loaded, rows_quarantined, prepared.blank_lines,
             list(prepared.extra_columns), str(archived), prepared.reason, run_id),
        ).fetchone()[0]
        if prepared.good is not None and rows_loaded:
            frame = prepared.good[[ROW_NUMBER, *contract.column_names]].copy()
            frame.insert(0, "load_id", load_id)
            copy_frame(conn, "raw", contract.name, frame)
        if prepared.quarantined:
            copy_rows(
                conn, "ops", "quarantined_rows",
                ("load_id", "row_number", "feed", "file_name", "reason", "issues", "record"),
                ((load_id, r, contract.name, landed.name, reason, issues, record)
                 for r, reason, issues, record in prepared.quarantined),
            )
    remove_from_landing(path)
    outcome = FileOutcome(
        contract.name, landed.name, status, load_id, prepared.rows_delivered, rows_loaded, rows_quarantined,
        prepared.reason,
    )
    log.info("%s", asdict(outcome))
    return outcome


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
            outcomes.append(ingest_file(conn, contract, path, run_id=run_id, archive_root=archive_root))
    return outcomes
