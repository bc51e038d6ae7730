"""A PROTOTYPE of a streaming ingest path, to size the change proposed for include/hzwh/load/ingest.py.

Not the project's path: the benchmark runs it beside `ingest_file` on the same
file to show what streaming would save, with numbers. It covers the plain
case only (UTF-8, header on row 1, no quotes: what `direct_copy_plan` accepts)
and reuses the project's own pieces - `normalise`, the validity suite
(`validate`), `create_load_partition`, `copy_rows` - chunk by chunk:

1. checksum and archive copy by streaming the file (1 MiB blocks), never
   holding it;
2. the speculative COPY of the delivered bytes on a second thread, read from
   the file (as now, but not from a bytes object in memory);
3. Arrow's streaming CSV reader (`pyarrow.csv.open_csv`), one block of
   `chunk_mb` at a time: normalise and validate each chunk, keep only its
   failing rows (their text, for quarantine) and a 64-bit hash of each row's
   key;
4. the key check across chunks: sort the hashes, and compare the keys of the
   few rows whose hashes collide (re-read from their chunk's failing rows or
   by row number), so a duplicate split over two chunks is still caught;
5. as now: delete the failing rows by key, quarantine them, audit - one
   transaction.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql


def stream_ingest(conn, contract, path: Path, archive_root: Path, chunk_mb: int = 16) -> tuple[int, int]:
    from hzwh import db
    from hzwh.feeds.normalise import Issue, normalise
    from hzwh.feeds.reader import ROW_NUMBER, normalise_header
    from hzwh.load.copy import copy_rows
    from hzwh.validation.validity import merge_issues, validate

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    archived = archive_root / contract.name / sha[:2] / f"{sha}__{path.name}"
    archived.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, archived)
    period = f"{path.stem.split('_')[-1][:4]}-{path.stem.split('_')[-1][4:6]}"

    with open(path, "rb") as fh:
        header = [normalise_header(n) for n in fh.readline().decode("utf-8").strip().split(",")]
    with conn.transaction():
        load_id = conn.execute(
            "insert into ops.file_loads (feed, file_name, sha256, size_bytes, status, archive_path)"
            " values (%s, %s, %s, %s, 'loaded', %s) returning load_id",
            (contract.name, path.name, sha, path.stat().st_size, str(archived)),
        ).fetchone()[0]
        partition = db.create_load_partition(conn, contract.name, load_id)
        statement = sql.SQL("copy {} ({}) from stdin with (format csv, header true)").format(
            partition, sql.SQL(", ").join(sql.Identifier(c) for c in header))
        error: list[BaseException] = []

        def copy_file() -> None:
            try:
                with conn.cursor() as cur, cur.copy(statement) as copy, open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        copy.write(block)
            except BaseException as exc:  # noqa: BLE001 - reported after join
                error.append(exc)

        copier = threading.Thread(target=copy_file, name="copy")
        copier.start()

        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=chunk_mb << 20),
            parse_options=pacsv.ParseOptions(quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in header},
                                                 strings_can_be_null=False),
        )
        first_row = 2
        hashes: list[np.ndarray] = []
        by_row: dict[int, list[Issue]] = {}
        failing_text: dict[int, dict] = {}
        failing_keys: dict[int, tuple] = {}
        for batch in reader:
            n = batch.num_rows
            rows = np.arange(first_row, first_row + n, dtype=np.int64)
            table = pa.Table.from_batches([batch]).add_column(0, ROW_NUMBER, pa.array(rows))
            typed, type_issues, _ = normalise(table, contract)
            chunk_issues = merge_issues(type_issues, validate(typed, contract, period))
            hashes.append(pd.util.hash_pandas_object(typed[list(contract.key)], index=False).to_numpy())
            if chunk_issues:
                picked = typed[typed[ROW_NUMBER].isin(list(chunk_issues))]
                for rec in picked[[ROW_NUMBER, *contract.key]].itertuples(index=False):
                    failing_keys[int(rec[0])] = tuple(v.item() if hasattr(v, "item") else v for v in rec[1:])
                text = table.filter(pc.is_in(table.column(ROW_NUMBER), pa.array(list(chunk_issues))))
                failing_text.update({r.pop(ROW_NUMBER): r for r in text.to_pylist()})
                by_row.update(chunk_issues)
            first_row += n
            del table, typed

        # Keys across chunks: equal hashes are candidates; the prototype reports them as duplicates (a 64-bit
        # collision among 5M keys has a probability of about 1e-6; the real change would compare the keys).
        all_hashes = np.concatenate(hashes)
        order = np.argsort(all_hashes, kind="stable")
        same = all_hashes[order][1:] == all_hashes[order][:-1]
        dup_rows = set((order[1:][same] + 2).tolist()) | set((order[:-1][same] + 2).tolist())
        groups = defaultdict(list)
        for r in dup_rows:
            groups[int(all_hashes[r - 2])].append(r)
        for rows_ in groups.values():
            for r in rows_:
                if not any(i.rule == "unique_key" for i in by_row.get(r, [])):
                    by_row.setdefault(r, []).append(Issue(r, ",".join(contract.key), "", "unique_key",
                                                          f"duplicate key: also on row(s) {rows_}"))

        copier.join()
        if error:
            raise error[0]
        complete = [failing_keys[r] for r in sorted(by_row) if r in failing_keys]
        if complete:
            types = [sql.SQL(contract.column(c).pg_type) for c in contract.key]
            conn.execute(
                sql.SQL("delete from {} where ({}) in (select * from unnest({}))").format(
                    partition, sql.SQL(", ").join(sql.Identifier(c) for c in contract.key),
                    sql.SQL(", ").join(sql.SQL("%s::{}[]").format(t) for t in types)),
                [[k[i] for k in complete] for i in range(len(contract.key))],
            )
        copy_rows(
            conn, "ops", "quarantined_rows",
            ("load_id", "row_number", "feed", "file_name", "reason", "issues", "record"),
            ((load_id, r, contract.name, path.name, "; ".join(i.message for i in by_row[r]),
              [{"column": i.column, "rule": i.rule} for i in by_row[r]], failing_text.get(r, {}))
             for r in sorted(by_row)),
        )
        delivered = first_row - 2
        conn.execute(
            "update ops.file_loads set file_period = %s, rows_delivered = %s, rows_loaded = %s,"
            " rows_quarantined = %s where load_id = %s",
            (period, delivered, delivered - len(by_row), len(by_row), load_id),
        )
    return delivered - len(by_row), len(by_row)
