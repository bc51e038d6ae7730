"""Ingest case: one feed file through the project's path beside `psql \\copy` and pandas `to_sql`, same file.

    python bench/ingest_benchmark.py [--rows 1000000 5000000] [--repeat 3] [--no-to-sql] [--encoding gb18030]

Generates a CSV of the social_security_enrollment feed's shape (0.1 % of its
rows invalid), then, per size, in the same run:

* `psql \\copy` of the file into an unindexed table of the same columns: the limit;
* the project's path, `hzwh.load.ingest.ingest_file`: checksum, archive, read
  in chunks, normalise, the GX validity suites (rows per chunk, keys per
  file), COPY into raw, quarantine, audit - one transaction - in a child
  process that has paid the fixed costs (imports, GX context and suites)
  once, as an ingest task does; its peak RSS per file is
  read from /proc (VmHWM, reset before each file);
* pandas `read_csv` + `to_sql` (SQLAlchemy, default inserts): the naive peer,
  once per size, also in a child process for its peak RSS.

`--encoding gb18030` writes the file as a GBK export does: GB18030, with the
district's Chinese name in an extra column (区名); `\\copy` then reads it with
`encoding 'GB18030'` into a table with that column too. Not part of `make bench`.

One month of this feed has only 39 distinct keys (13 districts x 3 schemes),
so a million-row file needs a wider key to be loadable at all: the benchmark's
contract adds eligible_persons to the key (unique in the generated data). All
other checks are the feed's own.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402 - the bench folder is not a package

FEED = "social_security_enrollment"
CODES = np.array(
    ["330102", "330103", "330104", "330105", "330106", "330108", "330109", "330110", "330122", "330127", "330182",
     "330183", "330185"]
)
SCHEMES = np.array(["resident_medical", "resident_pension", "employee_medical"])
NAMES = dict(zip(CODES, ["上城区", "下城区", "江干区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "桐庐县",
                          "淳安县", "建德市", "富阳市", "临安市"], strict=True))
WIDE_KEY = ("period", "district_code", "scheme", "eligible_persons")
COLUMNS = "period,district_code,scheme,eligible_persons,insured_persons"


def generate(path: Path, rows: int, seed: int = 7, encoding: str = "utf-8") -> int:
    """A month of the feed's shape; 0.1 % of rows have insured > eligible. Returns the bad-row count.

    Other than UTF-8, the file is a GBK export: the district's name in an extra last column.
    """
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    bad_total = 0
    chunk = 1_000_000
    named = encoding != "utf-8"
    with open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(COLUMNS + (",区名\n" if named else "\n"))
        for start in range(0, rows, chunk):  # in slices: the generator itself stays small at 5M rows
            n = min(chunk, rows - start)
            eligible = np.arange(start, start + n, dtype=np.int64) + 1_000
            insured = (eligible * rng.uniform(0.85, 1.0, n)).astype(np.int64)
            bad = rng.choice(n, size=n // 1000, replace=False)
            insured[bad] = eligible[bad] + 1
            bad_total += len(bad)
            frame = pd.DataFrame({
                "period": "2012-01",
                "district_code": CODES[rng.integers(0, len(CODES), n)],
                "scheme": SCHEMES[rng.integers(0, len(SCHEMES), n)],
                "eligible_persons": eligible,
                "insured_persons": insured,
            })
            if named:
                frame["name"] = frame["district_code"].map(NAMES)
            frame.to_csv(fh, index=False, header=False)
    return bad_total


def contract():
    from hzwh.feeds.contracts import get_contract

    return dataclasses.replace(get_contract(FEED), key=WIDE_KEY)


# --------------------------------------------------------------------------- the limit


def psql_copy(url: str, path: Path, encoding: str = "utf-8") -> float:
    table = "bench.copy_target" if encoding == "utf-8" else "bench.copy_target_named"
    subprocess.run(["psql", url, "-q", "-c", f"truncate {table}"], check=True)
    subprocess.run(["psql", url, "-q", "-c", "checkpoint"], check=True)
    start = time.perf_counter()
    subprocess.run(
        ["psql", url, "-q", "-c",
         f"\\copy {table} from '{path}' with (format csv, header true, encoding '{encoding.upper()}')"],
        check=True,
    )
    return time.perf_counter() - start


# --------------------------------------------------------------------------- the project's path (child process)


def _child_ingest(url: str, source: Path, work: Path, warmup: Path) -> None:
    """Runs in a fresh interpreter: the fixed costs once, a small warm-up file, then the file, timed.

    Prints one JSON line: the fixed costs, the ingest's seconds, the RSS before it and its peak (VmHWM reset
    just before the file, so the peak is this file's).
    """
    os.environ["WAREHOUSE_URL"] = url
    t0 = time.perf_counter()
    from hzwh import db
    from hzwh.load.ingest import ingest_file
    from hzwh.validation.gx_context import get_context
    from hzwh.validation.validity import build_key_suite, build_suite

    imports = time.perf_counter() - t0
    feed = contract()
    get_context()
    build_suite(feed, "2012-01")
    build_key_suite(feed)
    fixed = time.perf_counter() - t0

    def ingest(conn, path: Path):
        conn.execute("truncate raw.social_security_enrollment, ops.quarantined_rows, ops.file_loads cascade")
        conn.commit()
        archive = work / "archive"
        shutil.rmtree(archive, ignore_errors=True)
        target = work / "landing" / FEED / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        conn.execute("checkpoint")
        common.reset_peak_rss()
        before = common.status_kb("VmRSS")
        start = time.perf_counter()
        outcome = ingest_file(conn, feed, target, archive_root=archive)
        seconds = time.perf_counter() - start
        assert outcome.status == "loaded", outcome
        return outcome, seconds, before, common.status_kb("VmHWM")

    with db.connect(url) as conn:
        ingest(conn, warmup)
        outcome, seconds, before, peak = ingest(conn, source)
        count, digest = conn.execute(RAW_DIGEST).fetchone()
    print(json.dumps({
        "fixed": fixed, "imports": imports, "seconds": seconds, "loaded": outcome.rows_loaded,
        "quarantined": outcome.rows_quarantined, "rss_before_mb": common.mb(before), "peak_rss_mb": common.mb(peak),
        "raw": [count, str(digest)],
    }), flush=True)


RAW_DIGEST = (
    "select count(*), sum(hashtextextended(row(period, district_code, scheme, eligible_persons,"
    " insured_persons)::text, 0)) from raw.social_security_enrollment"
)


def _child_to_sql(url: str, source: Path, encoding: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
    common.reset_peak_rss()
    start = time.perf_counter()
    frame = pd.read_csv(source, encoding=encoding)
    frame.to_sql("to_sql_target", engine, schema="bench", if_exists="replace", index=False, chunksize=50_000)
    seconds = time.perf_counter() - start
    engine.dispose()
    print(json.dumps({"seconds": seconds, "peak_rss_mb": common.mb(common.status_kb("VmHWM"))}), flush=True)


def _child(args: list[str]) -> list[dict]:
    proc = subprocess.run([sys.executable, __file__, *args], check=True, text=True, stdout=subprocess.PIPE)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


# --------------------------------------------------------------------------- the case


def run(
    url: str, rows_list: list[int], repeat: int, *, to_sql: bool = True, encoding: str = "utf-8") -> dict:
    """All sizes against one scratch warehouse (`url`, bootstrapped); returns a dict of results per size."""
    from hzwh import db

    with db.connect(url) as conn:
        db.bootstrap(conn)
        conn.execute("create schema if not exists bench")
        conn.execute(
            "create table if not exists bench.copy_target (period text, district_code text, scheme text,"
            " eligible_persons bigint, insured_persons bigint)"
        )
        conn.execute("create table if not exists bench.copy_target_named"
                     " (like bench.copy_target, district_name text)")
        conn.commit()
    out: dict = {}
    work = Path(tempfile.mkdtemp(prefix="hzwh-bench-ingest-"))
    warmup = work / "warmup" / f"{FEED}_201201.csv"
    generate(warmup, 10_000, seed=1)
    try:
        for rows in rows_list:
            source = work / f"{FEED}_201201.csv"
            with common.timed() as gen_time:
                bad = generate(source, rows, encoding=encoding)
            size_mb = source.stat().st_size / 1e6
            print(f"ingest {rows:,} rows ({size_mb:.0f} MB, generated in {gen_time():.1f} s)", flush=True)
            psql_copy(url, source, encoding)  # warm-up: the file in the page cache, the table's first extent
            copies, ours = [], []
            for _ in range(repeat):  # interleaved, so that a busy spell hits both alike
                copies.append(psql_copy(url, source, encoding))
                ours.append(_child(["--child-ingest", url, str(source), str(work), str(warmup)])[0])
            for o in ours:
                assert o["loaded"] + o["quarantined"] == rows and o["quarantined"] == bad, (o, bad)
            result = {
                "rows": rows, "encoding": encoding, "size_mb": size_mb, "bad_rows": bad, "copy": copies,
                "ours": [o["seconds"] for o in ours],
                "peak_rss_mb": [o["peak_rss_mb"] for o in ours], "rss_before_mb": [o["rss_before_mb"] for o in ours],
                "fixed_seconds": [o["fixed"] for o in ours], "import_seconds": [o["imports"] for o in ours],
            }
            if to_sql:
                print("  pandas to_sql (naive peer) ...", flush=True)
                peer = _child(["--child-to-sql", url, str(source), encoding])[0]
                result["to_sql"] = peer["seconds"]
                result["to_sql_peak_rss_mb"] = peer["peak_rss_mb"]
            out[str(rows)] = result
            print(f"  \\copy {common.runs(copies)} s; project {common.runs(result['ours'])} s; "
                  f"peak RSS {', '.join(f'{m:.0f}' for m in result['peak_rss_mb'])} MB", flush=True)
            source.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1].startswith("--child-"):
        mode, *rest = sys.argv[1:]
        if mode == "--child-ingest":
            _child_ingest(rest[0], Path(rest[1]), Path(rest[2]), Path(rest[3]))
        else:
            _child_to_sql(rest[0], Path(rest[1]), rest[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-to-sql", action="store_true", help="skip the slow pandas to_sql case")
    parser.add_argument("--encoding", choices=["utf-8", "gb18030"], default="utf-8",
                        help="gb18030: a GBK export, with the district names in an extra column")
    args = parser.parse_args()
    parts = common.scratch("ingest")
    try:
        result = run(parts.url(), args.rows, args.repeat, to_sql=not args.no_to_sql, encoding=args.encoding)
    finally:
        common.drop(parts)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
