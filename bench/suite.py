"""The benchmark suite (`make bench`): every case beside its limit and its naive peer, in the same run.

    python bench/suite.py [--quick] [--cases ingest pipeline scale]

Cases (each generates its own data in scratch databases hz_bench_*_<pid>, dropped at the end):

* ingest  - one feed file of 1M and 5M rows: the project's path vs `psql \\copy` vs pandas `to_sql`,
            and the peak RSS of each (bench/ingest_benchmark.py);
* pipeline - a 2012 year of all four feeds, empty warehouse to alerts, through the real DAGs vs the same
            task functions called directly (bench/pipeline_overhead.py);
* scale   - ten years of township plan indicators: load, full build, new months and a revision built
            incrementally vs the full rebuild, and the dashboard's queries (bench/scale.py).

Writes bench/results/benchmark.md (the tables the README quotes) and bench/results/benchmark.json (every
run). `--quick` is a smoke run of every code path on small data (minutes, results not for quoting; written
to bench/results/quick.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402 - the bench folder is not a package

FULL = {
    "ingest": {"rows": [1_000_000, 5_000_000], "repeat": {1_000_000: 5, 5_000_000: 3}},
    "pipeline": {"repeat": 3, "months": None},
    "scale": {"months": 120, "new_months": 3, "full_builds": 3, "per_district": 16},
}
QUICK = {
    "ingest": {"rows": [100_000, 300_000], "repeat": {100_000: 2, 300_000: 2}},
    "pipeline": {"repeat": 1, "months": [1, 2]},
    "scale": {"months": 8, "new_months": 1, "full_builds": 2, "per_district": 2},
}
GOAL_RATE = 0.5  # the project's path at >= 0.5x the rows/s of \copy
GOAL_RSS_MB = 1024  # peak RSS of the 5M-row ingest below 1 GB
GOAL_BI_MS = 50
GOAL_FRACTION = 0.2  # "a small fraction of the full build": our reading, a fifth at most


def run_cases(cases: list[str], plan: dict) -> dict:
    import ingest_benchmark
    import pipeline_overhead
    import scale

    results: dict = {}
    if "ingest" in cases:
        parts = common.scratch("ingest")
        try:
            results["ingest"] = {}
            for rows in plan["ingest"]["rows"]:
                results["ingest"].update(ingest_benchmark.run(
                    parts.url(), [rows], plan["ingest"]["repeat"][rows]))
        finally:
            common.drop(parts)
    if "pipeline" in cases:
        results["pipeline"] = pipeline_overhead.run(plan["pipeline"]["repeat"], plan["pipeline"]["months"])
    if "scale" in cases:
        results["scale"] = scale.run(**plan["scale"])
    return results


# --------------------------------------------------------------------------- the report


def x(ratio: float) -> str:
    return f"{ratio:.2f}x"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def ingest_rows(r: dict) -> tuple[list[str], list[str]]:
    m = common.median
    summary, detail = [], []
    for key in sorted(r, key=int):
        c = r[key]
        rows = c["rows"]
        copy, ours = m(c["copy"]), m(c["ours"])
        ratio = copy / ours
        peer = c.get("to_sql")
        summary.append(
            f"| ingest, one {rows / 1e6:g}M-row file ({c['size_mb']:.0f} MB) | rows/s, median of {len(c['ours'])} "
            f"| {common.fmt_rate(rows, ours)} | {common.fmt_rate(rows, copy)} (`psql \\copy`) "
            f"| {common.fmt_rate(rows, peer) if peer else '-'} (pandas `to_sql`) | {x(ratio)} of `\\copy` "
            f"| >= {GOAL_RATE}x | {verdict(ratio >= GOAL_RATE)} |"
        )
        peak = max(c["peak_rss_mb"])
        if rows == max(int(k) for k in r):
            summary.append(
                f"| ingest, one {rows / 1e6:g}M-row file | peak RSS of the ingest process | {peak:,.0f} MB | - "
                f"| {c.get('to_sql_peak_rss_mb', 0):,.0f} MB (pandas) | - | < {GOAL_RSS_MB:,} MB "
                f"| {verdict(peak < GOAL_RSS_MB)} |"
            )
        detail += [
            f"**{rows:,} rows** ({c['size_mb']:.0f} MB CSV, {c['bad_rows']:,} invalid rows quarantined):",
            "",
            "| | seconds (median) | rows/s | vs `\\copy` | peak RSS | runs (s) |",
            "|---|---:|---:|---:|---:|---|",
            f"| `psql \\copy` (the limit) | {common.fmt_s(copy)} | {common.fmt_rate(rows, copy)} | 1.00x | - "
            f"| {common.runs(c['copy'])} |",
            f"| project path (`ingest_file`: read, normalise, GX validity, COPY, quarantine, audit) "
            f"| {common.fmt_s(ours)} | {common.fmt_rate(rows, ours)} | {x(ratio)} | {peak:,.0f} MB "
            f"| {common.runs(c['ours'])} |",
        ]
        if peer:
            detail.append(f"| pandas `read_csv` + `to_sql` (the naive peer, once) | {common.fmt_s(peer)} "
                          f"| {common.fmt_rate(rows, peer)} | {x(copy / peer)} "
                          f"| {c['to_sql_peak_rss_mb']:,.0f} MB | {common.fmt_s(peer)} |")
        detail += [
            "",
            f"Fixed costs, paid once per task process and not per file: GX context and validity suite "
            f"{common.fmt_s(common.median(c['fixed_seconds']))} s. RSS before the file (imports, GX, one warm-up "
            f"file): {common.median(c['rss_before_mb']):,.0f} MB.",
            "",
        ]
    return summary, detail


def pipeline_rows(p: dict) -> tuple[list[str], list[str]]:
    m = common.median
    airflow = m([r["seconds"] for r in p["airflow"]])
    direct = m([r["seconds"] for r in p["direct"]])
    overhead = airflow - direct
    summary = [
        f"| a 2012 year, 4 feeds ({p['files']} files), empty warehouse to alerts | seconds, median of "
        f"{len(p['airflow'])} | {common.fmt_s(airflow)} (through the DAGs) | {common.fmt_s(direct)} (the same "
        f"work called directly) | - | overhead {common.fmt_s(overhead)} s = {x(overhead / direct)} the work "
        f"| <= 1.00x | {verdict(overhead <= direct)} |"
    ]
    tasks: dict[str, list[float]] = {}
    for r in p["airflow"]:
        for task, seconds in r["tasks"].items():
            tasks.setdefault(task, []).append(seconds)
    phases: dict[str, list[float]] = {}
    for r in p["direct"]:
        for phase, seconds in r["phases"].items():
            phases.setdefault(phase, []).append(seconds)
    in_tasks = m([sum(r["tasks"].values()) for r in p["airflow"]])
    detail = [
        "| | seconds (median) | runs (s) |",
        "|---|---:|---|",
        f"| through Airflow: `runtime.run_once()` (`airflow dags test` ingest_feeds, then build_marts, "
        f"in one process) "
        f"| {common.fmt_s(airflow)} | {common.runs([r['seconds'] for r in p['airflow']])} |",
        f"| - of which inside the tasks (Airflow's own task durations) | {common.fmt_s(in_tasks)} | |",
        f"| - outside the tasks (Airflow's start-up, DAG parsing, the scheduling loop, twice) "
        f"| {common.fmt_s(airflow - in_tasks)} | |",
        f"| directly: one process calling the same task functions (imports included) | {common.fmt_s(direct)} "
        f"| {common.runs([r['seconds'] for r in p['direct']])} |",
        "",
        "Per task (Airflow, median) beside the same step called directly (median):",
        "",
        "| step | Airflow task | direct |",
        "|---|---:|---:|",
    ]
    pairs = [("ingest_social_security_enrollment", "ingest social_security_enrollment"),
             ("ingest_vaccination_coverage", "ingest vaccination_coverage"),
             ("ingest_vegetable_supply", "ingest vegetable_supply"),
             ("ingest_plan_indicators", "ingest plan_indicators"),
             ("alert_data_quality", "alert_data_quality"), ("dbt_build", "dbt build"),
             ("check_attainment", "check_attainment"), ("deliver_alerts", "deliver_alerts")]
    for task, phase in pairs:
        detail.append(f"| {task} | {common.fmt_s(m(tasks.get(task, [])))} | {common.fmt_s(m(phases.get(phase, [])))} |")
    others = sorted(set(tasks) - {t for t, _ in pairs})
    for task in others:
        detail.append(f"| {task} (Airflow only) | {common.fmt_s(m(tasks[task]))} | - |")
    for phase in ("imports", "prepare"):
        detail.append(f"| {phase} (direct only) | - | {common.fmt_s(m(phases.get(phase, [])))} |")
    parse = sorted({r.get("dbt_parse", "?") for r in p["airflow"]})
    detail += [
        "",
        f"Both warehouses ended with the same marts: {p['marts_equal']}; alerts recorded {p['alerts'][0]} "
        f"(Airflow) and {p['alerts'][1]} (direct), each delivered to a local webhook. dbt parse inside the "
        f"DAG's dbt task: {', '.join(parse)} (cosmos keeps dbt's partial-parse state in its cache_dir).",
        "",
    ]
    return summary, detail


def scale_rows(s: dict) -> tuple[list[str], list[str]]:
    m = common.median
    fulls = [s["first_build"], *s["full_refresh"]]
    full = m([b["seconds"] for b in fulls])
    full_models = m([b["models"] for b in fulls])
    new = m([n["build"]["seconds"] for n in s["new_month"]])
    new_models = m([n["build"]["models"] for n in s["new_month"]])
    new_ingest = m([n["ingest_seconds"] for n in s["new_month"]])
    rows = s["load"]["rows"]
    month_rows = s["new_month"][0]["rows"] if s["new_month"] else 0
    summary = [
        f"| ten years of township plan indicators ({rows / 1e6:.1f}M rows): load {s['load']['files']} files "
        f"| seconds | {common.fmt_s(s['load']['seconds'])} ({common.fmt_rate(rows, s['load']['seconds'])} rows/s) "
        f"| - | - | - | - | - |",
        f"| ten years: `dbt build` | seconds, median of {len(fulls)} | - | - | {common.fmt_s(full)} "
        f"(full build) | - | - | - |",
        f"| ten years + one new month ({month_rows:,} rows): ingest + incremental `dbt build` with its data tests "
        f"| seconds, median of {len(s['new_month'])} | {common.fmt_s(new_ingest + new)} | - "
        f"| {common.fmt_s(full)} (full rebuild) | {x((new_ingest + new) / full)} of the rebuild "
        f"| <= {GOAL_FRACTION}x | {verdict((new_ingest + new) / full <= GOAL_FRACTION)} |",
        f"| - of which the models' work (tests and dbt's own overhead excluded) | seconds | "
        f"{common.fmt_s(new_models)} | - | {common.fmt_s(full_models)} | {x(new_models / full_models)} "
        f"| <= {GOAL_FRACTION}x | {verdict(new_models / full_models <= GOAL_FRACTION)} |",
    ]
    for label, entry in ((k, v) for k, v in s["bi"].items() if not k.startswith("_")):
        idx, seq = entry["indexed"], entry["no index scans"]
        summary.append(
            f"| BI at ten years: {label} ({idx['rows']} rows) | ms, median of 20 | {idx['median_ms']:.1f} "
            f"| - | {seq['median_ms']:.0f} (no index) | p95 {idx['p95_ms']:.1f} ms | < {GOAL_BI_MS} ms "
            f"| {verdict(idx['p95_ms'] < GOAL_BI_MS)} |"
        )
    detail = [
        f"{s['months']} monthly files (2012-01 on) of {s['townships']} townships x {s['targets']} targets; "
        f"tables at ten years: " + ", ".join(f"`{k}` {v:,}" for k, v in s.get("table_rows", {}).items()) + ".",
        "",
        "| dbt build | seconds | model work | test work | the four heavy models (s) |",
        "|---|---:|---:|---:|---|",
    ]

    def line(label: str, b: dict) -> str:
        heavy = ", ".join(f"{k.replace('int_plan_indicator_values_', 'int_..._')} {v:.1f}"
                          for k, v in b["heavy_models"].items())
        return (f"| {label} | {common.fmt_s(b['seconds'])} | {common.fmt_s(b['models'])} | "
                f"{common.fmt_s(b['tests'])} | {heavy} |")

    detail.append(line("first build, empty marts", s["first_build"]))
    for i, b in enumerate(s["full_refresh"], 1):
        detail.append(line(f"`--full-refresh` {i} (the naive peer)", b))
    for n in s["new_month"]:
        detail.append(line(f"new month {n['period']} (ingest {common.fmt_s(n['ingest_seconds'])} s)", n["build"]))
    r = s["revision"]
    detail.append(line(f"revision of {r['period']}: {r['rows']:,} rows again (ingest "
                       f"{common.fmt_s(r['ingest_seconds'])} s)", r["build"]))
    detail += [
        "",
        f"The revision is reflected (every revised key has revision_count 1): {r['reflected']}. After the "
        f"incremental builds, a full refresh rebuilt every intermediate and mart table from raw and found them "
        f"equal row for row: {s['incremental_equals_full_refresh']}"
        + (f" (differences: {', '.join(s['differences'])})" if s["differences"] else "") + ".",
        "",
        f"Dashboard queries on `marts.fct_target_attainment` ({s['bi']['_rows_in_mart']:,} rows), 20 timed runs "
        "after 3 warm-ups, client-side (send, execute, fetch); target "
        f"`{s['bi']['_params']['target']}` over {s['bi']['_params']['first'][:7]} to "
        f"{s['bi']['_params']['last'][:7]}, breaches of {s['bi']['_params']['month'][:7]}:",
        "",
        "| query | median | p95 | server (EXPLAIN ANALYZE) | rows | plan | without index scans |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for label, entry in ((k, v) for k, v in s["bi"].items() if not k.startswith("_")):
        idx, seq = entry["indexed"], entry["no index scans"]
        detail.append(f"| {label} | {idx['median_ms']:.1f} ms | {idx['p95_ms']:.1f} ms | {idx['server_ms']:.1f} ms "
                      f"| {idx['rows']} | {'; '.join(idx['plan'])} | {seq['median_ms']:.0f} ms |")
    detail.append("")
    return summary, detail


def render(results: dict, machine: common.Machine, quick: bool, seconds: float) -> str:
    lines = [
        "# Benchmark results" + (" (QUICK smoke run: small data, not for quoting)" if quick else ""),
        "",
        f"Run by `make bench` (`bench/suite.py`) in {seconds / 60:.0f} min. Machine: {machine.describe()}",
    ]
    if machine.other_activity:
        lines.append(f"Other databases with active queries at the end: {', '.join(machine.other_activity)}.")
    lines += [
        "",
        "| case | measure | project | limit | naive peer | ratio | goal | |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    details: list[str] = []
    for name, fn, title in (("ingest", ingest_rows, "Ingest of one feed file"),
                            ("pipeline", pipeline_rows, "A year of four feeds: orchestration overhead"),
                            ("scale", scale_rows, "Ten years of township data: incremental builds and BI latency")):
        if name in results:
            summary, detail = fn(results[name])
            lines += summary
            details += [f"## {title}", "", *detail]
    return "\n".join(lines + ["", *details])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, one repetition: a smoke run")
    parser.add_argument("--cases", nargs="+", choices=["ingest", "pipeline", "scale"],
                        default=["ingest", "pipeline", "scale"])
    args = parser.parse_args()

    from hzwh import settings

    url = settings.warehouse().url(dbname="postgres")
    machine = common.Machine.now(url)
    started = time.perf_counter()
    try:
        results = run_cases(args.cases, QUICK if args.quick else FULL)
    finally:
        dropped = common.drop_scratch_databases(url)
        if dropped:
            print(f"dropped leftover scratch databases: {', '.join(dropped)}")
    machine.finish(url)
    elapsed = time.perf_counter() - started
    name = "quick" if args.quick else "benchmark"
    report = render(results, machine, args.quick, elapsed)
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / f"{name}.md").write_text(report + "\n", encoding="utf-8")
    common.write_json(f"{name}.json", {"machine": machine.__dict__, "seconds": elapsed, "results": results})
    print(report)
    print(f"\nwritten: bench/results/{name}.md, bench/results/{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
