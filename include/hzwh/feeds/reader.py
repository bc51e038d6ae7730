"""Read one delivered file into a frame of strings, one row per data line.

Bureau files come from spreadsheets typed by people: the encoding is UTF-8
(with or without BOM) or GB18030/GBK, headers vary in case and width, a title
row may sit above the header, and columns come in any order. This module turns
all of that into a frame with the contract's column names, the original text of
every cell, and the line number a person would see in a spreadsheet, or raises
`FileRejected` with a reason a person can act on.
"""

from __future__ import annotations

import io
import re
import unicodedata
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
    if not match or match["feed"].lower() != feed:
        raise FileRejected(
            f"file name {name!r} does not follow {feed}_<YYYYMM>[_<suffix>].csv|.xlsx (FEEDS.md §2)"
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
    plain: bool = False  # parsed by the fast path: header on row 1, no quotes, no blank lines

    @property
    def rows_delivered(self) -> int:
        return self.frame.num_rows


def normalise_header(name: object) -> str:
    """`Insured Persons `, `ＩＮＳＵＲＥＤ_PERSONS` and `insured persons` all become `insured_persons`."""
    text = unicodedata.normalize("NFKC", str(name)).replace("\ufeff", "").strip().strip('"').strip()
    return re.sub(r"[\s\-]+", "_", text).lower()


def decode(data: bytes) -> tuple[str, str]:
    """Return (encoding, text). UTF-8 first (strict), then GB18030, which covers GBK and GB2312."""
    if b"\x00" in data[:65536]:
        raise FileRejected("the file is binary (it contains NUL bytes), not a CSV text file")
    try:
        text = data.decode("utf-8")
        return ("utf-8-sig" if text.startswith("\ufeff") else "utf-8"), text.removeprefix("\ufeff")
    except UnicodeDecodeError:
        pass
    try:
        return "gb18030", data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"the file is neither UTF-8 nor GB18030/GBK text (undecodable byte at offset {exc.start})"
        ) from None


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
        raise FileRejected(
            f"{file_label}: no header row found in the first {HEADER_SEARCH_ROWS} rows; "
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


@dataclass(frozen=True)
class DirectCopyPlan:
    """A plain file whose data lines PostgreSQL can COPY as delivered: the columns in file order, the body."""

    columns: tuple[str, ...]
    body: bytes


def direct_copy_plan(data: bytes, contract: FeedContract) -> DirectCopyPlan | None:
    """Whether the delivered bytes can stream straight into raw.<feed> while they are being validated.

    Only for the plainest files: UTF-8 or GB18030 text with no quotes and no
    blank lines, a header on row 1 naming only contract columns (each once).
    Whether every value is also already canonical is known only after
    normalising; the caller loads speculatively and falls back if not.
    """
    try:
        encoding, text = decode(data)
    except FileRejected:
        return None
    payload = data.removeprefix(b"\xef\xbb\xbf") if encoding.startswith("utf-8") else text.encode("utf-8")
    if b'"' in payload or b"\n\n" in payload or b"\n\r\n" in payload or b"\n" not in payload:
        return None
    header, body = payload.split(b"\n", 1)
    names = [normalise_header(n) for n in header.decode("utf-8").split(",")]
    known = set(contract.column_names)
    if len(set(names)) != len(names) or not set(names) <= known or not set(contract.required_columns) <= set(names):
        return None
    return DirectCopyPlan(tuple(names), body)


def _grid_from_csv(text: str, file_label: str) -> pd.DataFrame:
    if not text.strip():
        raise FileRejected(f"{file_label}: the file is empty")
    try:
        return pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise FileRejected(f"{file_label}: not a well-formed CSV file: {exc}") from None


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


def _drop_blank_rows(table: pa.Table) -> tuple[pa.Table, int]:
    """A row whose every cell is empty is not a row (it is not counted as delivered)."""
    value_columns = [c for c in table.column_names if c != ROW_NUMBER]
    if not value_columns or table.num_rows == 0:
        return table, 0
    blank = None
    for name in value_columns:
        empty = pc.equal(pc.utf8_trim_whitespace(pc.fill_null(table.column(name), "")), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    count = pc.sum(blank).as_py() or 0
    if count:
        table = table.filter(pc.invert(blank))
    return table, count


def read_table(path: Path, contract: FeedContract, *, label: str | None = None, data: bytes | None = None) -> RawTable:
    """Read a CSV or .xlsx into text cells, with spreadsheet row numbers (the header is row 1 or below)."""
    file_label = label or path.name
    fast = None
    if path.suffix.lower() == ".xlsx":
        encoding = "xlsx"
        grid = _grid_from_xlsx(path, file_label)
    else:
        data = path.read_bytes() if data is None else data
        encoding, text = decode(data)
        fast = _fast_csv(text, data, encoding)
        if fast is not None:
            header = [fast.column(i)[0].as_py() for i in range(fast.num_columns)]
            required = set(contract.required_columns)
            if not required <= {normalise_header(h) for h in header}:
                fast = None  # a title row, or a missing column: let the careful path explain
        if fast is None:
            grid = _grid_from_csv(text, file_label)

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
    table = pa.table({ROW_NUMBER: row_numbers, **columns})
    table, blank_rows = _drop_blank_rows(table)
    return RawTable(
        frame=table, encoding=encoding, header_row=header_row, extra_columns=extra, blank_rows=blank_rows,
        plain=fast is not None,
    )
