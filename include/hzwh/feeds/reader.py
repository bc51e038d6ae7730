"""Read one delivered file into a frame of strings, one row per data line.

Bureau files come from spreadsheets typed by people: the encoding is UTF-8
(with or without BOM) or GB18030/GBK, headers vary in case and width, a title
row may sit above the header, and columns come in any order. This module turns
all of that into a frame with the contract's column names, the original text of
every cell, and the line number a person would see in a spreadsheet, or raises
`FileRejected` with a reason a person can act on.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from hzwh.feeds.contracts import FeedContract

HEADER_SEARCH_ROWS = 10
ROW_NUMBER = "row_number"
# A CSV row with more cells than its header keeps them here (joined by commas): they belong to no
# column, and the values before them may be shifted, so normalise flags the row.
SURPLUS = "cells_beyond_header"


class FileRejected(Exception):
    """The whole file cannot be used; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class DeliveredFile:
    """What the file name says (FEEDS.md §2: `<feed>_<YYYYMM>[_<suffix>].csv|.xlsx`)."""

    feed: str
    period: str  # YYYY-MM
    suffix: str | None
    extension: str


FILE_NAME = re.compile(
    r"^(?P<feed>[a-z][a-z_]*?)_(?P<year>\d{4})(?P<month>0[1-9]|1[0-2])(?:_(?P<suffix>.+))?\.(?P<ext>csv|xlsx)$",
    re.IGNORECASE,
)


def parse_file_name(name: str, feed: str) -> DeliveredFile:
    match = FILE_NAME.match(name)
    why = ""
    if match and match["feed"].lower() != feed:
        why = f": it names the feed {match['feed']!r} (delivered to the wrong folder?)"
    elif match and match["suffix"] is not None and (
        ".." in match["suffix"] or not any(ch.isalnum() for ch in match["suffix"])
        or any(ch in "/\\" or not ch.isprintable() for ch in match["suffix"])
    ):
        why = f": the suffix {match['suffix']!r} must be letters or digits, not dots or path characters"
    if not match or why:
        raise FileRejected(
            f"file name {name!r} does not follow {feed}_<YYYYMM>[_<suffix>].csv|.xlsx (FEEDS.md §2){why}"
        )
    return DeliveredFile(
        feed=feed,
        period=f"{match['year']}-{match['month']}",
        suffix=match["suffix"],
        extension=match["ext"].lower(),
    )


@dataclass
class RawTable:
    frame: pa.Table  # ROW_NUMBER (int64) + the contract columns present, as text
    encoding: str
    header_row: int
    extra_columns: tuple[str, ...]
    blank_rows: int


def normalise_header(name: object) -> str:
    """`Insured Persons `, `ＩＮＳＵＲＥＤ_PERSONS` and `insured persons` all become `insured_persons`."""
    text = unicodedata.normalize("NFKC", str(name)).replace("\ufeff", "").strip().strip('"').strip()
    return re.sub(r"[\s\-]+", "_", text).lower()


# A character of three or more UTF-8 bytes (CJK, full-width forms). On a line that is valid UTF-8 it
# is evidence of UTF-8: GBK text practically never decodes like that.
_WIDE = re.compile("[\u0800-\ufffc]")


def first_utf8_line(data: bytes) -> int | None:
    """The first line (1-based) of `data` that is valid UTF-8 with a wide character (U+0800-U+FFFC).

    In a file that is not UTF-8 as a whole, such a line was pasted in from a UTF-8 file: GBK
    text almost never forms valid three-byte UTF-8 for a whole line.
    """
    lenient = data.decode("utf-8", errors="replace")
    if _WIDE.search(lenient) is None:
        return None
    for number, line in enumerate(lenient.split("\n"), 1):
        if "\ufffd" not in line and _WIDE.search(line):
            return number
    return None


def _line(buffer: bytes | str, offset: int) -> int:
    """The 1-based line (as a text editor shows it) of a position in the file."""
    return buffer.count(b"\n" if isinstance(buffer, bytes) else "\n", 0, offset) + 1


# Python's gb2312 codec reads the bytes A1A4 and A1AA as ・ and ―; GB18030, and so every GBK
# export, as · and — (a middle dot in transliterated names, a dash standing for "none").
GB2312_AS_GBK_READS = "\u00b7\u2014"


