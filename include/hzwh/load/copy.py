"""Bulk loading with PostgreSQL COPY: the whole frame in one stream, never row by row."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

CHUNK_ROWS = 100_000


def frame_to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV for COPY: nulls as unquoted empty fields, empty strings quoted, no header."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue()


def copy_frame(conn: psycopg.Connection, table: sql.Identifier, frame: pd.DataFrame) -> int:
    """COPY `frame` (its columns named as the table's) into `table`; returns rows written.

    The frame is encoded and sent in chunks, so that the server is already
    parsing the first rows while the next ones are being encoded.
    """
    if frame.empty:
        return 0
    statement = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
        table, sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for start in range(0, len(frame), CHUNK_ROWS):
            copy.write(frame_to_csv_bytes(frame.iloc[start : start + CHUNK_ROWS]))
    return len(frame)


def copy_rows(
    conn: psycopg.Connection, schema: str, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> int:
    """COPY Python tuples (small sets, e.g. quarantined rows); dicts and lists go in as JSON."""
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for v in row]
            )
            count += 1
    return count
