"""Command line: `python -m hzwh run | demo | summary | init | env`.

`run` is the command of FEEDS.md §7: everything in LANDING_DIR through the real
Airflow DAGs once; exit 0 when the pipeline ran (whatever the city's
attainment), non-zero with the reason when it failed.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys

from hzwh import settings


def _run(args: argparse.Namespace) -> int:
    from hzwh import runtime, summary

    results = runtime.run_once()
    failed = [r for r in results if r.state != "success"]
    print("\n" + "=" * 78)
    for r in results:
        print(f"DAG {r.dag_id}: run {r.run_id} {r.state}")
    if failed or len(results) < len(runtime.DAG_IDS):
        bad = failed[0] if failed else results[-1]
        print(f"\nThe pipeline failed: DAG {bad.dag_id} ended '{bad.state}'. The task logs above say why; "
              f"they are also in {bad.log_path}.", file=sys.stderr)
        return 1
    print("=" * 78)
    print(summary.render())
    from hzwh import report

    print(report.where_to_look())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from hzwh import db
    from hzwh.demo.generate import generate

    if args.reset:
        parts = settings.warehouse()
        print(f"Resetting the demo warehouse {parts.dbname} and the landing/archive folders")
        try:
            db.drop_database(parts)
        except Exception as exc:  # noqa: BLE001 - no server yet: ensure_warehouse explains
            print(f"  (could not drop: {exc})")
        for folder in (settings.landing_dir(), settings.archive_dir()):
            shutil.rmtree(folder, ignore_errors=True)
    manifest = generate(settings.landing_dir(), year=args.year, faults=True)
    print(f"Generated {len(manifest.files)} feed files for {args.year} in {settings.landing_dir()}")
    return _run(args)


def _summary(args: argparse.Namespace) -> int:
    from hzwh import summary

    print(summary.render())
    return 0


def _init(args: argparse.Namespace) -> int:
    from hzwh import runtime

    runtime.prepare()
    print(f"warehouse ready: {settings.warehouse().url()}")
    return 0


def _export_suites(args: argparse.Namespace) -> int:
    from hzwh.validation.export import export

    for path in export():
        print(f"wrote {path}")
    return 0


def _env(args: argparse.Namespace) -> int:
    """Shell exports for running `airflow` or `dbt` by hand against the same warehouse."""
    from hzwh import runtime

    parts = settings.warehouse()
    env = runtime.airflow_env({})
    env.update({"PGHOST": parts.host, "PGPORT": str(parts.port), "PGUSER": parts.user,
                "PGDATABASE": parts.dbname, "WAREHOUSE_URL": parts.url()})
    if parts.password:
        env["PGPASSWORD"] = parts.password
    for key, value in sorted(env.items()):
        print(f"export {key}={value!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hzwh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run everything in LANDING_DIR through the Airflow DAGs once").set_defaults(fn=_run)
    demo = sub.add_parser("demo", help="generate a year of sample feeds, then run")
    demo.add_argument("--reset", action="store_true", help="drop the warehouse database and landing/archive first")
    demo.add_argument("--year", type=int, default=2012)
    demo.set_defaults(fn=_demo)
    sub.add_parser("summary", help="print what loaded, what was quarantined, what breached").set_defaults(fn=_summary)
    sub.add_parser("init", help="create the warehouse, its schemas and Airflow's database").set_defaults(fn=_init)
    sub.add_parser("env", help="print exports for running airflow/dbt by hand").set_defaults(fn=_env)
    sub.add_parser("export-suites", help="write the generated GX suites to expectations/").set_defaults(
        fn=_export_suites
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("HZWH_LOG_LEVEL", "WARNING"))
    try:
        return args.fn(args)
    except Exception as exc:  # noqa: BLE001 - the CLI's job is to say why, briefly
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