def gb2312_char(char: str) -> bool:
    """A character of GB2312, the set a GBK export almost only holds."""
    if char in GB2312_AS_GBK_READS:
        return True
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def decode(data: bytes) -> tuple[str, str]:
    """Return (encoding, text). UTF-8 first (strict), then GB18030, which covers GBK and GB2312.

    UTF-16 with its byte-order mark is unambiguous and read as such. A file that mixes UTF-8 lines
    with GBK ones, or that decodes as GB18030 only into characters no GBK export contains (Windows-1252
    accents read as rare ideographs), is rejected rather than read as mojibake.
    """
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise FileRejected("the file is UTF-32 text; save it as UTF-8 or GB18030/GBK")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return "utf-16", data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileRejected(f"the file has a UTF-16 byte-order mark but is not UTF-16 (byte {exc.start})") from None
    if b"\x00" in data[:65536]:
        zipped = " (a ZIP archive: an .xlsx workbook renamed to .csv?)" if data.startswith(b"PK\x03\x04") else ""
        raise FileRejected(f"the file is binary{zipped} (it contains NUL bytes), not a CSV text file")
    try:
        text = data.decode("utf-8")
        return ("utf-8-sig" if text.startswith("\ufeff") else "utf-8"), text.removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        not_utf8 = _line(data, exc.start)
    utf8_line = first_utf8_line(data)
    if utf8_line is not None:
        raise FileRejected(
            f"the file mixes encodings: line {utf8_line} is UTF-8 but line {not_utf8} is not (GBK?); "
            "save the whole file again in one encoding"
        )
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"the file is neither UTF-8 nor GB18030/GBK text (line {_line(data, exc.start)} is neither: "
            "Windows-1252/Latin-1?); save it as UTF-8"
        ) from None
    non_ascii = [c for c in set(text) if c > "\x7f"]
    unusual = sorted(c for c in non_ascii if not gb2312_char(c))
    if 2 * len(unusual) > len(non_ascii):
        raise FileRejected(
            f"the file is not UTF-8 (line {not_utf8}), and as GB18030/GBK it reads as characters no bureau export "
            f"contains ({''.join(unusual[:8])}): probably Windows-1252/Latin-1; save it as UTF-8"
        )
    return "gb18030", text


def _find_header(grid: pd.DataFrame, contract: FeedContract, file_label: str) -> int:
    required = set(contract.required_columns)
    best: tuple[int, set[str]] = (-1, set())
    for i in range(min(HEADER_SEARCH_ROWS, len(grid))):
        names = {normalise_header(v) for v in grid.iloc[i].tolist() if isinstance(v, str) and v.strip()}
        found = required & names
        if found == required:
            return i
        if len(found) > len(best[1]):
            best = (i, found)
    if best[0] < 0:
        first_cells = " ".join(str(v) for v in grid.iloc[:HEADER_SEARCH_ROWS, 0].tolist())
        separator = next((name for sep, name in ((";", "semicolons"), ("\t", "tabs")) if sep in first_cells), None)
        hint = f" (the lines seem to be separated by {separator}, not commas)" if separator else ""
        raise FileRejected(
            f"{file_label}: no header row found in the first {HEADER_SEARCH_ROWS} rows{hint}; "
            f"expected the columns {', '.join(contract.required_columns)}"
        )
    missing = sorted(required - best[1])
    raise FileRejected(
        f"{file_label}: required column(s) missing: {', '.join(missing)} "
        f"(header found on row {best[0] + 1}; names are case-insensitive)"
    )


