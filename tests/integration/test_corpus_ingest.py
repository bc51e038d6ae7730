"""The corpus of malformed and awkward feed files (tests/corpus) through ingestion, on the real local PostgreSQL.

Every file of tests/corpus/<feed>/ is delivered, in the order of tests/corpus/expected.yaml, into a
landing folder under tmp_path; `ingest_feed` then runs once per feed with landing and archive inside
the sandbox, against a scratch database. Each file is then checked against what a careful data
engineer wants (expected.yaml): its status, its row accounting, the reason a person reads, the
quarantined rows with their rules, and the exact values that reached raw.<feed>. Around it: nothing
was read or written outside the sandbox, SQL and formulas in cells were stored, never run, and a
revision keeps both versions.

    .venv/bin/python -m pytest -q tests/integration/test_corpus_ingest.py -m integration
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from hzwh import db, settings
from hzwh.feeds.contracts import FEED_NAMES, get_contract
from hzwh.feeds.reader import parse_file_name
from hzwh.load.ingest import FileOutcome, ingest_feed

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CASES: list[dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))["files"]
BY_FILE = {case["file"]: case for case in CASES}
TIME_BUDGET_S = 30
LINK = "plan_indicators_201211_link.csv"
FOLDER = "plan_indicators_201211_folder.csv"
SECRET = "period,target_id,geo_code,value,reported_by\n2012-11,emp_urban_new_jobs,330100,1,outside landing\n"


def _split(relative: str) -> tuple[str, str]:
    feed, name = relative.split("/", 1)
    return feed, name


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def _beside(root: Path) -> set[str]:
    """Everything in the folder that holds `root`, except `root` and what is inside it."""
    return {p for p in _tree(root.parent) if p != root.name and not p.startswith(f"{root.name}{os.sep}")}


@dataclass
class CorpusRun:
    url: str
    root: Path
    landing: Path
    archive: Path
    decoys: list[Path]
    outcomes: dict[tuple[str, str], FileOutcome]
    loads: dict[tuple[str, str], dict]
    seconds: float
    outside_before: set[str] = field(default_factory=set)
    outside_after: set[str] = field(default_factory=set)

    def query(self, statement: str | sql.Composable, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(statement, params).fetchall()


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory) -> Iterator[CorpusRun]:
    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, f"hz_test_corpus_{os.getpid()}")
    root = tmp_path_factory.mktemp("corpus_ingest")
    landing, archive = root / "sandbox" / "landing", root / "sandbox" / "archive"
    # The configured defaults point at decoys: a code path that ignored landing=/archive_root= would show.
    decoys = [root / "default_data", root / "default_landing", root / "default_archive"]
    outside_before = _beside(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_URL", parts.url())
        mp.setenv("DATA_DIR", str(decoys[0]))
        mp.setenv("LANDING_DIR", str(decoys[1]))
        mp.setenv("ARCHIVE_DIR", str(decoys[2]))
        db.drop_database(parts)
        db.create_database(parts)
        try:
            start_ns = time.time_ns() - 10**12
            for i, case in enumerate(CASES):  # delivery order = mtime order = the order ingestion takes
                feed, name = _split(case["file"])
                target = landing / feed / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(CORPUS / case["file"], target)
                os.utime(target, ns=(start_ns + i * 10**9, start_ns + i * 10**9))
            # Not deliveries: a link to a file outside landing, and a folder named like a file. Never followed.
            secret = root / "outside" / "secret.csv"
            secret.parent.mkdir()
            secret.write_text(SECRET, encoding="utf-8")
            (landing / "plan_indicators" / LINK).symlink_to(secret)
            (landing / "plan_indicators" / FOLDER).mkdir()
            started = time.perf_counter()
            outcomes = {}
            for feed in FEED_NAMES:
                for outcome in ingest_feed(feed, landing=landing, archive_root=archive, run_id="corpus"):
                    outcomes[(outcome.feed, outcome.file_name)] = outcome
            seconds = time.perf_counter() - started
            outside_after = _beside(root)
            with psycopg.connect(parts.url()) as conn:
                cur = conn.execute("select * from ops.file_loads order by load_id")
                names = [d.name for d in cur.description]
                loads = {(r["feed"], r["file_name"]): r for r in (dict(zip(names, row, strict=True)) for row in cur)}
            yield CorpusRun(
                parts.url(), root, landing, archive, decoys, outcomes, loads, seconds, outside_before, outside_after
            )
        finally:
            if not os.environ.get("HZWH_KEEP_TEST_DB"):
                db.drop_database(parts)


def _expected_cell(kind: str, value: object) -> object:
    if value is None:
        return None
    if kind == "integer":
        return int(value)
    if kind == "decimal":
        return Decimal(str(value))
    return str(value)


def _raw_rows(run: CorpusRun, feed: str, load_id: int) -> list[tuple]:
    contract = get_contract(feed)
    statement = sql.SQL("select {} from {} where load_id = %s").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in contract.column_names), sql.Identifier("raw", feed)
    )
    return run.query(statement, (load_id,))


def _check_counts(case: dict, load: dict, outcome: FileOutcome) -> list[str]:
    """Exact counts; a difference the expectations record as a known issue is returned, not failed."""
    known = case.get("known_issue", {})
    deferred = []
    for name in ("rows_delivered", "rows_loaded", "rows_quarantined"):
        assert getattr(outcome, name) == load[name], f"{name}: FileOutcome and ops.file_loads disagree"
        if load[name] == case[name]:
            continue
        assert known.get(name) == load[name], f"{name}: wanted {case[name]}, got {load[name]}"
        deferred.append(f"{name} is {load[name]}, wanted {case[name]}")
    if case["outcome"] != "duplicate":
        assert load["rows_loaded"] + load["rows_quarantined"] == load["rows_delivered"]
    return deferred


def _check_quarantine(run: CorpusRun, case: dict, load: dict) -> None:
    name = load["file_name"]
    rows = {
        r[0]: r[1:]
        for r in run.query(
            "select row_number, reason, issues, record, feed, file_name from ops.quarantined_rows where load_id = %s",
            (load["load_id"],),
        )
    }
    wanted = case.get("quarantined") or {}
    assert sorted(rows) == sorted(wanted), "quarantined rows"
    if case["outcome"] == "loaded":
        assert len(rows) == load["rows_quarantined"]
    for row_number, expect in wanted.items():
        reason, issues, record, feed, file_name = rows[row_number]
        assert (feed, file_name) == (load["feed"], name)
        assert reason.startswith(f"{name} row {row_number}: "), reason
        for part in expect.get("reason", []):
            assert part in reason, f"row {row_number}: {part!r} not in {reason!r}"
        assert sorted(f"{i['column']} {i['rule']}" for i in issues) == sorted(expect["issues"]), reason
        assert all(i["message"] and i["message"] in reason for i in issues), "each issue's message is in the reason"
        for column, value in expect.get("record", {}).items():
            assert record[column] == value, f"row {row_number}: record[{column!r}] is {record.get(column)!r}"


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_each_file_gets_the_outcome_a_data_engineer_wants(corpus_run: CorpusRun, case: dict) -> None:
    feed, name = _split(case["file"])
    delivered = (CORPUS / case["file"]).read_bytes()
    if case["outcome"] == "ignored":
        assert (feed, name) not in corpus_run.loads and (feed, name) not in corpus_run.outcomes
        assert (corpus_run.landing / feed / name).read_bytes() == delivered, "left in landing, untouched"
        return

    load, outcome = corpus_run.loads[(feed, name)], corpus_run.outcomes[(feed, name)]
    assert load["status"] == outcome.status == case["outcome"], load["reason"]
    deferred = _check_counts(case, load, outcome)
    assert load["sha256"] == hashlib.sha256(delivered).hexdigest()
    assert not (corpus_run.landing / feed / name).exists(), "a processed file leaves landing"

    if case["outcome"] == "rejected":
        assert load["reason"].startswith(f"{name}: ") and outcome.reason == load["reason"]
        for part in case["reason"]:
            assert part in load["reason"], f"{part!r} not in {load['reason']!r}"
        whole = corpus_run.query(
            "select reason from ops.quarantine where load_id = %s and row_number is null", (load["load_id"],)
        )
        assert whole == [(f"whole file rejected: {load['reason']}",)]
    elif case["outcome"] == "duplicate":
        original = next(v for v in corpus_run.loads.values() if v["sha256"] == load["sha256"] and v is not load)
        assert load["duplicate_of"] == original["load_id"] and original["status"] != "duplicate"
        assert load["archive_path"] is None
    else:
        assert load["reason"] is None
        assert load["file_period"] == parse_file_name(name, feed).period
        for key in ("encoding", "blank_lines", "extra_columns"):
            if key in case:
                assert load[key] == case[key], key

    if case["outcome"] != "duplicate":
        archived = Path(load["archive_path"]).resolve()
        assert archived.is_relative_to(corpus_run.archive.resolve()), archived
        assert archived.read_bytes() == delivered, "the archive keeps the delivered bytes"

    _check_quarantine(corpus_run, case, load)

    contract = get_contract(feed)
    raw = _raw_rows(corpus_run, feed, load["load_id"])
    assert len(raw) == (load["rows_loaded"] if case["outcome"] == "loaded" else 0)
    if "raw" in case:
        kinds = [c.kind for c in contract.columns]
        wanted = [tuple(_expected_cell(k, v) for k, v in zip(kinds, row, strict=True)) for row in case["raw"]]
        assert Counter(raw) == Counter(wanted), f"raw.{feed} rows of this file"

    if deferred:
        pytest.xfail(f"known issue ({case['known_issue']['note']}): {'; '.join(deferred)}")


def test_the_corpus_is_complete_and_spread_over_every_feed() -> None:
    on_disk = {str(p.relative_to(CORPUS)) for feed in FEED_NAMES for p in (CORPUS / feed).iterdir() if p.is_file()}
    assert on_disk == set(BY_FILE), "every corpus file has expectations, and every expectation a file"
    assert len(CASES) == len(BY_FILE) >= 40
    for feed in FEED_NAMES:
        outcomes = {c["outcome"] for c in CASES if c["file"].startswith(f"{feed}/")}
        assert {"loaded", "rejected"} <= outcomes, feed
    assert all(c.get("why") for c in CASES)


def test_the_generated_files_are_what_make_corpus_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path in module.build(tmp_path):
        relative = str(path.relative_to(tmp_path))
        assert relative in BY_FILE, relative
        assert path.read_bytes() == (CORPUS / relative).read_bytes(), f"{relative}: run tests/corpus/make_corpus.py"


def test_nothing_is_read_or_written_outside_landing_and_archive(corpus_run: CorpusRun) -> None:
    # Landing: emptied, except the dot file nobody may touch.
    left = {str(p.relative_to(corpus_run.landing)) for p in corpus_run.landing.rglob("*")}
    ignored = {c["file"] for c in CASES if c["outcome"] == "ignored"}
    assert left == set(FEED_NAMES) | ignored | {f"plan_indicators/{LINK}", f"plan_indicators/{FOLDER}"}
    assert {p.name for p in corpus_run.landing.iterdir()} == set(FEED_NAMES)
    # Archive: <feed>/<sha[:2]>/<sha>__<safe name>, one per loaded or rejected file, nothing else.
    archived = [p for p in corpus_run.archive.rglob("*") if p.is_file()]
    expected = {
        (v["feed"], v["sha256"]) for v in corpus_run.loads.values() if v["status"] in ("loaded", "rejected")
    }
    assert {(p.relative_to(corpus_run.archive).parts[0], p.name.split("__")[0]) for p in archived} == expected
    for path in archived:
        feed, prefix, file_name = path.relative_to(corpus_run.archive).parts
        assert feed in FEED_NAMES and file_name.startswith(prefix) and "/" not in file_name
        assert path.resolve().is_relative_to(corpus_run.archive.resolve()) and not path.is_symlink()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == file_name.split("__")[0]
    # The sandbox holds only landing and archive; the configured defaults were never created.
    assert {p.name for p in (corpus_run.root / "sandbox").iterdir()} == {"landing", "archive"}
    assert not any(d.exists() for d in corpus_run.decoys)
    assert {p.name for p in corpus_run.root.iterdir()} == {"sandbox", "outside"}
    assert [p.name for p in (corpus_run.root / "outside").iterdir()] == ["secret.csv"]
    # Nothing appeared beside the test's own folder while ingesting (a `..` in a name would land there).
    assert corpus_run.outside_after == corpus_run.outside_before


def test_sql_and_formulas_in_cells_were_stored_never_executed(corpus_run: CorpusRun) -> None:
    tables = {r[0] for r in corpus_run.query("select schemaname || '.' || tablename from pg_tables")}
    assert {"ops.file_loads", "ops.quarantined_rows", *(f"raw.{f}" for f in FEED_NAMES)} <= tables
    assert "raw.x" not in tables
    processed = [c for c in CASES if c["outcome"] != "ignored"]
    assert corpus_run.query("select count(*) from ops.file_loads")[0][0] == len(processed)
    quarantined = sum(len(c.get("quarantined") or {}) for c in processed)
    assert corpus_run.query("select count(*) from ops.quarantined_rows")[0][0] == quarantined
    stored = {r[0] for r in corpus_run.query("select reported_by from raw.plan_indicators")}
    assert {"=cmd|' /C calc'!A0", "'; drop table raw.x; --", "Robert'); DROP TABLE ops.file_loads;--", "\\."} <= stored
    extra = corpus_run.loads[("vaccination_coverage", "vaccination_coverage_201208_sql_injection.csv")]
    assert extra["extra_columns"] == ['x");_drop_table_ops.file_loads;_']


def test_a_revision_keeps_both_versions_and_the_later_one_wins(corpus_run: CorpusRun) -> None:
    revision = next(c for c in CASES if c.get("revises"))
    first = corpus_run.loads[_split(revision["revises"])]
    second = corpus_run.loads[_split(revision["file"])]
    assert first["status"] == second["status"] == "loaded" and second["load_id"] > first["load_id"]
    versions = corpus_run.query(
        "select load_id, vaccinated_children from raw.vaccination_coverage"
        " where period = '2012-03' and district_code = '330103' and vaccine = 'BCG' order by load_id"
    )
    assert versions == [(first["load_id"], 2500), (second["load_id"], 2880)]


def test_every_row_ends_in_exactly_one_place(corpus_run: CorpusRun) -> None:
    for feed in FEED_NAMES:
        loads = [v for v in corpus_run.loads.values() if v["feed"] == feed]
        in_raw = corpus_run.query(sql.SQL("select count(*) from {}").format(sql.Identifier("raw", feed)))[0][0]
        assert in_raw == sum(v["rows_loaded"] for v in loads if v["status"] == "loaded"), feed
    for load in corpus_run.loads.values():
        if load["status"] != "duplicate":
            assert load["rows_loaded"] + load["rows_quarantined"] == load["rows_delivered"], load["file_name"]


def test_the_corpus_ingests_quickly(corpus_run: CorpusRun) -> None:
    assert corpus_run.seconds < TIME_BUDGET_S


def test_links_and_folders_in_landing_are_never_followed(corpus_run: CorpusRun) -> None:
    link = corpus_run.landing / "plan_indicators" / LINK
    assert link.is_symlink() and (corpus_run.landing / "plan_indicators" / FOLDER).is_dir()
    assert not {LINK, FOLDER} & {name for _, name in corpus_run.loads}
    assert (corpus_run.root / "outside" / "secret.csv").read_text(encoding="utf-8") == SECRET
    assert not corpus_run.query("select 1 from raw.plan_indicators where reported_by = 'outside landing'")


def test_the_corpus_through_the_real_dag_gets_the_same_outcomes(corpus_run: CorpusRun, tmp_path: Path) -> None:
    """The whole corpus again, delivered to a fresh warehouse and run by Airflow (`airflow dags test
    ingest_feeds`): every file ends as it did above, and each quarantine raises one data-quality alert."""
    from hzwh import runtime

    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, f"hz_test_corpus_dag_{os.getpid()}")
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    start_ns = time.time_ns() - 10**12
    for i, case in enumerate(CASES):
        feed, name = _split(case["file"])
        target = landing / feed / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / case["file"], target)
        os.utime(target, ns=(start_ns + i * 10**9, start_ns + i * 10**9))
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"WAREHOUSE_URL": parts.url(), "LANDING_DIR": str(landing), "ARCHIVE_DIR": str(archive),
                           "DATA_DIR": str(tmp_path)}.items():
            mp.setenv(key, value)
        mp.delenv("ALERT_WEBHOOK_URL", raising=False)
        db.drop_database(parts)
        try:
            env = runtime.prepare()
            result = runtime.test_dag("ingest_feeds", env, echo=False)
            assert result.state == "success", result.log_tail()
            with psycopg.connect(parts.url()) as conn:
                cur = conn.execute(
                    "select feed, file_name, status, rows_delivered, rows_loaded, rows_quarantined, reason"
                    " from ops.file_loads order by load_id")
                through_dag = {(r[0], r[1]): r[2:] for r in cur.fetchall()}
                alerts = conn.execute("select count(*) from ops.alerts where kind = 'data_quality'").fetchone()[0]
        finally:
            db.drop_database(parts)
    def same_but_load_ids(reason: str | None) -> str | None:  # feeds may run in another order under Airflow
        return None if reason is None else re.sub(r"load \d+", "load N", reason)

    direct = {key: (load["status"], load["rows_delivered"], load["rows_loaded"], load["rows_quarantined"],
                    same_but_load_ids(load["reason"])) for key, load in corpus_run.loads.items()}
    through_dag = {key: (*values[:4], same_but_load_ids(values[4])) for key, values in through_dag.items()}
    assert through_dag == direct
    assert alerts == sum(1 for s, _, _, q, _ in direct.values() if s == "rejected" or (s == "loaded" and q))
