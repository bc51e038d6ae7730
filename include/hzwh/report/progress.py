"""Progress of long work a person runs by hand, e.g. a full-year backfill through `python -m hzwh run`.

Before each file, the ingest tasks print one line such as

    ingest: vaccination_coverage 2012-07 (31/48 files, 17 remaining, ~40 s left)

which feed and month is being loaded, its position among all the files of
this run, and how many are still waiting after it. Nothing is kept in memory
between calls, so the count is right across the feed tasks of one DAG run,
however they are scheduled, and after a retry:

- done: the files of this DAG run already in ops.file_loads (loaded,
  rejected or duplicate; matched on dag_run_id);
- waiting: the files still in the landing folder, all feeds (a file leaves
  the landing folder once it is loaded, so this includes the current one);
- position = done + 1, total = done + waiting, remaining = waiting - 1;
- the time left, once a few files are done: the run's time per file so far
  (from ops.file_loads.received_at) times the files still waiting.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from hzwh.feeds.contracts import FEED_NAMES
from hzwh.load.landing import discover

log = logging.getLogger(__name__)

# Estimate the time left only once this many files of the run are done.
MIN_FILES_FOR_ESTIMATE = 3


@dataclass(frozen=True)
class Progress:
    stage: str
    feed: str
    period: str | None
    file_name: str
    position: int
    total: int
    remaining: int
    seconds_left: float | None = None

    def line(self) -> str:
        what = self.period or self.file_name
        left = f", {_duration(self.seconds_left)} left" if self.seconds_left is not None else ""
        counts = f"{self.position}/{self.total} files, {self.remaining} remaining{left}"
        return f"{self.stage}: {self.feed} {what} ({counts})"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"~{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"~{round(seconds / 60)} min"
    return f"~{seconds / 3600:.1f} h"


def _period(feed: str, file_name: str) -> str | None:
    from hzwh.feeds.reader import FileRejected, parse_file_name

    try:
        return parse_file_name(file_name, feed).period
    except FileRejected:
        return None  # a misnamed file: it is quarantined; the line shows its name instead


def waiting_files(landing: Path | None = None) -> int:
    """Files waiting in the landing folder, over every feed."""
    return sum(len(discover(feed, landing)) for feed in FEED_NAMES)


def _done(conn: psycopg.Connection, run_id: str | None, since: datetime | None) -> tuple[int, float | None]:
    """Files of this run already recorded, and the seconds since the first of them was received."""
    if run_id is None and since is None:
        return 0, None
    # Autocommit or not, a transaction of its own: no transaction is left open on the ingest connection.
    with conn.transaction():
        count, elapsed = conn.execute(
            "select count(*), extract(epoch from clock_timestamp() - min(received_at))::float8"
            " from ops.file_loads where (%(run_id)s::text is not null and dag_run_id = %(run_id)s)"
            " or (%(run_id)s::text is null and received_at >= %(since)s)",
            {"run_id": run_id, "since": since},
        ).fetchone()
    return int(count), elapsed


def progress(
    feed: str,
    file_name: str,
    *,
    conn: psycopg.Connection,
    landing: Path | None = None,
    run_id: str | None = None,
    since: datetime | None = None,
    stage: str = "ingest",
) -> Progress:
    """Where a run stands as it starts on `file_name` (still in the landing folder, not yet in ops.file_loads).

    Files count as this run's by `run_id` (ops.file_loads.dag_run_id) or, without one, by `since`.
    """
    done, elapsed = _done(conn, run_id, since)
    waiting = max(waiting_files(landing), 1)  # the current file is waiting, even if it moved meanwhile
    seconds_left = None
    if done >= MIN_FILES_FOR_ESTIMATE and elapsed is not None and elapsed > 0:
        seconds_left = elapsed / done * waiting
    return Progress(stage, feed, _period(feed, file_name), file_name, done + 1, done + waiting, waiting - 1,
                    seconds_left)


def progress_line(feed: str, file_name: str, **kwargs) -> str:
    """The line for `progress(...)`: `ingest: vaccination_coverage 2012-07 (31/48 files, 17 remaining)`."""
    return progress(feed, file_name, **kwargs).line()


def show(feed: str, path: Path | str, **kwargs) -> str:
    """Print the progress line (stdout: `airflow dags test` echoes it; a worker keeps it in the task log).

    Progress is advisory: if it cannot be worked out, the load goes on without it.
    """
    try:
        line = progress_line(feed, Path(path).name, **kwargs)
    except Exception as exc:  # noqa: BLE001 - never fail a load over a progress line
        log.warning("no progress line for %s: %s", path, exc)
        return ""
    print(line, file=sys.stdout, flush=True)
    return line