def _fast_csv(text: str, data: bytes, encoding: str) -> pa.Table | None:
    """Multi-threaded Arrow parse for plain files: no quotes, no blank lines, header on row 1.

    Anything less regular (quoted cells, blank lines, a title row, ragged
    rows) returns None and takes the careful pandas path, which keeps exact
    spreadsheet row numbers.
    """
    payload = data.removeprefix(b"\xef\xbb\xbf") if encoding.startswith("utf-8") else text.encode("utf-8")
    # bytes searches are memchr-fast; a str search would copy 40 MB for nothing.
    if b'"' in payload or b"\n\n" in payload or b"\n\r\n" in payload or not payload.strip(b" \t\r\n,"):
        return None
    first_line = payload[: payload.find(b"\n")] if b"\n" in payload else payload
    names = [f"c{i}" for i in range(first_line.count(b",") + 1)]
    try:
        return pacsv.read_csv(
            pa.py_buffer(payload),
            read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(quote_char=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None


def _unclosed_quote(file_label: str, row: int) -> FileRejected:
    return FileRejected(
        f"{file_label}: the quoted cell opened on row {row} is never closed "
        "(a stray \" or a truncated file), so no row from there on can be read reliably"
    )


def _grid_from_csv(text: str, file_label: str) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The cells of every record; with ragged rows also each record's cell count (else None)."""
    if not text.strip():
        raise FileRejected(f"{file_label}: the file is empty")
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
        return grid, None
    except pd.errors.ParserError as exc:
        unclosed = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if unclosed:
            raise _unclosed_quote(file_label, int(unclosed[1]) + 1) from None
        if "Expected" not in str(exc):
            raise FileRejected(f"{file_label}: not a well-formed CSV file: {exc}") from None
    # Ragged rows (a title row above the header, trailing commas, an unquoted comma in a number):
    # read them as they are and let read_table judge the cells beyond the header.
    records: list[list[str]] = []
    try:
        records.extend(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise _unclosed_quote(file_label, len(records) + 1) from None
        raise FileRejected(f"{file_label}: not a well-formed CSV file: row {len(records) + 1}: {exc}") from None
    widths = np.array([len(r) for r in records], dtype=np.int64)
    width = int(widths.max())
    return pd.DataFrame([r + [""] * (width - len(r)) for r in records], dtype=str), widths


def _grid_from_xlsx(path: Path, file_label: str) -> pd.DataFrame:
    try:
        grid = pd.read_excel(path, sheet_name=0, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged workbook
        raise FileRejected(f"{file_label}: not a readable .xlsx workbook: {exc}") from None
    return grid.fillna("")


def _columns_by_name(header: list[object], contract: FeedContract, file_label: str) -> tuple[dict[str, int], tuple]:
    known = set(contract.column_names)
    seen: dict[str, int] = {}
    for pos, value in enumerate(header):
        name = normalise_header(value)
        if name in known and name in seen:
            raise FileRejected(
                f"{file_label}: column {name!r} appears twice (columns {seen[name] + 1} and {pos + 1}); "
                "the file is ambiguous"
            )
        seen.setdefault(name, pos)
    extra = tuple(name for name in seen if name not in known and name)
    return {name: pos for name, pos in seen.items() if name in known}, extra


def blank_row_mask(table: pa.Table, columns: Sequence[str]) -> pa.ChunkedArray | None:
    """Which rows have every cell of `columns` empty or white space; None when no row has.

    A number column (the typed chunks of `hzwh.feeds.stream`) is empty where it is null. Those
    are looked at first: most chunks have no null there, which settles it.
    """
    blank = None
    for name in sorted(columns, key=lambda n: not pa.types.is_primitive(table.column(n).type)):
        column = table.column(name)
        if pa.types.is_primitive(column.type):
            empty = pc.is_null(column)
        else:
            empty = pc.equal(pc.utf8_trim_whitespace(pc.fill_null(column.cast(pa.string()), "")), "")
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            return None
    return blank


def _drop_blank_rows(table: pa.Table) -> tuple[pa.Table, int]:
    """A row whose every cell is empty is not a row (it is not counted as delivered)."""
    blank = blank_row_mask(table, [c for c in table.column_names if c != ROW_NUMBER])
    if blank is None:
        return table, 0
    return table.filter(pc.invert(blank)), pc.sum(blank).as_py()


def _surplus_cells(body: pd.DataFrame, widths: np.ndarray, header_width: int) -> pa.Array | None:
    """Per row, the non-empty cells beyond the header's last column, or None when no row has any."""
    values = [
        ",".join(cells[header_width:width]) if any(c.strip() for c in cells[header_width:width]) else ""
        for cells, width in zip(body.itertuples(index=False, name=None), widths.tolist(), strict=True)
    ]
    return pa.array(values, type=pa.string()) if any(values) else None


def read_table(path: Path, contract: FeedContract, *, label: str | None = None) -> RawTable:
    """Read a CSV or .xlsx into text cells, with spreadsheet row numbers (the header is row 1 or below)."""
    file_label = label or path.name
    fast = widths = None
    if path.suffix.lower() == ".xlsx":
        encoding = "xlsx"
        grid = _grid_from_xlsx(path, file_label)
    else:
        data = path.read_bytes()
        encoding, text = decode(data)
        fast = _fast_csv(text, data, encoding)
        if fast is not None:
            header = [fast.column(i)[0].as_py() for i in range(fast.num_columns)]
            required = set(contract.required_columns)
            if not required <= {normalise_header(h) for h in header}:
                fast = None  # a title row, or a missing column: let the careful path explain
        if fast is None:
            grid, widths = _grid_from_csv(text, file_label)

    if fast is not None:
        positions, extra = _columns_by_name(header, contract, file_label)
        body = fast.slice(1)
        header_row = 1
        row_numbers = pa.array(np.arange(2, body.num_rows + 2, dtype=np.int64))
        columns = {name: body.column(pos) for name, pos in positions.items()}
    else:
        if grid.empty:
            raise FileRejected(f"{file_label}: the file is empty")
        header_idx = _find_header(grid, contract, file_label)
        positions, extra = _columns_by_name(grid.iloc[header_idx].tolist(), contract, file_label)
        body = grid.iloc[header_idx + 1 :]
        header_row = header_idx + 1
        row_numbers = pa.array(body.index.to_numpy(dtype=np.int64) + 1)
        columns = {
            name: pa.array(body.iloc[:, pos].fillna("").astype(str).to_numpy(dtype=object), type=pa.string())
            for name, pos in positions.items()
        }
        if widths is not None:
            surplus = _surplus_cells(body, widths[header_idx + 1 :], int(widths[header_idx]))
            if surplus is not None:
                columns[SURPLUS] = surplus
    table = pa.table({ROW_NUMBER: row_numbers, **columns})
    table, blank_rows = _drop_blank_rows(table)
    return RawTable(
        frame=table, encoding=encoding, header_row=header_row, extra_columns=extra, blank_rows=blank_rows,
    )
