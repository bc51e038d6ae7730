"""`airflow dags test` for several DAGs in one process: `python -m hzwh.dags_test <logical date> <dag_id>...`.

Airflow's own command (its CLI parser and `dags test` function), run once per
DAG in order, stopping after a run that failed. One process instead of one per
DAG pays Airflow's start-up once - its imports, configuration, the in-process
execution API, and the task libraries (GX, dbt, cosmos) imported by the first
run that needs them: ≈ 10 s less per `python -m hzwh run` on 2 cores
(bench/results/benchmark.md).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    from airflow.cli.cli_parser import get_parser

    logical_date, dag_ids = argv[0], argv[1:]
    parser = get_parser()
    for dag_id in dag_ids:
        args = parser.parse_args(["dags", "test", dag_id, logical_date])
        try:
            args.func(args)
        except SystemExit as exc:  # `dags test` exits when the run failed: the later DAGs would read stale data
            print(f"{dag_id}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
