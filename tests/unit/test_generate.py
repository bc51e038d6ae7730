"""Unit tests for the demo feed generator (hzwh.demo.generate). No database.

They pin what the end-to-end tests rely on: the same seed gives the same bytes,
every file has the contract's shape, the truth respects the contract's rules,
and the expected breaches follow FEEDS.md §4–§5 (a rate exactly on its
threshold is met; accumulating targets breach only from their deadline month;
self-sufficiency is judged year to date; only scope rows count).
"""

from __future__ import annotations

import io
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hzwh.demo import generate as gen
from hzwh.demo.generate import DemoManifest, compute_expected_breaches, generate, load_catalogue
from hzwh.feeds.contracts import FEED_NAMES, get_contract
from hzwh.feeds.normalise import normalise
from hzwh.feeds.reader import normalise_header, read_table

SS = "social_security_enrollment"
CATALOGUE = load_catalogue()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate(tmp_path_factory.mktemp("faulty"), faults=True)


def _decode(data: bytes) -> tuple[str, str]:
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030", data.decode("gb18030")


def _read(path: Path) -> pd.DataFrame:
    _, text = _decode(path.read_bytes())
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return frame.rename(columns=normalise_header)


def _by_name(manifest: DemoManifest) -> dict[str, Path]:
    return {p.name: p for p in manifest.files}


