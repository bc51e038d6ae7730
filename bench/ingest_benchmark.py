"""Ingest benchmark: the project's ingest path beside `psql \\copy` and pandas `to_sql`, same file, same run.

    python bench/ingest_benchmark.py [--rows 1000000] [--repeat 3] [--no-to-sql]

Generates a CSV of the social_security_enrollment feed's shape (0.1 % of its
rows invalid), then times, each `--repeat` times after one warm-up:

* `psql \\copy` of the file into an unindexed table of the same columns: the limit;
* the project's path, `hzwh.load.ingest.ingest_file`: checksum, archive, read,
  normalise, the GX validity suite, COPY into raw, quarantine, audit - one
  transaction;
* pandas `read_csv` + `to_sql` (SQLAlchemy, default inserts): the naive peer, once.

One month of this feed has only 39 distinct keys (13 districts x 3 schemes),
so a 1M-row file needs a wider key to be loadable at all: the benchmark's
contract adds eligible_persons to the key (unique in the generated data). All
other checks are the feed's own. Results go to bench/results/ingest.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "ingest.md"
CODES = np.array(
    ["330102", "330103", "330104", "330105", "330106", "330108", "330109", "330110", "330122", "330127", "330182",
     "330183", "330185"]
)
SCHEMES = np.array(["resident_medical", "resident_pension", "employee_medical"])


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """A month of the feed's shape; 0.1 % of rows have insured > eligible. Returns the bad-row count."""
    rng = np.random.default_rng(seed)
    eligible = np.arange(rows, dtype=np.int64) + 1_000
    insured = (eligible * rng.uniform(0.85, 1.0, rows)).astype(np.int64)
    bad = rng.choice(rows, size=rows // 1000, replace=False)
    insured[bad] = eligible[bad] + 1
    frame = pd.DataFrame(
        {
            "period": "2012-01",
            "district_code": CODES[rng.integers(0, len(CODES), rows)],
            "scheme": SCHEMES[rng.integers(0, len(SCHEMES), rows)],
            "eligible_persons": eligible,
            "insured_persons": insured,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return len(bad)


def quiesce(url: str) -> None:
    """Start every timed case from the same state: nothing left to flush from the previous one."""
    subprocess.run(["psql", url, "-q", "-c", "checkpoint"], check=True)


def psql_copy(url: str, path: Path) -> float:
    subprocess.run(["psql", url, "-q", "-c", "truncate bench.copy_target"], check=True)
    quiesce(url)
    start = time.perf_counter()
    subprocess.run(
        ["psql", url, "-q", "-c", f"\\copy bench.copy_target from '{path}' with (format csv, header true)"],
        check=True,
    )
    return time.perf_counter() - start


def project_ingest(conn, contract, source: Path, landing: Path, archive: Path) -> tuple[float, int, int]:
    from hzwh.load.ingest import ingest_file

    conn.execute("truncate raw.social_security_enrollment, ops.quarantined_rows, ops.file_loads cascade")
    conn.commit()
    shutil.rmtree(archive, ignore_errors=True)
    target = landing / contract.name / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    conn.execute("checkpoint")
    start = time.perf_counter()
    outcome = ingest_file(conn, contract, target, archive_root=archive)
    elapsed = time.perf_counter() - start
    assert outcome.status == "loaded", outcome
    return elapsed, outcome.rows_loaded, outcome.rows_quarantined


def pandas_to_sql(url: str, path: Path) -> float:
    import sqlalchemy

    engine = sqlalchemy.create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
    start = time.perf_counter()
    frame = pd.read_csv(path)
    frame.to_sql("to_sql_target", engine, schema="bench", if_exists="replace", index=False, chunksize=50_000)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-to-sql", action="store_true", help="skip the slow pandas to_sql case")
    args = parser.parse_args()

    from hzwh import db, settings
    from hzwh.feeds.contracts import get_contract

    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, "hz_bench")
    db.drop_database(parts)
    db.create_database(parts)
    url = parts.url()
    os.environ["WAREHOUSE_URL"] = url

    contract = dataclasses.replace(
        get_contract("social_security_enrollment"), key=("period", "district_code", "scheme", "eligible_persons")
    )
    work = Path(tempfile.mkdtemp(prefix="hzwh-bench-"))
    source = work / "social_security_enrollment_201201.csv"
    bad = generate(source, args.rows)
    size_mb = source.stat().st_size / 1e6

    with db.connect(url) as conn:
        db.bootstrap(conn)
        conn.execute("create schema if not exists bench")
        conn.execute(
            "create table if not exists bench.copy_target (period text, district_code text, scheme text,"
            " eligible_persons bigint, insured_persons bigint)"
        )
        conn.commit()
        t0 = time.perf_counter()
        from hzwh.validation.gx_context import get_context
        from hzwh.validation.validity import build_suite

        get_context()
        build_suite(contract, "2012-01")
        fixed = time.perf_counter() - t0

        psql_copy(url, source)  # warm-up
        project_ingest(conn, contract, source, work / "landing", work / "archive")
        copies, ours = [], []
        for _ in range(args.repeat):
            copies.append(psql_copy(url, source))
            elapsed, loaded, quarantined = project_ingest(conn, contract, source, work / "landing", work / "archive")
            ours.append(elapsed)
    assert loaded + quarantined == args.rows and quarantined == bad, (loaded, quarantined, bad)
    to_sql = None if args.no_to_sql else pandas_to_sql(url, source)

    copy_median, ours_median = statistics.median(copies), statistics.median(ours)

    def rate(seconds: float) -> str:
        return f"{args.rows / seconds:,.0f}"

    lines = [
        f"# Ingest benchmark ({args.rows:,} rows, {size_mb:.0f} MB CSV, median of {args.repeat})",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"PostgreSQL at {parts.host}:{parts.port}; Python {platform.python_version()}.",
        "",
        "| case | seconds | rows/s | vs \\copy |",
        "|---|---:|---:|---:|",
        f"| psql \\copy (the limit) | {copy_median:.2f} | {rate(copy_median)} | 1.00x |",
        f"| project ingest path (read, normalise, GX validity, COPY, quarantine {bad:,} rows, audit) | "
        f"{ours_median:.2f} | {rate(ours_median)} | {copy_median / ours_median:.2f}x |",
    ]
    if to_sql is not None:
        lines.append(
            f"| pandas read_csv + to_sql (naive peer) | {to_sql:.2f} | {rate(to_sql)} | {copy_median / to_sql:.2f}x |"
        )
    goal = copy_median / ours_median
    lines += [
        "",
        f"Fixed cost paid once per task, not per file: GX import, context and suite {fixed:.2f} s.",
        f"Runs: \\copy {', '.join(f'{c:.2f}' for c in copies)} s; project {', '.join(f'{o:.2f}' for o in ours)} s.",
        "Goal: the project path at >= 0.5x the rows/s of \\copy: "
        + ("met." if goal >= 0.5 else f"missed ({goal:.2f}x)."),
    ]
    report = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    print(report)
    shutil.rmtree(work, ignore_errors=True)
    db.drop_database(parts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
