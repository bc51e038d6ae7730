"""Scale case: ten years (2012-2021) of plan_indicators at township level, loaded and built; then new months
and a revision processed incrementally; then the dashboard's queries on the marts.

    python bench/scale.py [--months 120] [--new-months 3] [--full-builds 3] [--per-district 16]

1. generate 120 monthly files (`bench/townships.py`: 13 districts x 16 townships x every plan_indicators
   target of the catalogue = 21,632 rows a month, 2.6M rows);
2. load them with the project's path (`ingest_feed`: one task, 120 files) and build (`dbt build`, once,
   in-process, as the DAG's single dbt task) on an empty warehouse;
3. one new month at a time (2022-01, -02, -03): ingest its file and `dbt build` again - the incremental
   models rewrite only the months that have newer file versions;
4. a revision: 5 % of the keys of a past month (2021-06) again, values changed;
5. the naive peer: `dbt build --full-refresh`, which rebuilds everything from raw - after which every
   intermediate and mart table must equal, row for row, what the incremental builds left;
6. the dashboard's questions at this scale, each timed 20 times, with its plan (EXPLAIN ANALYZE) - and the
   same queries with index scans disabled, to show what the indexes buy.

dbt runs with `calendar_end` 2022-12-01 so that the new months are in the calendar dimension.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402 - the bench folder is not a package
import townships  # noqa: E402

VARS = {"calendar_end": "2022-12-01"}
DBT_MODELS = ("int_plan_indicator_values_versioned", "int_plan_indicator_values_rolled_up",
              "fct_plan_indicator_values", "fct_target_attainment")

QUERIES = {
    "one target over a year across districts": (
        "select geo_code, month, actual_value, target_value, status, pace_status"
        " from marts.fct_target_attainment"
        " where target_id = %(target)s and geo_level = 'district' and month between %(first)s and %(last)s"
        " order by geo_code, month"
    ),
    "the breaches of a month that alert (judged rows)": (
        "select target_id, geo_code, geo_level, vaccine, actual_value, target_value, gap, responsible_bureau"
        " from marts.fct_target_attainment"
        " where month = %(month)s and status = 'breached' and is_scope_row"
        " order by target_id, geo_code"
    ),
    "all breaches of a month, every geography down to townships": (
        "select target_id, geo_code, geo_level, vaccine, actual_value, target_value, gap, responsible_bureau"
        " from marts.fct_target_attainment"
        " where month = %(month)s and status = 'breached'"
        " order by target_id, geo_code"
    ),
}
QUERY_TARGET = "emp_urban_new_jobs"  # cumulative: reported by townships, rolled up to districts and the city


def query_params(history: list[str]) -> dict:
    """The twelve months up to the last one loaded, and a month in the middle of them (the synthetic
    series meet their year-end targets in December, so a December has few judged breaches)."""
    last = history[-1]
    first = history[max(len(history) - 12, 0)]
    middle = history[max(len(history) - 7, 0)]
    return {"target": QUERY_TARGET, "first": f"{first}-01", "last": f"{last}-01", "month": f"{middle}-01"}


def ingest(url: str, landing: Path, archive: Path) -> tuple[float, int, int]:
    import os

    from hzwh.load.ingest import ingest_feed

    os.environ["WAREHOUSE_URL"] = url
    with common.timed() as elapsed:
        outcomes = ingest_feed(townships.FEED, landing=landing, archive_root=archive)
    assert all(o.status == "loaded" for o in outcomes), [o for o in outcomes if o.status != "loaded"]
    return elapsed(), len(outcomes), sum(o.rows_loaded for o in outcomes)


def build_summary(run: common.DbtRun) -> dict:
    assert run.success, "dbt build failed"
    return {"seconds": run.seconds, "models": run.models, "tests": run.tests,
            "heavy_models": {m: round(next((t for k, t in run.nodes.items() if k.endswith("." + m)), 0.0), 2)
                             for m in DBT_MODELS},
            "slowest": [(k.split(".", 2)[-1], round(t, 2)) for k, t in run.slowest(6)]}


def index_names(conn) -> dict[str, str]:
    rows = conn.execute(
        "select indexname, indexdef from pg_indexes where schemaname = 'marts' and tablename = 'fct_target_attainment'"
    ).fetchall()
    return {name: definition.split(" USING btree ", 1)[-1] for name, definition in rows}


def plan_nodes(plan: dict, names: dict[str, str]) -> list[str]:
    out = []
    node_type = plan["Node Type"]
    if "Index Name" in plan:
        index = names.get(plan["Index Name"], plan["Index Name"])
        where = f" on {plan['Relation Name']}" if "Relation Name" in plan else ""
        out.append(f"{node_type}{where} {index}")
    elif node_type == "Seq Scan":
        out.append(f"Seq Scan on {plan.get('Relation Name', '?')}")
    for child in plan.get("Plans", []):
        out.extend(plan_nodes(child, names))
    return out


def bi_latency(url: str, params: dict, repeat: int = 20) -> dict:
    """Each query timed client-side on its own connection, planned every time (no prepared plans), with
    indexes and then with index scans disabled (the naive peer: what the same table gives without them)."""
    import psycopg

    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("analyze marts.fct_target_attainment")
        names = index_names(conn)
        out["_rows_in_mart"] = conn.execute("select count(*) from marts.fct_target_attainment").fetchone()[0]
    for label, statement in QUERIES.items():
        entry = {}
        for mode, settings_sql in (("indexed", ()),
                                   ("no index scans", ("set enable_indexscan = off", "set enable_bitmapscan = off",
                                                       "set enable_indexonlyscan = off"))):
            with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
                for setting in settings_sql:
                    conn.execute(setting)
                times = []
                for i in range(repeat + 3):
                    start = time.perf_counter()
                    rows = conn.execute(statement, params).fetchall()
                    if i >= 3:
                        times.append((time.perf_counter() - start) * 1000)
                plan = conn.execute("explain (analyze, buffers, format json) " + statement, params).fetchone()[0]
            times.sort()
            entry[mode] = {
                "median_ms": common.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
                "max_ms": times[-1], "rows": len(rows), "server_ms": plan[0]["Execution Time"],
                "plan": plan_nodes(plan[0]["Plan"], names),
            }
        out[label] = entry
    return out


def run(months: int = 120, new_months: int = 3, full_builds: int = 3, per_district: int = 16) -> dict:
    from hzwh import db

    parts = common.scratch("scale")
    url = parts.url()
    work = Path(tempfile.mkdtemp(prefix="hzwh-bench-scale-"))
    landing, archive, target = work / "landing", work / "archive", work / "dbt" / "target"
    feed = townships.TownshipFeed(per_district)
    periods = townships.periods("2012-01", months + new_months)
    history, fresh = periods[:months], periods[months:]
    out: dict = {"months": months, "townships": feed.townships, "targets": len(feed.targets)}
    try:
        with db.connect(url) as conn:
            db.bootstrap(conn)
        with common.timed() as gen:
            for period in history:
                feed.write(landing / townships.FEED, period)
        out["generate_seconds"] = gen()
        print(f"scale: loading {months} months ({feed.townships} townships x {len(feed.targets)} targets) ...",
              flush=True)
        seconds, files, rows = ingest(url, landing, archive)
        out["load"] = {"seconds": seconds, "files": files, "rows": rows}
        print(f"  loaded {rows:,} rows from {files} files in {seconds:.1f} s; first dbt build ...", flush=True)
        out["first_build"] = build_summary(common.dbt_build(parts, target, vars_=VARS))
        print(f"  first build {out['first_build']['seconds']:.1f} s", flush=True)

        out["new_month"] = []
        for period in fresh:
            feed.write(landing / townships.FEED, period)
            seconds, _, rows_new = ingest(url, landing, archive)
            build = build_summary(common.dbt_build(parts, target, vars_=VARS))
            out["new_month"].append({"period": period, "ingest_seconds": seconds, "rows": rows_new, "build": build})
            print(f"  new month {period}: ingest {seconds:.1f} s, build {build['seconds']:.1f} s", flush=True)

        revised = history[-7] if len(history) >= 7 else history[0]
        rows_rev = feed.revision(revised)
        feed.write(landing / townships.FEED, revised, suffix="rev1", rows=rows_rev)
        seconds, _, _ = ingest(url, landing, archive)
        build = build_summary(common.dbt_build(parts, target, vars_=VARS))
        out["revision"] = {"period": revised, "rows": len(rows_rev), "ingest_seconds": seconds, "build": build}
        print(f"  revision of {revised} ({len(rows_rev):,} rows): build {build['seconds']:.1f} s", flush=True)
        with db.connect(url) as conn:
            out["revision"]["reflected"] = conn.execute(
                "select count(*) from marts.fct_plan_indicator_values where month = %s and revision_count = 1",
                (f"{revised}-01",),
            ).fetchone()[0] == len(rows_rev)

        incremental_state = common.checksum_tables(url)
        out["full_refresh"] = []
        for i in range(max(full_builds - 1, 1)):
            out["full_refresh"].append(build_summary(common.dbt_build(parts, target, "--full-refresh", vars_=VARS)))
            print(f"  full refresh {i + 1}: {out['full_refresh'][-1]['seconds']:.1f} s", flush=True)
            if i == 0:
                full_state = common.checksum_tables(url)
                out["incremental_equals_full_refresh"] = incremental_state == full_state
                out["differences"] = sorted(k for k in full_state if incremental_state.get(k) != full_state[k])
                out["table_rows"] = {k: v[0] for k, v in full_state.items() if v[0] > 100_000}
        out["bi"] = bi_latency(url, query_params(history))
        out["bi"]["_params"] = query_params(history)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        common.drop(parts)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--new-months", type=int, default=3)
    parser.add_argument("--full-builds", type=int, default=3)
    parser.add_argument("--per-district", type=int, default=16)
    args = parser.parse_args()
    print(json.dumps(run(args.months, args.new_months, args.full_builds, args.per_district), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
