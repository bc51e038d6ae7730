"""Bulk loading with PostgreSQL COPY, never row by row: frames as CSV in slices, small row sets as tuples."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Sequence

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


def frame_csv_chunks(frame: pd.DataFrame) -> Iterator[bytes]:
    """`frame` as COPY CSV, CHUNK_ROWS rows at a time, so that the server parses one slice while the
    next is being encoded."""
    for start in range(0, len(frame), CHUNK_ROWS):
        yield frame_to_csv_bytes(frame.iloc[start : start + CHUNK_ROWS])


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
