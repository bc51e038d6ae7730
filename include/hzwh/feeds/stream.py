"""Delivered files as a sequence of row chunks, so that a file of any size is read in bounded memory.

Two sources give the ingest the same interface:

* `PlainCsv` streams the plainest and by far the most common kind of file, a
  machine export: UTF-8 or GB18030 (GBK), the header on row 1, no quoted
  cells, no blank lines. A GB18030 block is turned into UTF-8 before parsing
  when the careful reader would read it the same way (no UTF-8 line pasted in,
  every character a GB2312 one), so that everything after sees UTF-8.
  It reads `CHUNK_BYTES` of whole lines at a time and parses each block with
  Arrow straight into typed columns (integers, decimals, dictionary-encoded
  codes), falling back to text columns for a block whose values need the
  careful normalisation (`1,234`, full-width digits, `.0` codes). Each chunk
  keeps its delivered lines, so that rows PostgreSQL would read exactly as
  delivered are sent to COPY as they are, without being formatted again.
* `WholeTable` wraps `read_table`'s careful reading of everything else (quoted
  cells, title rows, blank lines, ragged rows, .xlsx, UTF-16, encodings it
  must judge on the whole file) as one chunk: those files come from people
  and spreadsheets, and are small.

A file that looked plain at its start but is not (a quote, a blank line or a
row of empty cells further down, a line with a cell too many, text in an
encoding other than the one the file started in) raises `NotStreamable` from
`PlainCsv.chunks()`; the caller starts again with `WholeTable`, which explains
or handles what was found.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from hzwh.feeds.contracts import Column, FeedContract
from hzwh.feeds.reader import (
    GB2312_AS_GBK_READS,
    ROW_NUMBER,
    RawTable,
    blank_row_mask,
    first_utf8_line,
    normalise_header,
)

# Chunk sizes trade Great Expectations' fixed cost per run (~45 ms however few the rows: it
# resolves its metric graph every time) against the pipeline's fill and drain: COPY waits for the
# first chunk to be checked, and the last chunk's COPY starts only after its check. Measured on
# 2 cores (bench/results/benchmark.md): 16 MB then 24 MB chunks (~350k-520k rows of a typical
# feed, ~60 MB of memory each) beat both 4 MB (GX runs 6 times as often) and 32 MB (a long tail).
FIRST_CHUNK_BYTES = 16 << 20
CHUNK_BYTES = int(os.environ.get("HZWH_CHUNK_BYTES", 24 << 20))
SNIFF_BYTES = 64 << 10
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


class NotStreamable(Exception):
    """The file is not plain after all; read it with the careful reader instead."""


def gb18030_as_utf8(data: bytes, row: int) -> bytes:
    """Whole lines of a GB18030 (GBK) file as UTF-8, or NotStreamable when the careful reader must judge them.

    `read_table` reads a file as GB18030 when it is not UTF-8, has no line that is (a line pasted
    from a UTF-8 file), and reads mostly as characters a GBK export holds. A block passes here only
    when that holds line by line, for every character (GB2312), so a block read either way reads
    the same. A newline byte is never part of a GB18030 character, so blocks of whole lines
    decode on their own.
    """
    if data.isascii():
        return data
    line = first_utf8_line(data)
    if line is not None:
        raise NotStreamable(f"row {row + line - 1}: a UTF-8 line in a GB18030 file")
    try:
        text = data.decode("gb18030")
        plain = text
        for char in GB2312_AS_GBK_READS:  # GB2312 characters the gb2312 codec maps differently
            plain = plain.replace(char, "")
        plain.encode("gb2312")
    except UnicodeError as exc:
        raise NotStreamable(f"row {row} or later: {exc.reason} ({exc.encoding})") from None
    return text.encode("utf-8")


def _arrow_type(column: Column) -> pa.DataType:
    if column.kind == "integer":
        return pa.int64()
    if column.kind == "decimal":
        return pa.float64()
    return _DICTIONARY


@dataclass
class Chunk:
    """Consecutive rows of a file: ROW_NUMBER (the row a spreadsheet shows) and the contract's columns."""

    table: pa.Table | None  # None for a chunk re-read only for its lines
    first_row: int
    rows: int
    columns: tuple[str, ...]  # the contract columns the file has
    lines: bytes | None = None  # the delivered data lines in UTF-8 (PlainCsv only), one per row
    names: tuple[str, ...] = ()  # every column of the file, in file order (PlainCsv only)
    _bounds: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def of_table(cls, table: pa.Table) -> Chunk:
        rows = table.column(ROW_NUMBER)
        first = int(rows[0].as_py()) if len(rows) else 0
        return cls(table, first, table.num_rows, tuple(n for n in table.column_names if n != ROW_NUMBER))

    def line_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (exclusive, without the line break) of every line in `lines`."""
        assert self.lines is not None
        if self._bounds is None:
            breaks = np.flatnonzero(np.frombuffer(self.lines, dtype=np.uint8) == 0x0A)
            ends = breaks if len(breaks) == self.rows else np.append(breaks, len(self.lines))
            starts = np.concatenate(([0], breaks + 1))[: len(ends)]
            self._bounds = starts, ends
        return self._bounds

    def records(self, rows: list[int]) -> dict[int, dict[str, str]]:
        """The delivered text of some of this chunk's rows, cell by cell (for quarantine)."""
        if not rows:
            return {}
        if self.lines is None:
            assert self.table is not None
            picked = self.table.filter(pc.is_in(self.table.column(ROW_NUMBER), value_set=pa.array(rows, pa.int64())))
            return {rec.pop(ROW_NUMBER): rec for rec in picked.to_pylist()}
        starts, ends = self.line_bounds()
        first = self.first_row
        out = {}
        for row in rows:
            i = row - first
            line = self.lines[starts[i] : ends[i]].removesuffix(b"\r").decode("utf-8")
            cells = dict(zip(self.names, line.split(","), strict=True))
            out[row] = {name: cells[name] for name in self.columns}
        return out

    def lines_without(self, rows: list[int]) -> list[memoryview]:
        """The delivered lines minus some rows, as slices of the chunk (nothing is copied)."""
        view = memoryview(self.lines)
        if not rows:
            return [view]
        starts, ends = self.line_bounds()
        first, pieces, keep_from = self.first_row, [], 0
        for row in sorted(rows):
            i = row - first
            if starts[i] > keep_from:
                pieces.append(view[keep_from : starts[i]])
            keep_from = min(int(ends[i]) + 1, len(self.lines))
        if keep_from < len(self.lines):
            pieces.append(view[keep_from:])
        return pieces


