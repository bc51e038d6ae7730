"""The validity suite (real GX) turns failing rows into reasons naming row, column, value and rule."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from hzwh.feeds.normalise import normalise
from hzwh.validation.validity import KEY_HASH, build_key_suite, build_suite, merge_issues, validate


def typed_frame(contract, rows):
    raw = pd.DataFrame(rows, columns=["period", "district_code", "scheme", "eligible_persons", "insured_persons"])
    raw.insert(0, "row_number", range(2, len(rows) + 2))
    typed, type_issues, _ = normalise(pa.Table.from_pandas(raw.astype({c: str for c in raw.columns[1:]})), contract)
    return typed, type_issues


def test_suite_is_built_from_the_contract(ss_contract):
    suite = build_suite(ss_contract, "2012-01")
    rules = {(e.meta["rule"], e.meta["column"]) for e in suite.expectations}
    assert ("allowed_values", "district_code") in rules
    assert ("not_greater_than", "insured_persons") in rules
    assert ("minimum", "eligible_persons") in rules
    assert ("period_matches_file_name", "period") in rules
    # One row per key is checked once per file (files are validated chunk by chunk), over key hashes.
    (key,) = build_key_suite(ss_contract).expectations
    assert (key.meta["rule"], key.meta["column"], key.column) == ("unique_key", "period,district_code,scheme", KEY_HASH)


def test_failing_rows_are_identified_with_readable_reasons(ss_contract):
    typed, type_issues = typed_frame(
        ss_contract,
        [
            ["2012-01", "330102", "resident_medical", "1000", "950"],  # row 2: good
            ["2012-01", "330103", "resident_medical", "500", "600"],  # row 3: insured > eligible
            ["2012-01", "330199", "resident_medical", "500", "400"],  # row 4: unknown district
            ["2012-01", "330104", "resident_medical", "0", "0"],  # row 5: eligible must be > 0
            ["2012-02", "330105", "resident_medical", "10", "5"],  # row 6: wrong period
            ["2012-01", "330106", "unknown_scheme", "10", "5"],  # row 7: unknown scheme
            ["2012-01", "330108", "resident_pension", "10", "5"],  # rows 8, 9: duplicate key
            ["2012-01", "330108", "resident_pension", "10", "5"],
        ],
    )
    by_row = merge_issues(type_issues, validate(typed, ss_contract, "2012-01"))
    assert sorted(by_row) == [3, 4, 5, 6, 7, 8, 9]
    messages = {row: "; ".join(i.message for i in issues) for row, issues in by_row.items()}
    assert messages[3] == "insured_persons (600) exceeds eligible_persons (500)"
    assert messages[4] == "district_code must be one of the 13 district codes valid in 2012-01, got '330199'"
    assert messages[5] == "eligible_persons must be > 0, got '0'"
    assert messages[6] == "period must be 2012-01, the period in the file name, got '2012-02'"
    assert "scheme must be one of employee_medical, resident_medical, resident_pension" in messages[7]
    assert messages[8] == (
        "duplicate key (period=2012-01, district_code=330108, scheme=resident_pension): also on row(s) 9"
    )


def test_district_codes_follow_history(ss_contract):
    typed, _ = typed_frame(ss_contract, [["2022-01", "330113", "resident_medical", "10", "5"],
                                         ["2022-01", "330103", "resident_medical", "10", "5"]])
    by_row = merge_issues([], validate(typed, ss_contract, "2022-01"))
    # Linping exists in 2022; Xiacheng was merged into Gongshu in 2021.
    assert list(by_row) == [3]


def test_a_constant_key_does_not_make_every_reason_list_every_row(ss_contract):
    rows = [["2012-01", "330102", "resident_medical", "10", "5"]] * 2000
    typed, type_issues = typed_frame(ss_contract, rows)
    by_row = merge_issues(type_issues, validate(typed, ss_contract, "2012-01"))
    assert len(by_row) == 2000
    assert by_row[2][0].message.endswith("also on row(s) 3, 4, 5, 6, 7 and 1,994 more")
