"""A file streamed through ingestion in many chunks ends exactly as the careful whole-file reader ends it.

The chunk size is made tiny (a few kB), so that one file spans dozens of chunks: a key repeated
in two chunks far apart, failing rows in several chunks, chunks whose values need normalising
beside chunks sent to COPY as delivered, and a quote that appears only after earlier chunks were
already sent. Each file is ingested twice into a real PostgreSQL - streamed, and read whole (the
path every non-plain file takes) - and raw.<feed>, the quarantine and the audit must agree.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd
import pytest

from hzwh import db, settings
from hzwh.feeds import stream
from hzwh.feeds.contracts import get_contract
from hzwh.feeds.reader import ROW_NUMBER, read_table
from hzwh.load import ingest as ingest_module
from hzwh.load.ingest import ingest_file
from hzwh.validation.validity import duplicate_key_issues

pytestmark = pytest.mark.integration
SS = get_contract("social_security_enrollment")
# A wider key, so that one month can have thousands of rows (as in the benchmark).
WIDE = dataclasses.replace(SS, key=("period", "district_code", "scheme", "eligible_persons"))
HEADER = "period,district_code,scheme,eligible_persons,insured_persons\n"
CODES = ["330102", "330103", "330104", "330105"]


@pytest.fixture(scope="module")
def scratch():
    """Two warehouses: the same file cannot be loaded twice into one (the second is a duplicate)."""
    base = settings.warehouse()
    parts = [
        settings.PgParts(base.host, base.port, base.user, base.password, f"hz_test_stream_{kind}_{os.getpid()}")
        for kind in ("streamed", "whole")
    ]
    for part in parts:
        db.drop_database(part)
        db.create_database(part)
        with db.connect(part.url()) as conn:
            db.bootstrap(conn)
    yield {"streamed": parts[0].url(), "whole": parts[1].url()}
    for part in parts:
        db.drop_database(part)


def lines(rows: int = 3000) -> list[str]:
    out = [f"2012-01,{CODES[i % 4]},resident_medical,{1000 + i},{900 + i}\n" for i in range(rows)]
    out[5] = "2012-01,330102,resident_medical,1005,2000\n"  # insured > eligible (chunk 1)
    out[40] = out[2900]  # the same key 2,860 rows later, many chunks apart: both rows quarantined
    out[41] = out[42]  # the same key on neighbouring rows (one chunk)
    out[1500] = "2012-01,330199,resident_medical,2500,2400\n"  # an unknown district (a middle chunk)
    out[2000] = "2012-01, 330103 ,Resident_Medical,３０００,２９００\n"  # full-width, spaces, case: normalised
    out[2001] = "2012-01,330103,resident_medical,abc,2900\n"  # not a number: typed parse of the chunk fails
    out[2999] = "2012-01,330105,resident_medical,3999,\n"  # insured empty (the last row)
    return out


def ingest(scratch: dict, tmp: Path, name: str, text: str, *, chunk_bytes: int | None, monkeypatch,
           encoding: str = "utf-8") -> dict:
    url = scratch["whole" if chunk_bytes is None else "streamed"]
    path = tmp / "landing" / SS.name / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    read_whole = []  # whether the careful whole-file reader read the file
    monkeypatch.setattr(ingest_module, "read_table", lambda *a, **k: read_whole.append(1) or read_table(*a, **k))
    if chunk_bytes is None:  # the careful whole-file reader, as for a quoted or .xlsx file
        monkeypatch.setattr(stream.PlainCsv, "open", classmethod(lambda cls, path, contract: None))
    else:
        monkeypatch.setattr(stream, "CHUNK_BYTES", chunk_bytes)
    try:
        with db.connect(url) as conn:
            outcome = ingest_file(conn, WIDE, path, archive_root=tmp / "archive")
            raw = conn.execute(
                "select period, district_code, scheme, eligible_persons, insured_persons"
                " from raw.social_security_enrollment where load_id = %s order by eligible_persons, district_code",
                (outcome.load_id,),
            ).fetchall()
            quarantined = conn.execute(
                "select row_number, reason, issues, record from ops.quarantined_rows where load_id = %s"
                " order by row_number", (outcome.load_id,),
            ).fetchall()
            audit = conn.execute(
                "select rows_delivered, rows_loaded, rows_quarantined, encoding from ops.file_loads"
                " where load_id = %s", (outcome.load_id,),
            ).fetchone()
            (blank,) = conn.execute("select blank_lines from ops.file_loads where load_id = %s",
                                    (outcome.load_id,)).fetchone()
    finally:
        monkeypatch.undo()
    reasons = [(row, reason.split(": ", 1)[1], issues, record) for row, reason, issues, record in quarantined]
    return {"outcome": outcome, "raw": raw, "quarantined": reasons, "audit": audit, "blank": blank,
            "read_whole": bool(read_whole)}


def test_many_chunks_end_as_the_whole_file_does(scratch, tmp_path, monkeypatch):
    text = HEADER + "".join(lines())
    assert len(text) > 40 * 2048
    streamed = ingest(scratch, tmp_path, "social_security_enrollment_201201.csv", text,
                      chunk_bytes=2048, monkeypatch=monkeypatch)
    whole = ingest(scratch, tmp_path, "social_security_enrollment_201201.csv", text,
                   chunk_bytes=None, monkeypatch=monkeypatch)

    assert streamed["audit"] == whole["audit"] == (3000, 2992, 8, "utf-8")
    assert streamed["raw"] == whole["raw"] and len(streamed["raw"]) == 2992
    assert streamed["quarantined"] == whole["quarantined"]
    by_row = {row: reason for row, reason, _, _ in streamed["quarantined"]}
    # Spreadsheet rows: the header is row 1, so list index i is row i + 2.
    assert sorted(by_row) == [7, 42, 43, 44, 1502, 2003, 2902, 3001]
    assert by_row[42] == ("duplicate key (period=2012-01, district_code=330102, scheme=resident_medical, "
                          "eligible_persons=3900): also on row(s) 2902")
    assert by_row[2902].endswith("also on row(s) 42")
    assert by_row[43].endswith("also on row(s) 44")
    assert by_row[2003] == (
        "eligible_persons must be an integer (digits, optionally with thousands separators), got 'abc'"
    )
    assert by_row[3001] == "insured_persons is required but empty"
    # The delivered text is what quarantine keeps, not a re-formatting of it.
    records = {row: record for row, _, _, record in streamed["quarantined"]}
    assert records[2003] == {"period": "2012-01", "district_code": "330103", "scheme": "resident_medical",
                             "eligible_persons": "abc", "insured_persons": "2900"}
    # The normalised row went in typed; its neighbours in the same chunk too.
    assert ("2012-01", "330103", "resident_medical", 3000, 2900) in streamed["raw"]


def test_a_quote_far_down_the_file_restarts_it_with_the_careful_reader(scratch, tmp_path, monkeypatch):
    rows = lines()
    rows[2500] = '2012-01,330103,resident_medical,"3500",3400\n'  # quoted: only the careful reader reads it
    text = HEADER + "".join(rows)
    streamed = ingest(scratch, tmp_path, "social_security_enrollment_201202.csv", text.replace("2012-01", "2012-02"),
                      chunk_bytes=2048, monkeypatch=monkeypatch)
    whole = ingest(scratch, tmp_path, "social_security_enrollment_201202.csv",
                   text.replace("2012-01", "2012-02"), chunk_bytes=None, monkeypatch=monkeypatch)
    assert streamed["audit"] == whole["audit"] == (3000, 2992, 8, "utf-8")
    # The chunks sent before the quote was seen were rolled back: each row is in raw once.
    assert streamed["raw"] == whole["raw"] and len(streamed["raw"]) == 2992
    assert ("2012-02", "330103", "resident_medical", 3500, 3400) in streamed["raw"]
    assert streamed["quarantined"] == whole["quarantined"]


def both(scratch, tmp_path, monkeypatch, name: str, data: bytes) -> tuple[dict, dict]:
    streamed = ingest(scratch, tmp_path, name, data, chunk_bytes=2048, monkeypatch=monkeypatch)
    whole = ingest(scratch, tmp_path, name, data, chunk_bytes=None, monkeypatch=monkeypatch)
    assert (streamed["audit"], streamed["blank"]) == (whole["audit"], whole["blank"])
    assert streamed["raw"] == whole["raw"]
    assert streamed["quarantined"] == whole["quarantined"]
    return streamed, whole


def test_a_gbk_export_streams_and_ends_as_the_whole_file_does(scratch, tmp_path, monkeypatch):
    rows = [r.replace("2012-01", "2012-03") for r in lines()]
    rows[100] = "2012-03,上城区,resident_medical,1100,1000\n"  # a district name where the code goes
    rows[2100] = "2012-03,——,resident_medical,4100,4000\n"  # GB2312's dash (A1AA), no code
    data = (HEADER + "".join(rows)).encode("gb18030")
    streamed, _ = both(scratch, tmp_path, monkeypatch, "social_security_enrollment_201203.csv", data)
    assert not streamed["read_whole"], "a GBK machine export streams"
    assert streamed["audit"] == (3000, 2990, 10, "gb18030")
    # The delivered text is kept as it reads, not as the bytes of another encoding.
    records = {row: record for row, _, _, record in streamed["quarantined"]}
    assert (records[102]["district_code"], records[2102]["district_code"]) == ("上城区", "——")
    # The key repeated many chunks apart was found again in the GBK bytes.
    assert {row for row, reason, _, _ in streamed["quarantined"] if "duplicate key" in reason} >= {42, 2902}


def test_a_file_ascii_at_first_and_gbk_further_down_streams_as_gb18030(scratch, tmp_path, monkeypatch):
    rows = [r.replace("2012-01", "2012-04").rstrip("\n") + ",\n" for r in lines()]
    for i in range(2400, 2410):  # beyond the sniffed 64 kB: the file looked ASCII until here
        rows[i] = rows[i].rstrip(",\n") + ",江干区 补报\n"
    rows[2500] = "2012-04,江干区,resident_medical,3500,3400,\n"
    data = (HEADER.rstrip("\n") + ",note\n" + "".join(rows)).encode("gb18030")
    assert data[: 64 << 10].isascii()
    streamed, _ = both(scratch, tmp_path, monkeypatch, "social_security_enrollment_201204.csv", data)
    assert not streamed["read_whole"]
    assert streamed["audit"] == (3000, 2991, 9, "gb18030")
    records = {row: record for row, _, _, record in streamed["quarantined"]}
    assert records[2502]["district_code"] == "江干区"


@pytest.mark.parametrize(("case", "line"), [
    ("utf8_line", "2012-05,330104,resident_medical,3600,3500,江干区\n"),  # pasted from a UTF-8 file
    ("not_gb2312", "2012-05,330104,resident_medical,3600,3500,個別\n"),  # GBK, not GB2312: judged whole
])
def test_gbk_the_careful_reader_must_judge_is_read_whole(scratch, tmp_path, monkeypatch, case, line):
    rows = [r.replace("2012-01", "2012-05").rstrip("\n") + ",上城区\n" for r in lines()]
    pieces = [(HEADER.rstrip("\n") + ",区名\n" + "".join(rows[:2600])).encode("gb18030"),
              line.encode("utf-8" if case == "utf8_line" else "gb18030"),
              "".join(rows[2601:]).encode("gb18030")]
    streamed, whole = both(scratch, tmp_path, monkeypatch, f"social_security_enrollment_201205_{case}.csv",
                           b"".join(pieces))
    assert streamed["read_whole"], "the stream gave the file to the careful reader"
    outcome = streamed["outcome"]
    assert (outcome.status, outcome.reason) == (whole["outcome"].status, whole["outcome"].reason)
    if case == "utf8_line":
        assert outcome.status == "rejected" and "mixes encodings" in outcome.reason, outcome
    else:
        assert outcome.status == "loaded" and streamed["audit"][3] == "gb18030"


def test_rows_of_empty_cells_far_down_are_not_rows_either_way(scratch, tmp_path, monkeypatch):
    rows = [r.replace("2012-01", "2012-06") for r in lines()]
    rows[2200] = ",,,,\n"  # a row Excel saved with nothing in it
    rows[2700] = "\u3000, ,,\t,\n"  # white space only, a full-width space too
    streamed, _ = both(scratch, tmp_path, monkeypatch, "social_security_enrollment_201206.csv",
                       (HEADER + "".join(rows)).encode("utf-8"))
    assert streamed["read_whole"], "the stream gave the file to the careful reader"
    assert streamed["blank"] == 2 and streamed["audit"][0] == 2998


def test_rows_sharing_only_a_hash_are_not_duplicates():
    keys = pd.DataFrame({
        ROW_NUMBER: [2, 3, 4],
        "period": ["2012-01"] * 3,
        "district_code": ["330102", "330103", "330102"],
        "scheme": ["resident_medical"] * 3,
    })
    issues = duplicate_key_issues(SS, keys)  # as if all three hashes had collided
    assert sorted(i.row_number for i in issues) == [2, 4]
    assert issues[0].message == (
        "duplicate key (period=2012-01, district_code=330102, scheme=resident_medical): also on row(s) 4"
    )