@dataclass
class PlainCsv:
    """A plain CSV file, read chunk by chunk; see the module's docstring."""

    path: Path
    contract: FeedContract
    names: tuple[str, ...]  # every header cell, normalised, in file order
    body_offset: int  # where the first data line starts
    encoding: str  # utf-8, utf-8-sig or gb18030; a file that is ASCII at its start may turn out GB18030
    chunk_bytes: int = 0  # 0: CHUNK_BYTES
    blank_rows: int = 0
    non_ascii: bool = False  # a chunk read so far had bytes above 0x7F
    # (first row, rows, byte offset, bytes) of each chunk read so far: to find a row's line again
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def columns(self) -> tuple[str, ...]:
        """The contract's columns present in the file, in file order: the columns COPY receives."""
        known = set(self.contract.column_names)
        return tuple(n for n in self.names if n in known)

    @property
    def extra_columns(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in set(self.contract.column_names) and n)

    @property
    def direct(self) -> bool:
        """Every column of the file is a contract column: its lines are what COPY reads."""
        return self.columns == self.names

    @classmethod
    def open(cls, path: Path, contract: FeedContract) -> PlainCsv | None:
        """The file as a plain CSV, or None when its start already shows it is not one."""
        if path.suffix.lower() != ".csv":
            return None
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        encoding = "utf-8"
        if head.startswith(b"\xef\xbb\xbf"):
            encoding, head, bom = "utf-8-sig", head[3:], 3
        else:
            bom = 0
        newline = head.find(b"\n")
        if newline < 0 or b"\x00" in head or b'"' in head:
            return None
        block = head[: head.rfind(b"\n") + 1]  # the sniffed block up to its last whole line
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            if bom:
                return None
            try:
                gb18030_as_utf8(block, 1)
            except NotStreamable:
                return None
            encoding = "gb18030"
        header = head[:newline].removesuffix(b"\r").decode(encoding.removesuffix("-sig"))
        names = tuple(normalise_header(n) for n in header.split(","))
        known = [n for n in names if n in set(contract.column_names)]
        if len(set(known)) != len(known) or not set(contract.required_columns) <= set(known):
            return None  # a title row, a missing or doubled column: the careful reader says which
        return cls(path, contract, names, bom + newline + 1, encoding, non_ascii=not block.isascii())

    def _utf8(self, data: bytes, row: int) -> bytes:
        """A block of whole lines from row `row` on, as UTF-8."""
        if self.encoding == "gb18030":
            return gb18030_as_utf8(data, row)
        if data.isascii():
            return data
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.non_ascii or self.encoding == "utf-8-sig":
                raise NotStreamable(f"row {row} or later: not UTF-8 ({exc.reason})") from None
            self.encoding = "gb18030"  # ASCII until here: as the careful reader would, try GB18030
            return gb18030_as_utf8(data, row)
        self.non_ascii = True
        return data

    def _parse(self, data: bytes, first_row: int) -> pa.Table:
        columns = self.columns
        options = {
            "read_options": pacsv.ReadOptions(column_names=list(self.names), block_size=4 << 20),
            "parse_options": pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
        }
        typed = {n: _arrow_type(self.contract.column(n)) for n in columns}
        text = dict.fromkeys(columns, pa.string())
        table = None
        for types in (typed, text):
            try:
                table = pacsv.read_csv(
                    pa.py_buffer(data),
                    convert_options=pacsv.ConvertOptions(
                        column_types=types, include_columns=list(columns), null_values=[""],
                        strings_can_be_null=False, quoted_strings_can_be_null=False,
                    ),
                    **options,
                )
                break
            except pa.ArrowInvalid as exc:
                error = exc
        if table is None:  # a row with more or fewer cells than the header, or text that is not UTF-8
            raise NotStreamable(f"row {first_row} or later: {error}")
        rows = pa.array(np.arange(first_row, first_row + table.num_rows, dtype=np.int64))
        return table.add_column(0, ROW_NUMBER, rows)

    def chunks(self) -> Iterator[Chunk]:
        """The file's rows, `chunk_bytes` of whole lines at a time."""
        row, offset = 2, self.body_offset
        size = min(FIRST_CHUNK_BYTES, self.chunk_bytes or CHUNK_BYTES)
        self.spans = []
        with open(self.path, "rb") as fh:
            fh.seek(self.body_offset)
            carry = b""
            while True:
                block = fh.read(size)
                size = min(2 * size, self.chunk_bytes or CHUNK_BYTES)
                data = carry + block if carry else block
                if block:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:
                        carry = data
                        continue
                    data, carry = data[:cut], data[cut:]
                else:
                    carry = b""
                if not data:
                    return
                size_read = len(data)
                data = self._utf8(data, row)
                if b'"' in data:
                    raise NotStreamable(f"a quoted cell on row {row} or later")
                if data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data:
                    raise NotStreamable(f"a blank line on row {row} or later")
                lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
                table = self._parse(data, row)
                if table.num_rows != lines:
                    raise NotStreamable(f"rows {row}-{row + lines - 1}: {lines} lines but {table.num_rows} rows")
                if blank_row_mask(table, self.columns) is not None:  # the careful reader drops such rows
                    raise NotStreamable(f"a row of empty cells on row {row} or later")
                self.spans.append((row, lines, offset, size_read))
                yield Chunk(table, row, lines, self.columns, data, self.names)
                row += lines
                offset += size_read
                if not block:
                    return

    def records(self, rows: list[int]) -> dict[int, dict[str, str]]:
        """The delivered text of any rows already read by `chunks()` (their lines are read again)."""
        out: dict[int, dict[str, str]] = {}
        with open(self.path, "rb") as fh:
            for first, count, offset, size in self.spans:
                mine = [r for r in rows if first <= r < first + count]
                if mine:
                    fh.seek(offset)
                    data = fh.read(size)
                    if self.encoding == "gb18030":
                        data = gb18030_as_utf8(data, first)
                    chunk = Chunk(None, first, count, self.columns, data, self.names)
                    out.update(chunk.records(mine))
        return out


@dataclass
class WholeTable:
    """A file read whole by `read_table`: one chunk of text cells."""

    raw: RawTable
    contract: FeedContract

    @property
    def columns(self) -> tuple[str, ...]:
        """Every contract column (normalising adds an absent optional one as nulls): the columns COPY receives."""
        return self.contract.column_names

    @property
    def encoding(self) -> str:
        return self.raw.encoding

    @property
    def blank_rows(self) -> int:
        return self.raw.blank_rows

    @property
    def extra_columns(self) -> tuple[str, ...]:
        return self.raw.extra_columns

    @property
    def direct(self) -> bool:
        return False

    def chunks(self) -> Iterator[Chunk]:
        if self.raw.frame.num_rows:
            yield Chunk.of_table(self.raw.frame)

    def records(self, rows: list[int]) -> dict[int, dict[str, str]]:
        return Chunk.of_table(self.raw.frame).records(rows)
