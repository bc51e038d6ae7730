"""A generated year of all four feeds through the real DAGs, against the real local PostgreSQL.

Three deliveries, each run by Airflow (`airflow dags test` of ingest_feeds, then build_marts):

1. the year, with faults (a GBK re-export, bad rows, a file missing a column), without one revision;
2. the same files again: every one a duplicate, nothing changes, no alert repeats;
3. the revision: it clears a planted breach and sends exactly one resolved notice.

Expected values are computed here from the generated files and the generator's truth, not read back
from the warehouse.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from hzwh.demo.generate import DemoManifest, generate

pytestmark = pytest.mark.integration
SS = "social_security_enrollment"
MEDICAL = "ss_resident_medical_enrollment_rate"


@dataclass
class Demo:
    manifest: DemoManifest
    first: list[Path]
    revision: list[Path]


def deliver(files: list[Path], landing: Path) -> None:
    """Drop files into their feed folders, keeping their delivery order (mtime)."""
    for path in files:
        feed = path.parent.name
        (landing / feed).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, landing / feed / path.name)


def city_rate(frame: pd.DataFrame, scheme: str, period: str) -> Fraction:
    rows = frame[(frame["scheme"] == scheme) & (frame["period"] == period)]
    return Fraction(int(rows["insured_persons"].sum()), int(rows["eligible_persons"].sum()))


def marts_checksum(warehouse) -> str:
    digest = hashlib.sha256()
    tables = [r[0] for r in warehouse.query(
        "select tablename from pg_tables where schemaname = 'marts' order by tablename")]
    for table in tables:
        for row in warehouse.query(f"select md5(string_agg(t::text, '|' order by t::text)) from marts.{table} t"):
            digest.update(f"{table}:{row[0]}".encode())
    return digest.hexdigest()


def breach_alerts(warehouse, kind: str = "breach") -> set[tuple]:
    return {
        (t, g, m.strftime("%Y-%m"), v)
        for t, g, m, v in warehouse.query(
            "select target_id, geo_code, month, vaccine from ops.alerts where kind = %s", (kind,))
    }


@pytest.fixture(scope="module")
def demo(warehouse, tmp_path_factory) -> Demo:
    source = tmp_path_factory.mktemp("generated")
    manifest = generate(source, faults=True)
    revision = [f for f in manifest.files if f.stem.endswith("_rev1")]
    assert len(revision) == 1
    first = [f for f in manifest.files if f not in revision]
    deliver(first, warehouse.landing)
    warehouse.run_pipeline()
    return Demo(manifest, first, revision)


@pytest.fixture(scope="module")
def revised_period(demo) -> str:
    stem = demo.revision[0].stem  # social_security_enrollment_YYYYMM_rev1
    yyyymm = stem.split("_")[-2]
    return f"{yyyymm[:4]}-{yyyymm[4:]}"


@pytest.fixture(scope="module")
def original_ss(demo) -> pd.DataFrame:
    """The social security rows as first delivered (run 1): the original files, minus what is quarantined."""
    frames = [pd.read_csv(f, dtype={"district_code": str}) for f in demo.first
              if f.parent.name == SS and f.name.count("_") == 3]
    frame = pd.concat(frames)
    truth = demo.manifest.truth[SS]
    keys = set(zip(truth["period"], truth["district_code"], truth["scheme"], strict=True))
    return frame[[k in keys for k in zip(frame["period"], frame["district_code"], frame["scheme"], strict=True)]]


# --------------------------------------------------------------------------- delivery 1


def test_every_delivered_file_is_accounted_for(warehouse, demo):
    loads = {r[0]: r[1:] for r in warehouse.query(
        "select file_name, status, rows_delivered, rows_loaded, rows_quarantined, reason from ops.file_loads")}
    assert set(loads) == {f.name for f in demo.first}
    for name, (status, delivered, loaded, quarantined, reason) in loads.items():
        assert loaded + quarantined == delivered, name
        if name in demo.manifest.expected_rejected_files:
            assert status == "rejected" and reason and name in reason
        else:
            assert status == "loaded", (name, reason)
            assert quarantined == demo.manifest.expected_quarantined_rows.get(name, 0), name
    assert not any(warehouse.landing.rglob("*.csv")), "landing must be emptied"
    archived = {p.name.split("__", 1)[1] for p in warehouse.archive.rglob("*__*")}
    assert archived == {f.name for f in demo.first}


def test_bad_input_is_handled_as_the_contract_says(warehouse, demo):
    gbk = next(f.name for f in demo.first if f.stem.endswith("_gbk"))
    encoding, extra, quarantined = warehouse.query(
        "select encoding, extra_columns, rows_quarantined from ops.file_loads where file_name = %s", (gbk,))[0]
    assert (encoding, extra, quarantined) == ("gb18030", ["区名"], 0)

    missing = next(f.name for f in demo.first if f.stem.endswith("_bad"))
    (reason,) = warehouse.query("select reason from ops.file_loads where file_name = %s", (missing,))[0]
    assert "required column(s) missing: insured_persons" in reason

    reasons = [r[0] for r in warehouse.query("select reason from ops.quarantined_rows order by row_number")]
    assert any("insured_persons (" in r and "exceeds eligible_persons" in r and " row " in r for r in reasons)
    assert any("district_code must be one of the 13 district codes" in r and "'330199'" in r for r in reasons)


def test_social_security_marts_match_an_independent_computation(warehouse, demo, original_ss):
    rows = warehouse.query(
        "select target_id, to_char(month, 'YYYY-MM'), actual_value from marts.fct_target_attainment"
        " where geo_code = '330100' and target_id like 'ss_resident_%%'")
    assert rows
    scheme_of = {MEDICAL: "resident_medical", "ss_resident_pension_enrollment_rate": "resident_pension"}
    for target_id, period, actual in rows:
        expected = city_rate(original_ss, scheme_of[target_id], period)
        assert abs(float(actual) - float(expected)) < 1e-9, (target_id, period)

    facts = warehouse.query(
        "select to_char(month, 'YYYY-MM'), district_code, scheme, eligible_persons, insured_persons"
        " from marts.fct_social_security_enrollment")
    delivered = {(p, d, s): (e, i) for p, d, s, e, i in original_ss[
        ["period", "district_code", "scheme", "eligible_persons", "insured_persons"]].itertuples(index=False)}
    assert {(p, d, s): (e, i) for p, d, s, e, i in facts} == delivered


def test_a_rate_exactly_at_its_threshold_is_met(warehouse, original_ss):
    exact = [p for p in sorted(set(original_ss["period"]))
             if city_rate(original_ss, "resident_medical", p) == Fraction(95, 100)]
    assert exact, "the generator plants one month exactly at 95%"
    for period in exact:
        (status,) = warehouse.query(
            "select status from marts.fct_target_attainment where target_id = %s and geo_code = '330100'"
            " and to_char(month, 'YYYY-MM') = %s", (MEDICAL, period))[0]
        assert status == "met"


def attainment(warehouse, target_id: str | None = None) -> dict[tuple, float]:
    rows = warehouse.query(
        "select target_id, geo_code, to_char(month, 'YYYY-MM'), vaccine, actual_value, status"
        " from marts.fct_target_attainment where actual_value is not null"
        + (" and target_id = %s" if target_id else ""), (target_id,) if target_id else ())
    return {(t, g, m, v): (float(a), st) for t, g, m, v, a, st in rows}


def test_other_feeds_marts_match_an_independent_computation(warehouse, demo):
    truth = demo.manifest.truth
    marts = attainment(warehouse)

    vaccination = truth["vaccination_coverage"]
    for r in vaccination.itertuples(index=False):
        actual, _ = marts[("health_nip_vaccination_rate", r.district_code, r.period, r.vaccine)]
        assert abs(actual - r.vaccinated_children / r.eligible_children) < 1e-9

    supply = truth["vegetable_supply"].sort_values("period")
    targets = {("main_urban", "vegetables"): ("sup_main_urban_vegetable_self_sufficiency", "main_urban"),
               ("main_urban", "leafy_vegetables"): ("sup_main_urban_leafy_vegetable_self_sufficiency", "main_urban"),
               ("city", "livestock_poultry"): ("sup_livestock_poultry_self_sufficiency", "330100"),
               ("city", "aquatic"): ("sup_aquatic_self_sufficiency", "330100")}
    for (area, product), (target_id, geo) in targets.items():
        rows = supply[(supply["area"] == area) & (supply["product"] == product)]
        output = consumption = 0.0
        for r in rows.itertuples(index=False):  # year to date, not the mean of monthly ratios
            output += r.local_output_tonnes
            consumption += r.consumption_tonnes
            actual, _ = marts[(target_id, geo, r.period, None)]
            assert abs(actual - output / consumption) < 1e-9, (target_id, r.period)

    indicators = truth["plan_indicators"]
    for r in indicators.itertuples(index=False):
        actual, _ = marts[(r.target_id, r.geo_code, r.period, None)]
        assert abs(actual - float(r.value)) < 1e-9, (r.target_id, r.geo_code, r.period)


def test_a_vaccination_rate_exactly_at_its_threshold_is_met(warehouse, demo):
    vaccination = demo.manifest.truth["vaccination_coverage"]
    exact = vaccination[vaccination["vaccinated_children"] * 10 == vaccination["eligible_children"] * 9]
    assert len(exact) >= 1
    marts = attainment(warehouse, "health_nip_vaccination_rate")
    for r in exact.itertuples(index=False):
        assert marts[("health_nip_vaccination_rate", r.district_code, r.period, r.vaccine)][1] == "met"


def test_recorded_breaches_are_exactly_the_planted_ones(warehouse, demo, original_ss, revised_period):
    expected = set(demo.manifest.expected_breaches)
    # Before the revision arrives, its month is still below target as first delivered.
    assert city_rate(original_ss, "resident_medical", revised_period) < Fraction(95, 100)
    expected.add((MEDICAL, "330100", revised_period, None))
    assert breach_alerts(warehouse) == expected
    judged = {
        (t, g, m, v) for t, g, m, v in warehouse.query(
            "select target_id, geo_code, to_char(month, 'YYYY-MM'), vaccine from marts.fct_target_attainment"
            " where is_scope_row and status = 'breached'")
    }
    assert judged == expected


def test_each_alert_reached_the_webhook_once_with_the_contract_payload(warehouse, demo):
    recorded = warehouse.query("select kind, payload from ops.alerts order by alert_id")
    received = warehouse.receiver.alerts
    assert len(received) == len(recorded)
    assert sorted(a["message"] for a in received) == sorted(p["message"] for _, p in recorded)
    for alert in received:
        for field_name in ("kind", "target_id", "geo_code", "month", "actual_value", "target_value", "comparator",
                           "responsible_bureau", "message"):
            assert field_name in alert
        if alert["kind"] == "breach":
            assert alert["responsible_bureau"] and alert["actual_value"] is not None
            assert "实际" in alert["message"] and "actual" in alert["message"]
        if alert["target_id"] == "health_nip_vaccination_rate":
            assert alert["vaccine"]
    data_quality = {a["file_name"] for a in received if a["kind"] == "data_quality"}
    assert data_quality == set(demo.manifest.expected_rejected_files) | {
        name for name, count in demo.manifest.expected_quarantined_rows.items() if count}
    deliveries = warehouse.query("select count(*) filter (where status = 'sent'), count(*) from ops.alert_deliveries")
    assert deliveries[0][0] == deliveries[0][1] == len(recorded)


# --------------------------------------------------------------------------- delivery 2: the same files again


@pytest.fixture(scope="module")
def rerun(warehouse, demo) -> dict:
    before = {
        "marts": marts_checksum(warehouse),
        "alerts": warehouse.query("select count(*) from ops.alerts")[0][0],
        "posts": len(warehouse.receiver.bodies),
        "raw": warehouse.query("select count(*) from raw.social_security_enrollment")[0][0],
    }
    deliver(demo.first, warehouse.landing)
    results = warehouse.run_pipeline()
    after_second = marts_checksum(warehouse)
    warehouse.run_pipeline()  # a third run, nothing new at all
    return {"before": before, "run_id": results[0].run_id, "after_second": after_second}


def test_redelivered_files_are_no_ops(warehouse, demo, rerun):
    statuses = warehouse.query("select status, count(*) from ops.file_loads where dag_run_id = %s group by status",
                               (rerun["run_id"],))
    assert statuses == [("duplicate", len(demo.first))]
    assert warehouse.query("select count(*) from raw.social_security_enrollment")[0][0] == rerun["before"]["raw"]


def test_rerun_changes_no_mart_and_sends_no_alert(warehouse, rerun):
    assert rerun["after_second"] == rerun["before"]["marts"]
    assert marts_checksum(warehouse) == rerun["before"]["marts"]
    assert warehouse.query("select count(*) from ops.alerts")[0][0] == rerun["before"]["alerts"]
    assert len(warehouse.receiver.bodies) == rerun["before"]["posts"]


# --------------------------------------------------------------------------- delivery 3: a revision


def mart_rows(warehouse, table: str, key: str) -> dict[str, str]:
    """Each row's values by key; `built_at` (when dbt wrote the row: every row of a rewritten month) is not a value."""
    return dict(warehouse.query(f"select {key}, (to_jsonb(t) - 'built_at')::text from marts.{table} t"))


