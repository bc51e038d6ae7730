"""What every benchmark case shares: scratch databases, timing, memory, dbt, and the machine's state.

Scratch databases are named `hz_bench_<case>_<pid>` on the warehouse's server
and dropped at the end (or by `drop_scratch_databases()` after a crash).
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PREFIX = "hz_bench_"


# --------------------------------------------------------------------------- numbers


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_s(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "-"
    return f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"


def fmt_rate(rows: int, seconds: float | None) -> str:
    return "-" if not seconds else f"{rows / seconds:,.0f}"


def runs(values: list[float]) -> str:
    return ", ".join(fmt_s(v) for v in values)


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


# --------------------------------------------------------------------------- memory


def status_kb(field_name: str, pid: int | str = "self") -> int:
    """A field of /proc/<pid>/status in kB (VmRSS: resident now, VmHWM: the peak since start or reset)."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def reset_peak_rss() -> None:
    """Make VmHWM start again from the current RSS (Linux >= 4.0), so one step's peak can be read alone."""
    Path("/proc/self/clear_refs").write_text("5")


def mb(kb: int) -> float:
    return kb / 1024


# --------------------------------------------------------------------------- machine


@dataclass
class Machine:
    started: str
    cores: int | None
    memory_gb: float
    cpu: str
    postgres: str
    python: str
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float] | None = None
    other_activity: list[str] = field(default_factory=list)

    @classmethod
    def now(cls, url: str) -> Machine:
        import psycopg

        with psycopg.connect(url) as conn:
            version = conn.execute("show server_version").fetchone()[0]
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), platform.machine())
        memory = status_like("/proc/meminfo", "MemTotal") / 1024 / 1024
        return cls(
            started=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", cores=os.cpu_count(), memory_gb=memory, cpu=cpu,
            postgres=f"PostgreSQL {version}", python=platform.python_version(), load_start=os.getloadavg(),
        )

    def finish(self, url: str) -> None:
        self.load_end = os.getloadavg()
        self.other_activity = other_databases_active(url)

    @property
    def busy(self) -> bool:
        cores = self.cores or 1
        return max(self.load_start[0], (self.load_end or self.load_start)[0]) > 0.5 * cores

    def describe(self) -> str:
        end = self.load_end or self.load_start
        text = (f"{self.started}; {self.cores} cores ({self.cpu}), {self.memory_gb:.0f} GB RAM, {self.postgres} "
                f"on the same machine, Python {self.python}. Load average (1/5/15 min) "
                f"{'/'.join(f'{v:.1f}' for v in self.load_start)} at the start, "
                f"{'/'.join(f'{v:.1f}' for v in end)} at the end")
        if self.busy:
            text += (" - the machine was busy with other work (e.g. other engineers' test runs), so every figure "
                     "is a median of repeated runs and ratios are taken within the same run")
        return text + "."


def status_like(path: str, key: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def other_databases_active(url: str) -> list[str]:
    """Databases other than the benchmark's with active queries right now (someone else's tests)."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select datname, count(*) from pg_stat_activity where state = 'active' and datname is not null"
            " and datname not like %s and pid <> pg_backend_pid() group by datname order by datname",
            (PREFIX + "%",),
        ).fetchall()
    return [f"{name} ({count})" for name, count in rows]


# --------------------------------------------------------------------------- databases


def scratch(case: str):
    """PgParts of a scratch database for one case (created empty)."""
    from hzwh import db, settings

    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, f"{PREFIX}{case}_{os.getpid()}")
    db.drop_database(parts)
    db.create_database(parts)
    return parts


def drop(parts) -> None:
    from hzwh import db

    db.drop_database(parts)


def drop_scratch_databases(url: str, *, mine_only: bool = True) -> list[str]:
    """Drop hz_bench_* databases (only this process's unless mine_only is False)."""
    import psycopg
    from psycopg import sql

    pattern = f"{PREFIX}%_{os.getpid()}" if mine_only else PREFIX + "%"
    with psycopg.connect(url, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("select datname from pg_database where datname like %s", (pattern,))]
        for name in names:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    return names


def pg_env(parts) -> dict[str, str]:
    """libpq variables for dbt_project/profiles.yml (and psql)."""
    return {"PGHOST": parts.host, "PGPORT": str(parts.port), "PGUSER": parts.user, "PGDATABASE": parts.dbname,
            "PGPASSWORD": parts.password or "unused"}


# --------------------------------------------------------------------------- dbt


@dataclass
class DbtRun:
    seconds: float
    success: bool
    models: float  # summed execution time of models (and seeds)
    tests: float  # summed execution time of data and unit tests
    nodes: dict[str, float]
    statuses: dict[str, str]

    def slowest(self, n: int = 5) -> list[tuple[str, float]]:
        return sorted(self.nodes.items(), key=lambda kv: -kv[1])[:n]


def dbt_build(parts, target: Path, *args: str, vars_: dict | None = None, in_process: bool = True) -> DbtRun:
    """`dbt build` of dbt_project against the scratch database, once, as the DAG's single dbt task does.

    In-process through dbt's programmatic runner (dbtRunner) by default; the target path is kept between
    calls so that partial parsing works as it does in production.
    """
    from hzwh import settings

    os.environ.update(pg_env(parts))
    argv = ["build", "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
            "--target-path", str(target), "--log-path", str(target.parent / "logs"), "--quiet", *args]
    if vars_:
        argv += ["--vars", json.dumps(vars_)]
    start = time.perf_counter()
    if in_process:
        from dbt.cli.main import dbtRunner

        success = dbtRunner().invoke(argv).success
    else:
        dbt = Path(sys.executable).with_name("dbt")
        success = subprocess.run([str(dbt), *argv], check=False).returncode == 0
    seconds = time.perf_counter() - start
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = {r["unique_id"]: r["execution_time"] for r in results}
    statuses = {r["unique_id"]: r["status"] for r in results}
    models = sum(t for k, t in nodes.items() if k.split(".")[0] in ("model", "seed", "snapshot"))
    tests = sum(t for k, t in nodes.items() if k.split(".")[0] in ("test", "unit_test"))
    return DbtRun(seconds, success, models, tests, nodes, statuses)


def checksum_tables(
    url: str, schemas: tuple[str, ...] = ("intermediate", "marts"), *, skip_columns: str | None = None
) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent md5 of every table in the schemas: equal means the same content.

    `skip_columns`: a LIKE pattern of columns to leave out (file version ids differ between two warehouses
    that loaded the same files in another order). `built_at` (when dbt wrote a row) is always left out.
    """
    import psycopg
    from psycopg import sql

    out = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "select schemaname, tablename from pg_tables where schemaname = any(%s) order by 1, 2", (list(schemas),)
        ).fetchall()
        for schema, table in tables:
            columns = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
                " and column_name <> 'built_at' and (%s::text is null or column_name not like %s)"
                " order by ordinal_position",
                (schema, table, skip_columns, skip_columns),
            )]
            row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
            count, digest = conn.execute(
                sql.SQL("select count(*), md5(coalesce(string_agg(md5({row}), '' order by md5({row})), ''))"
                        " from {table}").format(row=row, table=sql.Identifier(schema, table))
            ).fetchone()
            out[f"{schema}.{table}"] = (count, digest)
    return out


def write_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path