def _city_rate(frame: pd.DataFrame, period: str, scheme: str) -> Fraction:
    rows = frame[(frame["period"] == period) & (frame["scheme"] == scheme)]
    return Fraction(int(rows["insured_persons"].sum()), int(rows["eligible_persons"].sum()))


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes(faulty: DemoManifest, tmp_path: Path) -> None:
    again = generate(tmp_path, faults=True)
    assert [p.name for p in again.files] == [p.name for p in faulty.files]
    for first, second in zip(faulty.files, again.files, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    assert again.expected_breaches == faulty.expected_breaches


def test_another_seed_gives_other_figures(clean: DemoManifest, tmp_path: Path) -> None:
    other = generate(tmp_path, seed=7, months=[1], feeds=[SS])
    assert other.files[0].read_bytes() != _by_name(clean)[other.files[0].name].read_bytes()


def test_a_month_alone_has_the_same_figures_as_in_the_full_year(clean: DemoManifest, tmp_path: Path) -> None:
    single = generate(tmp_path, months=[3], feeds=[SS, "vaccination_coverage"])
    full = _by_name(clean)
    assert {p.name for p in single.files} == {f"{SS}_201203.csv", "vaccination_coverage_201203.csv"}
    for path in single.files:
        assert path.read_bytes() == full[path.name].read_bytes()


# --------------------------------------------------------------------------- shape and invariants


def test_every_file_parses_and_has_the_contract_columns(faulty: DemoManifest) -> None:
    assert len(faulty.files) == len(set(faulty.files))
    for path in faulty.files:
        assert path.parent.name in FEED_NAMES
        frame = _read(path)
        columns = set(frame.columns)
        contract = get_contract(path.parent.name)
        if path.name in faulty.expected_rejected_files:
            assert "insured_persons" not in columns
            continue
        assert set(contract.column_names) <= columns, path.name
        assert len(frame) > 0


def test_one_file_per_feed_and_month_without_faults(clean: DemoManifest) -> None:
    assert len(clean.files) == 4 * 12
    assert {p.name for p in clean.files} == {f"{f}_2012{m:02d}.csv" for f in FEED_NAMES for m in range(1, 13)}
    assert not clean.expected_quarantined_rows and not clean.expected_rejected_files


def test_truth_is_typed_and_within_the_contract(faulty: DemoManifest) -> None:
    ss = faulty.truth[SS]
    assert ss["district_code"].map(type).eq(str).all() and ss["period"].map(type).eq(str).all()
    assert ss["eligible_persons"].dtype == np.int64 and ss["insured_persons"].dtype == np.int64
    assert (ss["eligible_persons"] > 0).all() and (ss["insured_persons"] <= ss["eligible_persons"]).all()
    assert ss["district_code"].nunique() == 13

    vac = faulty.truth["vaccination_coverage"]
    assert (vac["eligible_children"] > 0).all() and (vac["vaccinated_children"] <= vac["eligible_children"]).all()
    assert 2_000 <= vac["eligible_children"].min() and vac["eligible_children"].max() <= 20_000

    veg = faulty.truth["vegetable_supply"]
    assert veg["consumption_tonnes"].dtype == np.float64
    assert (veg["consumption_tonnes"] > 0).all() and (veg["local_output_tonnes"] >= 0).all()

    plan = faulty.truth["plan_indicators"]
    ratio_ids = [t.target_id for t in CATALOGUE.values() if t.unit == "ratio"]
    ratios = plan[plan["target_id"].isin(ratio_ids)]["value"]
    assert ratios.between(0, 1).all()
    assert set(plan["target_id"]) == {t.target_id for t in CATALOGUE.values() if t.feed == "plan_indicators"}
    assert plan["reported_by"].notna().all()


def test_cumulative_indicators_never_decrease(clean: DemoManifest) -> None:
    plan = clean.truth["plan_indicators"]
    cumulative = [t.target_id for t in CATALOGUE.values() if t.measure_kind == "cumulative"]
    for _, series in plan[plan["target_id"].isin(cumulative)].sort_values("period").groupby(["target_id", "geo_code"]):
        assert series["value"].is_monotonic_increasing


def test_decimals_are_written_plainly(clean: DemoManifest) -> None:
    for path in clean.files:
        text = path.read_text(encoding="utf-8")
        assert "e+" not in text.lower() and "e-0" not in text.lower(), path.name
        if path.parent.name == "vegetable_supply":
            for cell in _read(path)["consumption_tonnes"]:
                assert len(cell.partition(".")[2]) <= 3


# --------------------------------------------------------------------------- expected breaches


def test_expected_breaches_in_every_feed(clean: DemoManifest) -> None:
    feeds = {CATALOGUE[target_id].feed for target_id, *_ in clean.expected_breaches}
    assert feeds == set(FEED_NAMES)


def test_expected_breaches_are_the_recomputed_ones(clean: DemoManifest, faulty: DemoManifest) -> None:
    for manifest in (clean, faulty):
        assert compute_expected_breaches(manifest.truth) == manifest.expected_breaches


def test_rate_exactly_on_the_threshold_is_met(clean: DemoManifest) -> None:
    ss = clean.truth[SS]
    target = CATALOGUE["ss_resident_medical_enrollment_rate"]
    on_line = [p for p in sorted(ss["period"].unique()) if _city_rate(ss, p, "resident_medical") == target.target_value]
    assert on_line, "one month must sit exactly on the resident medical target"
    for period in on_line:
        assert (target.target_id, "330100", period, None) not in clean.expected_breaches
    earlier = [b for b in clean.expected_breaches if b[0] == target.target_id and b[2] < on_line[0]]
    assert earlier, "the months before the exact one are planted below target"


def test_vaccination_row_exactly_on_the_threshold_is_met(clean: DemoManifest) -> None:
    vac = clean.truth["vaccination_coverage"]
    exact = vac[vac["vaccinated_children"] * 10 == vac["eligible_children"] * 9]
    assert len(exact) >= 1
    for r in exact.itertuples(index=False):
        assert ("health_nip_vaccination_rate", r.district_code, r.period, r.vaccine) not in clean.expected_breaches


def test_district_rows_below_target_do_not_breach_a_city_target(clean: DemoManifest) -> None:
    ss = clean.truth[SS]
    medical = ss[ss["scheme"] == "resident_medical"]
    below = medical[medical["insured_persons"] * 20 < medical["eligible_persons"] * 19]
    city_met = {p for p in medical["period"].unique() if _city_rate(ss, p, "resident_medical") >= Fraction(19, 20)}
    assert not below[below["period"].isin(city_met)].empty, "some districts sit below target while the city is above"
    assert all(b[1] == "330100" for b in clean.expected_breaches if CATALOGUE[b[0]].feed == SS)


def _ss(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(get_contract(SS).column_names))


def test_breach_rules_on_a_hand_made_case() -> None:
    truth = {
        SS: _ss([
            ("2012-01", "330102", "resident_medical", 100, 95),  # city 190/200 == 0.95: met
            ("2012-01", "330103", "resident_medical", 100, 95),
            ("2012-02", "330102", "resident_medical", 100, 100),  # city 180/200 = 0.90: breached
            ("2012-02", "330103", "resident_medical", 100, 80),
            ("2012-03", "330102", "resident_medical", 300, 300),  # city 385/400 > 0.95, a district below: met
            ("2012-03", "330103", "resident_medical", 100, 85),
            ("2012-01", "330102", "resident_pension", 100, 89),  # 0.89 < 0.90: breached
        ]),
        "vaccination_coverage": pd.DataFrame(
            [("2012-01", "330102", "MMR", 100, 89), ("2012-01", "330103", "MMR", 100, 90)],
            columns=list(get_contract("vaccination_coverage").column_names),
        ),
        "vegetable_supply": pd.DataFrame(
            [
                ("2012-01", "main_urban", "vegetables", 50.0, 100.0),  # YTD 0.50: breached
                ("2012-02", "main_urban", "vegetables", 70.0, 100.0),  # month 0.70, YTD 0.60: met
                ("2012-01", "city", "aquatic", 80.0, 100.0),  # YTD 0.80: met
                ("2012-02", "city", "aquatic", 50.0, 100.0),  # YTD 0.65: breached
                ("2012-01", "main_urban", "aquatic", 10.0, 100.0),  # no target at this area
            ],
            columns=list(get_contract("vegetable_supply").column_names),
        ),
        "plan_indicators": pd.DataFrame(
            [
                ("2012-11", "emp_urban_new_jobs", "330100", 100_000.0, "hrss"),  # before deadline: in progress
                ("2012-12", "emp_urban_new_jobs", "330100", 186_699.0, "hrss"),  # deadline, short by one: breached
                ("2012-08", "pub_metro_line1_opening", "330100", 0.0, "metro"),  # deadline 2012-09: in progress
                ("2012-09", "pub_metro_line1_opening", "330100", 0.0, "metro"),  # breached
                ("2012-10", "pub_metro_line1_opening", "330100", 1.0, "metro"),  # reached: met
                ("2012-01", "emp_registered_unemployment_rate", "330100", 0.04, "hrss"),  # on the line: met
                ("2012-02", "emp_registered_unemployment_rate", "330100", 0.0401, "hrss"),  # breached
                ("2012-02", "emp_registered_unemployment_rate", "330102", 0.09, "hrss"),  # district row: shown only
                ("2012-03", "emp_zero_employment_households", "330100", 1.0, "hrss"),  # == 0 missed: breached
                ("2012-01", "ss_dibao_topup_ratio", "330102", 0.49, "civil_affairs"),  # each district: breached
                ("2012-01", "ss_dibao_topup_ratio", "330103", 0.5, "civil_affairs"),  # on the line: met
                ("2012-06", "edu_migrant_school_tuition_subsidy", "330100", 1.0, "education"),  # area scope, at 330100
            ],
            columns=list(get_contract("plan_indicators").column_names),
        ),
    }
    assert compute_expected_breaches(truth) == {
        ("ss_resident_medical_enrollment_rate", "330100", "2012-02", None),
        ("ss_resident_pension_enrollment_rate", "330100", "2012-01", None),
        ("health_nip_vaccination_rate", "330102", "2012-01", "MMR"),
        ("sup_main_urban_vegetable_self_sufficiency", "main_urban", "2012-01", None),
        ("sup_aquatic_self_sufficiency", "330100", "2012-02", None),
        ("emp_urban_new_jobs", "330100", "2012-12", None),
        ("pub_metro_line1_opening", "330100", "2012-09", None),
        ("emp_registered_unemployment_rate", "330100", "2012-02", None),
        ("emp_zero_employment_households", "330100", "2012-03", None),
        ("ss_dibao_topup_ratio", "330102", "2012-01", None),
        ("edu_migrant_school_tuition_subsidy", "330100", "2012-06", None),
    }


def test_planted_plan_indicator_scenario(clean: DemoManifest) -> None:
    plan = [b for b in clean.expected_breaches if CATALOGUE[b[0]].feed == "plan_indicators"]
    late = [b for b in plan if CATALOGUE[b[0]].measure_kind == "cumulative"]
    assert late, "a cumulative target is not reached by its deadline"
    assert all(b[2] >= CATALOGUE[b[0]].deadline_period for b in late)
    assert 1 <= sum(b[0] == "emp_registered_unemployment_rate" for b in plan) <= 2
    assert any(CATALOGUE[b[0]].scope == "each_district" for b in plan)
    jobs = clean.truth["plan_indicators"].query("target_id == 'emp_urban_new_jobs'").set_index("period")["value"]
    reached = [p for p, v in jobs.items() if v >= float(CATALOGUE["emp_urban_new_jobs"].target_value)]
    assert reached and reached[0] < "2012-12", "new urban jobs reach the year's target early"


# --------------------------------------------------------------------------- faults


def test_fault_files_and_encodings(faulty: DemoManifest) -> None:
    names = _by_name(faulty)
    gbk = next(p for n, p in names.items() if n.endswith("_gbk.csv"))
    data = gbk.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("gb18030")
    assert "区名" in text.splitlines()[0]
    assert any(ch in text for ch in "０１２３４５６７８９") and '"' in text  # full-width digits, quoted "1,234"

    assert len(faulty.expected_rejected_files) == 1 and faulty.expected_rejected_files[0].endswith("_bad.csv")
    assert "insured_persons" not in _read(names[faulty.expected_rejected_files[0]]).columns

    assert list(faulty.expected_quarantined_rows.values()) == [2]
    bad_rows = _read(names[next(iter(faulty.expected_quarantined_rows))])
    assert (bad_rows["district_code"] == "330199").sum() == 1
    assert (bad_rows["insured_persons"].astype(int) > bad_rows["eligible_persons"].astype(int)).sum() == 1


def test_delivery_order_is_the_mtime_order(faulty: DemoManifest) -> None:
    stamps = [p.stat().st_mtime_ns for p in faulty.files]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    order = [p.name for p in faulty.files]
    revision = next(n for n in order if n.endswith("_rev1.csv"))
    copy = next(n for n in order if n.endswith("_gbk.csv"))
    assert order.index(revision.replace("_rev1", "")) < order.index(revision)
    assert order.index(copy.replace("_gbk", "")) < order.index(copy)


def test_gbk_copy_reads_back_to_the_same_figures(faulty: DemoManifest) -> None:
    path = next(p for p in faulty.files if p.name.endswith("_gbk.csv"))
    contract = get_contract(SS)
    table = read_table(path, contract)
    typed, issues, _ = normalise(table.frame, contract)
    assert table.encoding == "gb18030" and not issues
    period = typed["period"].iloc[0]
    truth = faulty.truth[SS]
    expected = truth[truth["period"] == period].reset_index(drop=True)
    got = typed.drop(columns="row_number").reset_index(drop=True)
    assert got["insured_persons"].astype("int64").tolist() == expected["insured_persons"].tolist()
    assert got["eligible_persons"].astype("int64").tolist() == expected["eligible_persons"].tolist()


def test_quarantined_key_is_absent_from_truth(faulty: DemoManifest) -> None:
    name = next(iter(faulty.expected_quarantined_rows))
    written = _read(_by_name(faulty)[name])
    corrupted = written[written["insured_persons"].astype(int) > written["eligible_persons"].astype(int)].iloc[0]
    truth = faulty.truth[SS]
    key = (truth["period"] == corrupted["period"]) & (truth["district_code"] == corrupted["district_code"])
    assert truth[key & (truth["scheme"] == corrupted["scheme"])].empty
    assert len(truth[truth["period"] == corrupted["period"]]) == 38


def test_revision_clears_the_planted_breach(clean: DemoManifest, faulty: DemoManifest) -> None:
    revision = next(p for p in faulty.files if p.name.endswith("_rev1.csv"))
    stamp = re.search(r"_(\d{4})(\d{2})_rev1\.csv$", revision.name)
    assert stamp
    period = f"{stamp[1]}-{stamp[2]}"
    key = ("ss_resident_medical_enrollment_rate", "330100", period, None)
    assert key in clean.expected_breaches and key not in faulty.expected_breaches
    target = CATALOGUE[key[0]].target_value
    assert _city_rate(faulty.truth[SS], period, "resident_medical") >= target
    before = clean.truth[SS].set_index(["period", "district_code", "scheme"])["insured_persons"]
    after = faulty.truth[SS].set_index(["period", "district_code", "scheme"])["insured_persons"]
    rows = [(period, d, "resident_medical") for d in clean.truth[SS]["district_code"].unique()]
    assert all(after[k] > before[k] for k in rows), "the revision corrects every district"


# --------------------------------------------------------------------------- helpers and CLI


def test_rebalance_hits_the_total_within_bounds() -> None:
    eligible = np.array([100, 50, 10], dtype=np.int64)
    out = gen.rebalance(np.array([90, 40, 9]), eligible, 157)
    assert out.sum() == 157 and (out <= eligible).all() and (out >= 0).all()
    assert gen.rebalance(np.array([90, 40, 9]), eligible, 120).sum() == 120
    with pytest.raises(ValueError):
        gen.rebalance(np.array([90, 40, 9]), eligible, 161)


def test_parse_months() -> None:
    assert gen.parse_months("1-12") == list(range(1, 13))
    assert gen.parse_months("1,3,5-6") == [1, 3, 5, 6]


def test_cli_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main(["--landing", str(tmp_path), "--months", "1-2", "--faults"]) == 0
    out = capsys.readouterr().out
    assert "Wrote" in out and "breached" in out and str(tmp_path) in out
    assert (tmp_path / SS / f"{SS}_201201.csv").is_file()