@pytest.fixture(scope="module")
def revised(warehouse, demo, rerun) -> dict:
    posts = len(warehouse.receiver.bodies)
    tables = {"fct_target_attainment": "attainment_key", "fct_social_security_enrollment": "enrollment_key"}
    before = {t: mart_rows(warehouse, t, k) for t, k in tables.items()}
    deliver(demo.revision, warehouse.landing)
    warehouse.run_pipeline()
    after = {t: mart_rows(warehouse, t, k) for t, k in tables.items()}
    changed = {t: {k for k in before[t].keys() | after[t].keys() if before[t].get(k) != after[t].get(k)}
               for t in tables}
    return {"new_posts": warehouse.receiver.alerts[posts:], "changed": changed}


def test_a_past_month_redelivered_changes_only_that_month(warehouse, revised, revised_period):
    changed = revised["changed"]
    assert changed["fct_social_security_enrollment"] and changed["fct_target_attainment"]
    months = {m for (m,) in warehouse.query(
        "select distinct to_char(month, 'YYYY-MM') from marts.fct_social_security_enrollment"
        " where enrollment_key = any(%s)", (list(changed["fct_social_security_enrollment"]),))}
    assert months == {revised_period}
    touched = set(warehouse.query(
        "select distinct target_id, to_char(month, 'YYYY-MM') from marts.fct_target_attainment"
        " where attainment_key = any(%s)", (list(changed["fct_target_attainment"]),)))
    assert {m for _, m in touched} == {revised_period}
    assert {t for t, _ in touched} <= {MEDICAL, "ss_resident_pension_enrollment_rate"}


