"""The dashboard and the dbt docs site from a real warehouse, the dashboard opened in headless Chromium.

A scratch database gets a generated year of all four feeds (ingested file by file with the progress line
printed before each, as the ingest tasks do), `dbt build` (dbt's Python API), the attainment suite (breach
alerts in ops.alerts), then what the publish_reports DAG does: the dashboard and `dbt docs generate --static`.
The DAG itself is covered by the DagBag tests.

Chromium is Debian's package (`apt-get install -y chromium`; `fonts-wqy-microhei` for legible Chinese in the
screenshot); CHROMIUM names another binary. Every host name is mapped to nowhere, so a chart that needed a
CDN would stay empty.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hzwh import db, settings
from hzwh.demo.generate import generate
from hzwh.feeds.contracts import FEED_NAMES, get_contract
from hzwh.load.ingest import ingest_file
from hzwh.load.landing import discover
from hzwh.report import progress

pytestmark = pytest.mark.integration
RUN_ID = "manual__report_test"
CHARTS = ("fig-headline", "fig-vaccination", "fig-equalisation", "fig-bureaus", "fig-explorer", "fig-status-grid")


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("headless Chromium is needed for the dashboard test: apt-get install -y chromium "
                    "fonts-wqy-microhei (or set CHROMIUM to a Chromium binary)")
    return found


def run_chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", "--hide-scrollbars",
        "--window-size=1400,2400", "--virtual-time-budget=20000", *args, url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@dataclass
class Published:
    url: str
    dashboard: Path
    docs_index: Path
    progress_lines: list[str]
    files: int

    def query(self, statement: str) -> list[tuple]:
        with db.connect(self.url) as conn:
            return conn.execute(statement).fetchall()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Published:
    from dbt.cli.main import dbtRunner

    from hzwh.pipeline import check_attainment
    from hzwh.report.dashboard import publish
    from hzwh.report.docs import generate_dbt_docs

    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, f"hz_report_{os.getpid()}")
    root = tmp_path_factory.mktemp("report_warehouse")
    landing, archive = root / "landing", root / "archive"
    env = {"WAREHOUSE_URL": parts.url(), "LANDING_DIR": str(landing), "ARCHIVE_DIR": str(archive),
           "DATA_DIR": str(root), "PGHOST": parts.host, "PGPORT": str(parts.port), "PGUSER": parts.user,
           "PGPASSWORD": parts.password or "unused", "PGDATABASE": parts.dbname, "GX_ANALYTICS_ENABLED": "false"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("ALERT_WEBHOOK_URL", raising=False)
        db.drop_database(parts)
        db.create_database(parts)
        try:
            with db.connect() as conn:
                db.bootstrap(conn)
                db.ensure_reader_role(conn)
            manifest = generate(landing, faults=True)
            lines = []
            with db.connect() as conn:  # the ingest tasks' loop, with the one progress call per file
                for feed in FEED_NAMES:
                    contract = get_contract(feed)
                    for path in discover(feed, landing):
                        lines.append(progress.show(feed, path, conn=conn, landing=landing, run_id=RUN_ID))
                        ingest_file(conn, contract, path, run_id=RUN_ID, archive_root=archive)
            project = str(settings.DBT_PROJECT_DIR)
            dbt = dbtRunner().invoke([
                "build", "--project-dir", project, "--profiles-dir", project, "--quiet",
                "--target-path", str(root / "dbt-target"), "--log-path", str(root / "dbt-logs"),
            ])
            assert dbt.success, f"dbt build failed: {dbt.exception}"
            check_attainment()
            dashboard = publish()
            docs_index = generate_dbt_docs()
            yield Published(parts.url(), dashboard, docs_index, lines, len(manifest.files))
        finally:
            if not os.environ.get("HZWH_KEEP_TEST_DB"):
                db.drop_database(parts)


# --------------------------------------------------------------------------- reading the rendered DOM


class PlotlyCharts(HTMLParser):
    """For each plotly chart div (by id): the SVG/trace elements rendered inside it, with their classes."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.open: list[tuple[str, int]] = []  # (chart id, depth it started at)
        self.charts: dict[str, list[tuple[str, set[str], dict[str, str]]]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        classes = set(attributes.get("class", "").split())
        for chart, _ in self.open:
            self.charts[chart].append((tag, classes, attributes))
        if tag == "div" and "plotly-graph-div" in classes and attributes.get("id"):
            self.charts[attributes["id"]] = []
            self.open.append((attributes["id"], self.depth))
        if tag not in self.VOID:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.depth -= 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        self.depth -= 1
        while self.open and self.open[-1][1] >= self.depth:
            self.open.pop()


def drawn_traces(elements) -> dict[str, int]:
    """What plotly drew: points and lines of scatter traces, bars, heatmap images."""
    count = {"svg": 0, "points": 0, "lines": 0, "bars": 0, "heatmaps": 0}
    for tag, classes, attributes in elements:
        if tag == "svg" and "main-svg" in classes:
            count["svg"] += 1
        elif tag == "path" and "point" in classes and len(attributes.get("d", "")) > 3:
            count["points"] += 1
        elif tag == "path" and "js-line" in classes and len(attributes.get("d", "")) > 10:
            count["lines"] += 1
        elif tag == "g" and "bars" in classes:
            count["bars"] += 1
        elif tag == "image" and attributes.get("href", attributes.get("xlink:href", "")).startswith("data:image"):
            count["heatmaps"] += 1
    return count


@pytest.fixture(scope="module")
def dom(published, tmp_path_factory) -> str:
    result = run_chromium(published.dashboard.as_uri(), tmp_path_factory.mktemp("chromium-dom"), "--dump-dom")
    assert result.returncode == 0 and "<body" in result.stdout, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def charts(dom) -> dict[str, dict[str, int]]:
    parser = PlotlyCharts()
    parser.feed(dom)
    return {chart: drawn_traces(elements) for chart, elements in parser.charts.items()}


# --------------------------------------------------------------------------- tests


def test_every_chart_renders_with_data(published, charts):
    districts = [c for c in charts if c.startswith("fig-district-")]
    assert set(CHARTS) <= set(charts), sorted(charts)
    assert "fig-district-ss_dibao_topup_ratio" in districts and len(districts) >= 3
    for chart, drawn in charts.items():
        assert drawn["svg"] >= 1, f"{chart}: plotly drew nothing ({drawn})"
        assert drawn["points"] + drawn["lines"] + drawn["bars"] + drawn["heatmaps"] > 0, f"{chart} is empty: {drawn}"
    headline = charts["fig-headline"]
    assert headline["lines"] >= 9 * 2 and headline["points"] >= 9 * 12 - 12, headline  # 9 targets x 12 months
    for heatmap in ("fig-vaccination", "fig-status-grid", *districts):
        assert charts[heatmap]["heatmaps"] >= 1, heatmap
    assert charts["fig-bureaus"]["bars"] >= 1
    assert charts["fig-equalisation"]["lines"] >= 2 and charts["fig-explorer"]["points"] >= 12


def _kpis(dom: str) -> dict[str, int]:
    cards = re.findall(r'<div class="v">(\d+)</div><div class="l">([^<]+)</div>', dom)
    return {label.split()[-1]: int(value) for value, label in cards}


def test_headline_numbers_agree_with_the_marts(published, dom):
    latest = ("with latest as (select target_id, max(month) as month from marts.fct_target_attainment"
              " where is_scope_row group by target_id), now as (select f.target_id, bool_or(f.status = 'breached')"
              " as breached, bool_and(f.status = 'met') as met from marts.fct_target_attainment as f"
              " join latest using (target_id, month) where f.is_scope_row group by f.target_id) ")
    breached = published.query(latest + "select count(*) filter (where breached) from now")[0][0]
    met = published.query(latest + "select count(*) filter (where met) from now")[0][0]
    targets = published.query("select count(*) from marts.dim_target")[0][0]
    rows = published.query("select count(*) from marts.fct_target_attainment where is_scope_row"
                           " and status = 'breached'")[0][0]
    kpis = _kpis(dom)
    assert kpis["monitored"] == targets and kpis["Met"] == met and kpis["Breached"] == breached
    assert kpis["year"] == rows > 0 and breached > 0
    assert kpis["Met"] + kpis["Breached"] + kpis["progress"] + kpis["data"] == targets


def test_the_breach_table_lists_every_breach_with_its_bureau_and_alert(published, dom):
    series = published.query(
        "select count(*), count(*) filter (where last_status = 'breached') from (select target_id, geo_code,"
        " vaccine, (array_agg(status order by month desc))[1] as last_status from marts.fct_target_attainment"
        " where is_scope_row group by 1, 2, 3 having bool_or(status = 'breached')) as s")[0]
    table = dom.split('id="breach-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr( class=\"open\")?>", table.split("<tbody>", 1)[1])
    assert (len(rows), sum(bool(r) for r in rows)) == series
    bureaus = published.query(
        "select distinct b.name_zh, b.name_en from marts.fct_target_attainment as f join marts.dim_bureau as b"
        " on b.bureau_id = f.responsible_bureau where f.is_scope_row and f.status = 'breached'")
    for zh, en in bureaus:
        assert zh in table and en.replace("&", "&amp;") in table
    assert "not recorded" not in table and table.count(" UTC</td>") == len(rows), "each breach has its alert"


def test_the_page_needs_nothing_from_the_network(published):
    page = published.dashboard.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", page)
    assert len(page) > 3_000_000, "plotly.js is embedded"


def test_screenshot(published, tmp_path_factory, capsys, record_property):
    folder = tmp_path_factory.mktemp("screenshots")
    shot = folder / "dashboard.png"
    result = run_chromium(published.dashboard.as_uri(), folder / "profile", f"--screenshot={shot}")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-3000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == (1400, 2400)
    assert shot.stat().st_size > 100_000, "a page of charts, not a blank one"
    record_property("dashboard_screenshot", str(shot))
    with capsys.disabled():
        print(f"\ndashboard screenshot: {shot}\ndashboard: {published.dashboard}")


def test_progress_lines_counted_the_whole_run(published):
    lines = published.progress_lines
    n = published.files
    assert len(lines) == n
    assert re.fullmatch(rf"ingest: {FEED_NAMES[0]} 2012-01 \(1/{n} files, {n - 1} remaining\)", lines[0]), lines[0]
    assert re.fullmatch(rf"ingest: {FEED_NAMES[-1]} 2012-12 \({n}/{n} files, 0 remaining(, ~\d+ s left)?\)",
                        lines[-1]), lines[-1]
    positions = [int(re.search(r"\((\d+)/", line).group(1)) for line in lines]
    assert positions == list(range(1, n + 1))


def test_the_docs_site_is_static_and_carries_the_dashboard_exposure(published):
    index = published.docs_index
    assert index.parent.parent == published.dashboard.parent and index.parent.name == "dbt-docs"
    site = index.read_text(encoding="utf-8")
    assert "monitoring_dashboard" in site and "fct_target_attainment" in site
    assert not re.search(r"<script[^>]+src=[\"']?https?:", site)
    manifest = json.loads((index.parent / "manifest.json").read_text(encoding="utf-8"))
    exposure = manifest["exposures"]["exposure.hz_warehouse.monitoring_dashboard"]
    assert exposure["type"] == "dashboard" and exposure["owner"]["name"] == "Data engineering"
    assert "model.hz_warehouse.fct_target_attainment" in exposure["depends_on"]["nodes"]
    # The exposure's link, relative to the docs site, is the published dashboard.
    assert (index.parent / exposure["url"]).resolve() == published.dashboard.resolve()
    catalog = json.loads((index.parent / "catalog.json").read_text(encoding="utf-8"))
    assert "model.hz_warehouse.fct_target_attainment" in catalog["nodes"]


def test_every_mart_column_is_described_in_the_warehouse(published):
    # persist_docs writes the yml descriptions as comments: a column the yml forgot has none.
    undescribed = published.query(
        "select c.table_name || '.' || c.column_name from information_schema.columns as c"
        " where c.table_schema = 'marts' and coalesce(col_description(format('%I.%I', c.table_schema,"
        " c.table_name)::regclass, c.ordinal_position), '') = '' order by 1")
    assert published.query("select count(*) from information_schema.columns where table_schema = 'marts'")[0][0]
    assert undescribed == []
