"""The dashboard's logic on a small hand-made warehouse: KPIs, breach series, attainment index, the page itself."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from hzwh.report import dashboard
from hzwh.report.data import ReportData
from hzwh.report.labels import GeoNames, fmt_value, worst_status

JAN, FEB, MAR = date(2012, 1, 1), date(2012, 2, 1), date(2012, 3, 1)
MEDICAL = "ss_resident_medical_enrollment_rate"
DIBAO = "ss_dibao_topup_ratio"
JOBS = "emp_urban_new_jobs"
VAX = "health_nip_vaccination_rate"
NEVER = "edu_never_reported"

TARGET_COLUMNS = ["target_id", "section", "metric_zh", "metric_en", "comparator", "target_value", "unit", "scope",
                  "measure_kind", "reporting_frequency", "feed", "responsible_bureau", "deadline"]
ATTAINMENT_COLUMNS = ["target_id", "geo_code", "geo_level", "vaccine", "month", "actual_value", "target_value",
                      "comparator", "status", "is_scope_row", "expected_to_date", "projected_year_end",
                      "pace_status", "responsible_bureau"]


def row(target_id, geo, level, month, actual, target, status, scope=True, vaccine=None, comparator=">=",
        bureau="hrss", expected=None):
    return (target_id, geo, level, vaccine, month, actual, target, comparator, status, scope, expected, None,
            None, bureau)


@pytest.fixture
def data() -> ReportData:
    targets = pd.DataFrame([
        (MEDICAL, "二(二)", "城乡居民医疗保险参保率", "Resident medical enrolment rate", ">=", 0.95, "ratio", "city",
         "level", "monthly", "social_security_enrollment", "hrss", date(2012, 12, 31)),
        (DIBAO, "二(二)", "低保补差比例", "Dibao top-up ratio", ">=", 0.5, "ratio", "each_district", "level",
         "monthly", "plan_indicators", "civil_affairs", date(2012, 12, 31)),
        (JOBS, "二(一)", "城镇新增就业", "New urban jobs", ">=", 186700, "persons", "city", "cumulative", "monthly",
         "plan_indicators", "hrss", date(2012, 12, 31)),
        (VAX, "二(五)", "免疫规划疫苗接种率", "NIP vaccination rate", ">=", 0.9, "ratio", "each_district", "level",
         "monthly", "vaccination_coverage", "health", date(2012, 12, 31)),
        (NEVER, "二(三)", "从未报送", "Never reported", ">=", 1, "items", "city", "level", "annual",
         "plan_indicators", "education", date(2012, 12, 31)),
    ], columns=TARGET_COLUMNS)
    rows = [
        # City medical rate: breached in January and February, met in March (recovered).
        row(MEDICAL, "330100", "city", JAN, 0.94, 0.95, "breached"),
        row(MEDICAL, "330100", "city", FEB, 0.945, 0.95, "breached"),
        row(MEDICAL, "330100", "city", MAR, 0.96, 0.95, "met"),
        # Its district figures are shown but do not count.
        row(MEDICAL, "330102", "district", MAR, 0.90, 0.95, "breached", scope=False),
        # Dibao per district: Xihu breached in March and still is (open).
        *[row(DIBAO, code, "district", m, 0.55, 0.5, "met", bureau="civil_affairs")
          for code in ("330102", "330106") for m in (JAN, FEB)],
        row(DIBAO, "330102", "district", MAR, 0.55, 0.5, "met", bureau="civil_affairs"),
        row(DIBAO, "330106", "district", MAR, 0.45, 0.5, "breached", bureau="civil_affairs"),
        # Jobs: in progress.
        *[row(JOBS, "330100", "city", m, 15000.0 * (i + 1), 186700, "in_progress", expected=15558.0 * (i + 1))
          for i, m in enumerate((JAN, FEB, MAR))],
        # Vaccination, latest month: one district x vaccine breached.
        row(VAX, "330102", "district", MAR, 0.95, 0.9, "met", vaccine="BCG", bureau="health"),
        row(VAX, "330106", "district", MAR, 0.88, 0.9, "breached", vaccine="BCG", bureau="health"),
        row(VAX, "330102", "district", MAR, 0.97, 0.9, "met", vaccine="MMR", bureau="health"),
        row(VAX, "330106", "district", MAR, 0.93, 0.9, "met", vaccine="MMR", bureau="health"),
    ]
    attainment = pd.DataFrame(rows, columns=ATTAINMENT_COLUMNS)
    equalisation = pd.DataFrame([
        (DIBAO, None, m, ">=", 0.5, 2, 0.45 if m == MAR else 0.55, 0.55, 1.2 if m == MAR else 1.0, 0.5,
         0.1 if m == MAR else 0.0, None, 1 if m == MAR else 0, "330106" if m == MAR else None, "330106")
        for m in (JAN, FEB, MAR)
    ], columns=["target_id", "vaccine", "month", "comparator", "target_value", "districts_reporting", "min_value",
                "max_value", "max_min_ratio", "mean_value", "coefficient_of_variation", "weighted_value",
                "districts_below_target", "below_target_districts", "lowest_district_code"])
    return ReportData(
        attainment=attainment,
        targets=targets,
        bureaus=pd.DataFrame([
            ("hrss", "市人力社保局", "Municipal HRSS Bureau"),
            ("civil_affairs", "市民政局", "Municipal Civil Affairs Bureau <script>"),
            ("health", "市卫生局", "Municipal Health Bureau"),
            ("education", "市教育局", "Municipal Education Bureau"),
        ], columns=["bureau_id", "name_zh", "name_en"]),
        districts=pd.DataFrame([
            ("330102", "上城区", "Shangcheng", date(2000, 1, 1), date(2021, 4, 8), True),
            ("330102", "上城区", "Shangcheng (merged)", date(2021, 4, 9), date(9999, 12, 31), True),
            ("330106", "西湖区", "Xihu", date(2000, 1, 1), date(9999, 12, 31), True),
        ], columns=["district_code", "name_zh", "name_en", "valid_from", "valid_to", "is_main_urban_area"]),
        vaccines=pd.DataFrame([("BCG", "卡介苗", "BCG vaccine"), ("MMR", "麻腮风疫苗", "MMR vaccine")],
                              columns=["vaccine", "name_zh", "name_en"]),
        equalisation=equalisation,
        alerts=pd.DataFrame([(MEDICAL, "330100", JAN, None, datetime(2012, 2, 3, 8, 0, tzinfo=UTC))],
                            columns=["target_id", "geo_code", "month", "vaccine", "alerted_at"]),
        source="hz_unit",
        generated_at=datetime(2012, 4, 1, tzinfo=UTC),
    )


def test_kpis_count_each_target_once_by_its_latest_month(data):
    model = dashboard.Model(data)
    assert model.kpis() == {
        "targets": 5, "met": 1, "breached": 2, "in_progress": 1, "no_data": 1, "never_reported": 1,
        # Scope rows only: the district figure of the city medical rate does not count.
        "breach_rows": 4, "bureaus_breached": 3,
    }
    now = model.now.set_index("target_id")["status"].to_dict()
    assert now == {MEDICAL: "met", DIBAO: "breached", JOBS: "in_progress", VAX: "breached", NEVER: "no_data"}


def test_breach_series_are_open_or_recovered_with_their_first_alert(data):
    series = dashboard.Model(data).breach_series()
    got = {(r.target_id, r.geo_code, r.vaccine if isinstance(r.vaccine, str) else None):
           (r.open_now, [f"{m:%m}" for m in r.months]) for r in series.itertuples(index=False)}
    assert got == {
        (DIBAO, "330106", None): (True, ["03"]),
        (VAX, "330106", "BCG"): (True, ["03"]),
        (MEDICAL, "330100", None): (False, ["01", "02"]),
    }
    assert list(series["open_now"]) == [True, True, False], "open breaches come first"
    medical = series[series["target_id"] == MEDICAL].iloc[0]
    assert medical["alerted_at"] == datetime(2012, 2, 3, 8, 0, tzinfo=UTC)
    assert medical["latest_status"] == "met"


def test_the_binding_figure_of_a_many_place_target_is_its_worst_place(data):
    by_month = dashboard.Model(data).by_month.set_index(["target_id", "month"])
    dibao = by_month.loc[(DIBAO, MAR)]
    assert (dibao["status"], dibao["actual_value"], dibao["worst_geo"], dibao["breached"], dibao["geos"]) == (
        "breached", 0.45, "330106", 1, 2)


def test_attainment_index_is_above_one_when_better():
    assert dashboard.attainment_index(0.99, 0.9, ">=", "met") == pytest.approx(1.1)
    assert dashboard.attainment_index(0.05, 0.04, "<=", "breached") == pytest.approx(0.8)
    assert dashboard.attainment_index(0.0, 0.04, "<=", "met") > 1
    assert dashboard.attainment_index(3, 3, "==", "met") > 1 > dashboard.attainment_index(2, 3, "==", "breached")
    assert dashboard.attainment_index(None, 0.9, ">=", "no_data") is None


def test_labels_and_formats():
    assert fmt_value(0.9512, "ratio") == "95.1%"
    assert fmt_value(186700, "persons") == "186,700"
    assert fmt_value(39060000000, "yuan") == "390.60 亿"
    assert fmt_value(6.5, "multiple_of_local_income") == "6.50×"
    assert fmt_value(None, "ratio") == fmt_value(float("nan"), "ratio") == "–"
    assert worst_status(["met", "in_progress", "breached"]) == "breached"
    assert worst_status(["met", "no_data"]) == "no_data"
    districts = pd.DataFrame([("330183", "富阳市", "Fuyang", date(2000, 1, 1), date(2014, 12, 12), False),
                              ("330111", "富阳区", "Fuyang", date(2014, 12, 13), date(9999, 12, 31), False)],
                             columns=["district_code", "name_zh", "name_en", "valid_from", "valid_to",
                                      "is_main_urban_area"])
    names = GeoNames(districts, date(2012, 12, 28))
    assert names.label("330183") == "富阳市 Fuyang"
    assert names.label("330100") == "全市 City" and names.label("main_urban") == "主城区 Main urban area"
    assert names.label("330183101") == "富阳市·乡镇101 Fuyang township 101"


def test_the_page_is_self_contained_bilingual_and_escaped(data):
    page = dashboard.render(data)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert not re.search(r"<script[^>]+src=", page), "no external scripts: plotly.js is inline"
    assert not re.search(r"<link[^>]+href=\"?https?:", page)
    assert "cdn.plot.ly" not in page.split("<body>", 1)[1]
    for div in ("fig-headline", "fig-vaccination", f"fig-district-{DIBAO}", f"fig-district-{MEDICAL}",
                "fig-equalisation", "fig-bureaus", "fig-explorer", "fig-status-grid"):
        assert f'id="{div}"' in page, div
    for text in ("未达标 Breached", "达标 Met", "市民政局", "西湖区 / Xihu",
                 "2012-02-03 08:00 UTC", "仍未达标 still open", "已恢复 since recovered"):
        assert text in page, text
    # Names from the warehouse are escaped in the page (and \u003c-escaped in plotly's JSON).
    assert "Bureau <script>" not in page and "Municipal Civil Affairs Bureau &lt;script&gt;" in page
    assert "nan nan" not in page and ">nan<" not in page, "missing values show as blanks or dashes"
    table = page.split('id="breach-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr") == 1 + 3  # header + three series


def test_an_empty_warehouse_still_renders(data):
    empty = ReportData(
        attainment=data.attainment.iloc[0:0], targets=data.targets, bureaus=data.bureaus,
        districts=data.districts, vaccines=data.vaccines, equalisation=data.equalisation.iloc[0:0],
        alerts=data.alerts.iloc[0:0], source="hz_empty",
    )
    model = dashboard.Model(empty)
    assert model.kpis()["no_data"] == 5
    page = dashboard.render(empty)
    assert "No breaches" in page and "暂无数据 No data yet" in page


def test_publish_writes_atomically(tmp_path):
    path = dashboard.write_atomically(tmp_path / "reports" / "dashboard.html", "<html></html>")
    assert path.read_text(encoding="utf-8") == "<html></html>"
    assert [p.name for p in path.parent.iterdir()] == ["dashboard.html"]
