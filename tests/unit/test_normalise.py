"""Normalisation: thousands separators, full-width digits, enums, periods; every untypable cell noted."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from hzwh.feeds.normalise import canonical_period, normalise


def frame(**columns):
    n = len(next(iter(columns.values())))
    return pa.table({"row_number": pa.array(range(2, n + 2), type=pa.int64()), **columns})


def test_numbers_with_separators_and_full_width_digits(ss_contract):
    raw = frame(
        period=["2012-01"] * 4,
        district_code=["330102", " 330103 ", "３３０１０４", "330105.0"],
        scheme=["resident_medical", "RESIDENT_MEDICAL", " Resident_Pension ", "employee_medical"],
        eligible_persons=["1,234", "１２３４", " 12 ", "1,234,567"],
        insured_persons=["1000", "１，０００", "0", "95%"],
    )
    typed, issues, _ = normalise(raw, ss_contract)
    assert list(typed["eligible_persons"]) == [1234, 1234, 12, 1234567]
    assert list(typed["district_code"]) == ["330102", "330103", "330104", "330105"]
    assert list(typed["scheme"]) == ["resident_medical", "resident_medical", "resident_pension", "employee_medical"]
    assert typed["insured_persons"].tolist()[:3] == [1000, 1000, 0]
    assert pd.isna(typed["insured_persons"].iloc[3])
    assert [(i.row_number, i.column, i.value, i.rule) for i in issues] == [
        (5, "insured_persons", "95%", "type:integer")
    ]


def test_fractional_count_is_not_an_integer(ss_contract):
    raw = frame(period=["2012-01"], district_code=["330102"], scheme=["resident_medical"],
                eligible_persons=["10.5"], insured_persons=["1"])
    typed, issues, _ = normalise(raw, ss_contract)
    assert pd.isna(typed["eligible_persons"].iloc[0])
    assert issues[0].message == (
        "eligible_persons must be an integer (digits, optionally with thousands separators), got '10.5'"
    )


def test_blank_cells_are_null_without_a_type_issue(ss_contract):
    raw = frame(period=["2012-01"], district_code=[""], scheme=["resident_medical"],
                eligible_persons=[""], insured_persons=["1"])
    typed, issues, _ = normalise(raw, ss_contract)
    assert pd.isna(typed["district_code"].iloc[0])
    assert pd.isna(typed["eligible_persons"].iloc[0])
    assert issues == []


def test_period_spellings():
    assert canonical_period("2012-01") == "2012-01"
    assert canonical_period("2012/1") == "2012-01"
    assert canonical_period("201203") == "2012-03"
    assert canonical_period("２０１２－０３") == "2012-03"
    assert canonical_period("2012年3月") == "2012-03"
    assert canonical_period("2012-13") is None
    assert canonical_period("March") is None
