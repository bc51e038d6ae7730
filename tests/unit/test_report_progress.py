"""The progress line of a long run: feed and month, position among the run's files, how many remain."""

from __future__ import annotations

from contextlib import contextmanager

from hzwh.feeds.contracts import FEED_NAMES
from hzwh.report import progress

VAX = "vaccination_coverage"


class FakeConnection:
    """Answers the ops.file_loads query with (files done in this run, seconds since the first one)."""

    def __init__(self, done: int, elapsed: float | None = None) -> None:
        self.answer = (done, elapsed if done else None)
        self.calls: list[tuple[str, dict, int]] = []
        self.depth = 0

    @contextmanager
    def transaction(self):
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def execute(self, statement, params):
        self.calls.append((statement, params, self.depth))
        answer = self.answer

        class Result:
            def fetchone(self):
                return answer

        return Result()


def land(landing, feed: str, months, suffix: str = "") -> list:
    folder = landing / feed
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for month in months:
        path = folder / f"{feed}_2012{month:02d}{suffix}.csv"
        path.write_text("period\n", encoding="utf-8")
        paths.append(path)
    return paths


def test_a_year_of_four_feeds_part_way_through(tmp_path):
    # 48 files in the run: 30 done (gone from the landing folder), 18 waiting, July's vaccination file is next.
    waiting = land(tmp_path, VAX, range(7, 13))
    for feed in FEED_NAMES:
        if feed != VAX:
            waiting += land(tmp_path, feed, range(9, 13))
    assert len(waiting) == 18
    conn = FakeConnection(done=30)
    line = progress.progress_line(VAX, waiting[0].name, conn=conn, landing=tmp_path, run_id="manual__1")
    assert line == "ingest: vaccination_coverage 2012-07 (31/48 files, 17 remaining)"
    statement, params, depth = conn.calls[0]
    assert "ops.file_loads" in statement and params["run_id"] == "manual__1"
    assert depth == 1, "the query runs in a transaction of its own, never leaving one open on the ingest connection"


def test_time_left_once_a_few_files_are_done(tmp_path):
    waiting = land(tmp_path, VAX, range(3, 13))  # 10 waiting
    conn = FakeConnection(done=4, elapsed=8.0)  # 2 s a file
    p = progress.progress(VAX, waiting[0].name, conn=conn, landing=tmp_path, run_id="r")
    assert (p.position, p.total, p.remaining) == (5, 14, 9)
    assert p.seconds_left == 20.0
    assert p.line() == "ingest: vaccination_coverage 2012-03 (5/14 files, 9 remaining, ~20 s left)"
    for per_file, left in ((60.0, "~10 min left"), (600.0, "~1.7 h left")):
        slow = FakeConnection(done=4, elapsed=4 * per_file)
        assert left in progress.progress_line(VAX, waiting[0].name, conn=slow, landing=tmp_path, run_id="r")
    few = FakeConnection(done=2, elapsed=4.0)
    assert "left" not in progress.progress_line(VAX, waiting[0].name, conn=few, landing=tmp_path, run_id="r")


def test_first_and_last_file(tmp_path):
    waiting = land(tmp_path, VAX, [1, 2, 3])
    first = progress.progress_line(VAX, waiting[0].name, conn=FakeConnection(0), landing=tmp_path, run_id="r")
    assert first == "ingest: vaccination_coverage 2012-01 (1/3 files, 2 remaining)"
    for path in waiting[:2]:
        path.unlink()
    last = progress.progress_line(VAX, waiting[2].name, conn=FakeConnection(2), landing=tmp_path, run_id="r")
    assert last == "ingest: vaccination_coverage 2012-03 (3/3 files, 0 remaining)"


def test_a_misnamed_file_is_shown_by_name_and_hidden_files_do_not_count(tmp_path):
    (tmp_path / VAX).mkdir()
    odd = tmp_path / VAX / "coverage july.csv"
    odd.write_text("x", encoding="utf-8")
    (tmp_path / VAX / ".partial.csv").write_text("x", encoding="utf-8")
    line = progress.progress_line(VAX, odd.name, conn=FakeConnection(0), landing=tmp_path, run_id="r")
    assert line == "ingest: vaccination_coverage coverage july.csv (1/1 files, 0 remaining)"


def test_without_a_run_id_nothing_is_queried(tmp_path):
    waiting = land(tmp_path, VAX, [5, 6])
    conn = FakeConnection(7)
    line = progress.progress_line(VAX, waiting[0].name, conn=conn, landing=tmp_path)
    assert line == "ingest: vaccination_coverage 2012-05 (1/2 files, 1 remaining)" and conn.calls == []


def test_show_prints_the_line_and_never_fails_a_load(tmp_path, capsys):
    waiting = land(tmp_path, VAX, [8])
    line = progress.show(VAX, waiting[0], conn=FakeConnection(0), landing=tmp_path, run_id="r")
    assert capsys.readouterr().out.strip() == line == "ingest: vaccination_coverage 2012-08 (1/1 files, 0 remaining)"

    class Broken(FakeConnection):
        def execute(self, statement, params):
            raise RuntimeError("connection lost")

    assert progress.show(VAX, waiting[0], conn=Broken(0), landing=tmp_path, run_id="r") == ""
    assert capsys.readouterr().out == ""
