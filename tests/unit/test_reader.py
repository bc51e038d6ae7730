"""The reader: encodings, headers, row numbers, and files that must be rejected whole."""

from __future__ import annotations

import pandas as pd
import pytest

from hzwh.feeds.reader import FileRejected, decode, normalise_header, parse_file_name, read_table

HEADER = "period,district_code,scheme,eligible_persons,insured_persons"


def test_header_names_are_normalised():
    assert normalise_header(" Insured Persons ") == "insured_persons"
    assert normalise_header("ＩＮＳＵＲＥＤ_ＰＥＲＳＯＮＳ") == "insured_persons"
    assert normalise_header("\ufeffperiod") == "period"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("期间,区名\n".encode(), "utf-8"),
        ("\ufeff期间,区名\n".encode(), "utf-8-sig"),
        ("期间,区名\n".encode("gbk"), "gb18030"),
        ("期间,区名\n".encode("gb18030"), "gb18030"),
    ],
)
def test_encodings_are_detected_without_mojibake(data, encoding):
    detected, text = decode(data)
    assert detected == encoding
    assert text.startswith("期间,区名")


def test_gbk_punctuation_python_reads_differently_as_gb2312_is_still_gbk():
    # A1AA and A1A4 are GB2312's dash and middle dot: a GBK file holding only them is not Windows-1252.
    encoding, text = decode("period,note\n2012-01,——\n2012-02,·\n".encode("gbk"))
    assert (encoding, text.splitlines()[1:]) == ("gb18030", ["2012-01,——", "2012-02,·"])


def test_binary_file_is_rejected():
    with pytest.raises(FileRejected, match="binary"):
        decode(b"PK\x03\x04\x00\x00binary")


def test_file_name_gives_the_period():
    delivered = parse_file_name("social_security_enrollment_201203_rev1.csv", "social_security_enrollment")
    assert (delivered.period, delivered.suffix, delivered.extension) == ("2012-03", "rev1", "csv")
    with pytest.raises(FileRejected, match="does not follow"):
        parse_file_name("enrollment March.csv", "social_security_enrollment")
    with pytest.raises(FileRejected):
        parse_file_name("social_security_enrollment_201213.csv", "social_security_enrollment")


def test_gbk_file_with_chinese_extra_column_reads_with_row_numbers(write, ss_contract):
    text = (
        "区名,Period,District_Code,SCHEME,eligible_persons,insured_persons\r\n"
        '上城区,2012-01,330102,resident_medical,"1,200",１１００\r\n'
        "\r\n"
        "下城区,2012-01,330103,resident_medical,900,800\r\n"
    )
    table = read_table(write("social_security_enrollment_201201.csv", text, "gbk"), ss_contract)
    assert table.encoding == "gb18030"
    assert table.extra_columns == ("区名",)
    assert table.blank_rows == 1
    rows = table.frame.to_pylist()
    assert [r["row_number"] for r in rows] == [2, 4]
    assert rows[0]["eligible_persons"] == "1,200"
    assert rows[0]["insured_persons"] == "１１００"


def test_missing_required_column_rejects_the_file_and_names_it(write, ss_contract):
    text = "period,district_code,scheme,eligible_persons\n2012-01,1,2,3\n"
    path = write("social_security_enrollment_201201.csv", text)
    with pytest.raises(FileRejected, match="required column\\(s\\) missing: insured_persons"):
        read_table(path, ss_contract)


def test_duplicated_column_rejects_the_file(write, ss_contract):
    path = write("x.csv", HEADER + ",insured_persons\n2012-01,330102,resident_medical,10,5,6\n")
    with pytest.raises(FileRejected, match="appears twice"):
        read_table(path, ss_contract)


def test_title_row_above_the_header_is_skipped(write, ss_contract):
    path = write("x.csv", "杭州市社保参保情况,,,,\n" + HEADER + "\n2012-01,330102,resident_medical,10,5\n")
    table = read_table(path, ss_contract)
    assert table.header_row == 2
    assert table.frame.column("row_number").to_pylist() == [3]


def test_xlsx_first_sheet_is_read(tmp_path, ss_contract):
    path = tmp_path / "social_security_enrollment_201201.xlsx"
    frame = pd.DataFrame(
        {"period": ["2012-01"], "district_code": [330102], "scheme": ["resident_medical"],
         "eligible_persons": [1000], "insured_persons": [990]}
    )
    frame.to_excel(path, index=False)
    table = read_table(path, ss_contract)
    assert table.encoding == "xlsx"
    assert table.frame.column("district_code").to_pylist() == ["330102"]
    assert table.frame.column("row_number").to_pylist() == [2]


def test_empty_file_is_rejected(write, ss_contract):
    with pytest.raises(FileRejected, match="empty"):
        read_table(write("x.csv", ""), ss_contract)


def test_plain_file_takes_the_fast_path_with_the_same_result(write, ss_contract):
    plain = HEADER + "\n2012-01,330102,resident_medical,10,5\n2012-01,330103,resident_medical,20,6\n"
    fast = read_table(write("a.csv", plain), ss_contract)
    careful = read_table(write("b.csv", plain.replace("\n2012-01,330103", "\n\n2012-01,330103")), ss_contract)
    assert fast.frame.column("row_number").to_pylist() == [2, 3]
    assert careful.frame.column("row_number").to_pylist() == [2, 4]
    assert fast.frame.drop(["row_number"]).to_pylist() == careful.frame.drop(["row_number"]).to_pylist()