def test_revision_clears_the_breach_with_one_resolved_notice(warehouse, demo, revised, revised_period):
    assert breach_alerts(warehouse, "resolved") == {(MEDICAL, "330100", revised_period, None)}
    assert [(a["kind"], a["target_id"], a["month"]) for a in revised["new_posts"]] == [
        ("resolved", MEDICAL, revised_period)]
    (status,) = warehouse.query(
        "select status from marts.fct_target_attainment where target_id = %s and geo_code = '330100'"
        " and to_char(month, 'YYYY-MM') = %s", (MEDICAL, revised_period))[0]
    assert status == "met"
    judged = {
        (t, g, m, v) for t, g, m, v in warehouse.query(
            "select target_id, geo_code, to_char(month, 'YYYY-MM'), vaccine from marts.fct_target_attainment"
            " where is_scope_row and status = 'breached'")
    }
    assert judged == set(demo.manifest.expected_breaches)


def test_first_reported_and_revised_values_both_stay_queryable(warehouse, demo, original_ss, revised_period):
    truth = demo.manifest.truth[SS]
    rows = warehouse.query(
        "select district_code, insured_persons, first_reported_insured_persons, revision_count"
        " from marts.fct_social_security_enrollment where scheme = 'resident_medical'"
        " and to_char(month, 'YYYY-MM') = %s", (revised_period,))
    assert rows and all(r[3] == 1 for r in rows)
    revised_values = truth[(truth["period"] == revised_period) & (truth["scheme"] == "resident_medical")]
    first_values = original_ss[(original_ss["period"] == revised_period)
                               & (original_ss["scheme"] == "resident_medical")]
    assert {r[0]: r[1] for r in rows} == dict(zip(revised_values["district_code"],
                                                  revised_values["insured_persons"], strict=True))
    assert {r[0]: r[2] for r in rows} == dict(zip(first_values["district_code"],
                                                  first_values["insured_persons"], strict=True))


# --------------------------------------------------------------------------- the catalogue drives the check


def test_changing_a_threshold_in_the_catalogue_changes_the_check(warehouse, revised):
    from hzwh import db
    from hzwh.validation.attainment import find_breaches

    def medical_breaches() -> set[str]:
        with db.connect(warehouse.url) as conn:
            return {b.month.strftime("%Y-%m") for b in find_breaches(conn) if b.target_id == MEDICAL}

    assert medical_breaches(), "the generated year has months below 95 %"
    with db.connect(warehouse.url) as conn:
        lowest = conn.execute(
            "select min(actual_value) from marts.fct_target_attainment where target_id = %s and is_scope_row",
            (MEDICAL,)).fetchone()[0]
        # The catalogue lands in marts.dim_target; the suite reads its thresholds from there on every run.
        conn.execute("update marts.dim_target set target_value = %s where target_id = %s", (lowest, MEDICAL))
    assert medical_breaches() == set()
    with db.connect(warehouse.url) as conn:
        conn.execute("update marts.dim_target set target_value = 0.999 where target_id = %s", (MEDICAL,))
    assert len(medical_breaches()) == 12
