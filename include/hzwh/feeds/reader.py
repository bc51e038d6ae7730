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

import pandas as pd

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
    frame: pd.DataFrame  # ROW_NUMBER + the contract columns present, as text
    encoding: str
    header_row: int
    extra_columns: tuple[str, ...]
    blank_rows: int

    @property
    def rows_delivered(self) -> int:
        return len(self.frame)


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


def read_table(path: Path, contract: FeedContract, *, label: str | None = None) -> RawTable:
    """Read a CSV or .xlsx into text cells, with spreadsheet row numbers (the header is row 1 or below)."""
    file_label = label or path.name
    if path.suffix.lower() == ".xlsx":
        encoding = "xlsx"
        grid = _grid_from_xlsx(path, file_label)
    else:
        encoding, text = decode(path.read_bytes())
        grid = _grid_from_csv(text, file_label)
    if grid.empty:
        raise FileRejected(f"{file_label}: the file is empty")

    header_idx = _find_header(grid, contract, file_label)
    header = [normalise_header(v) for v in grid.iloc[header_idx].tolist()]
    known = set(contract.column_names)
    seen: dict[str, int] = {}
    for pos, name in enumerate(header):
        if name in known and name in seen:
            raise FileRejected(
                f"{file_label}: column {name!r} appears twice (columns {seen[name] + 1} and {pos + 1}); "
                "the file is ambiguous"
            )
        seen.setdefault(name, pos)

    body = grid.iloc[header_idx + 1 :]
    columns = {name: body.iloc[:, pos] for name, pos in seen.items() if name in known}
    frame = pd.DataFrame(columns)
    frame = frame.fillna("").astype(str)
    # Spreadsheet numbering: the first line of the file is row 1.
    frame.insert(0, ROW_NUMBER, body.index.to_numpy() + 1)
    extra = tuple(name for name in seen if name not in known and name)

    values = frame.drop(columns=[ROW_NUMBER])
    blank = (values.apply(lambda s: s.str.strip()) == "").all(axis=1) if len(values) else pd.Series([], dtype=bool)
    blank_rows = int(blank.sum())
    if blank_rows:
        frame = frame[~blank.to_numpy()]
    frame = frame.reset_index(drop=True)
    return RawTable(
        frame=frame, encoding=encoding, header_row=header_idx + 1, extra_columns=extra, blank_rows=blank_rows
    )
