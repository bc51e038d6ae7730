"""Turn the text cells of a delivered file into typed values, noting every cell that cannot be.

Numbers may carry thousands separators (`1,234`) or full-width digits
(`１２３`), codes may have lost a leading space or gained `.0` in a
spreadsheet, enumerations are case-insensitive, periods come as `2012-01`,
`2012/1` or `201201`. The fast path is vectorised: only cells that fail a plain
parse go through the slower Unicode clean-up.

A cell that cannot be typed becomes null and yields an `Issue`; whether the
row is then quarantined is the validity suite's decision.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hzwh.feeds.contracts import Column, FeedContract
from hzwh.feeds.reader import ROW_NUMBER, SURPLUS


@dataclass(frozen=True)
class Issue:
    row_number: int
    column: str
    value: str
    rule: str
    message: str


MAX_INTEGER = 10**15
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
PERIOD_FORMS = (
    re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})月?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-01(?:[ T]00:00:00)?$"),
)


def clean_text(value: str) -> str:
    """NFKC folds full-width digits, letters, commas and the ideographic space; then strip."""
    return unicodedata.normalize("NFKC", value).strip()


def canonical_period(value: str) -> str | None:
    text = clean_text(value)
    for form in PERIOD_FORMS:
        m = form.match(text)
        if m and 1 <= int(m["m"]) <= 12:
            return f"{m['y']}-{int(m['m']):02d}"
    return None


def _canonical_number_text(value: str) -> str:
    text = clean_text(value).replace(" ", "").replace("\u2212", "-")  # U+2212 MINUS SIGN, as typeset
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    return text


def _parse_numbers_slow(text: pd.Series) -> pd.Series:
    values = pd.to_numeric(text, errors="coerce")
    retry = values.isna() & (text != "")
    if retry.any():
        fixed = text[retry].map(_canonical_number_text)
        values = values.astype("float64")
        values.loc[retry] = pd.to_numeric(fixed, errors="coerce")
    return values.astype("float64")


def _fast_cast(arr: pa.Array, kind: str) -> np.ndarray | None:
    """Arrow's cast for a column of plain numbers (the common case); None when any cell needs care."""
    try:
        return pc.cast(arr, pa.int64() if kind == "integer" else pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _map_dictionary(arr: pa.Array, fn) -> tuple[pd.Categorical, bool]:
    """Apply a per-value function once per distinct value: codes and enums repeat a lot.

    The result stays dictionary-encoded (a pandas Categorical), which is also
    what makes the set and uniqueness checks cheap on a million rows.
    """
    encoded = pc.dictionary_encode(arr)
    originals = encoded.dictionary.to_pylist()
    mapped = [fn(v) for v in originals]
    # Verbatim: every value is already canonical (an empty cell becomes null, as COPY would make it).
    verbatim = all(m == v or (v == "" and m is None) for m, v in zip(mapped, originals, strict=True))
    categories = list(dict.fromkeys(v for v in mapped if v is not None))
    position = {v: i for i, v in enumerate(categories)}
    lookup = np.array([position.get(v, -1) for v in mapped] + [-1], dtype=np.int32)
    codes = lookup[encoded.indices.fill_null(len(mapped)).to_numpy(zero_copy_only=False)]
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object)), verbatim


def _canonical_code(value: str) -> str:
    text = clean_text(value)
    digits = text.replace(" ", "").removesuffix(".0")
    # Only a code is compacted: anything else stays as delivered (trimmed), so that a reason quotes it.
    return digits if digits.isascii() and digits.isdigit() else text


def _canonical_enum(column: Column):
    fixed = column.allowed if isinstance(column.allowed, tuple) else None
    by_folded = {v.casefold(): v for v in fixed} if fixed else {}

    def fn(value: str) -> str:
        text = clean_text(value)
        return by_folded.get(text.casefold(), text)

    return fn


def _blank(arr: pa.Array) -> np.ndarray:
    """Cells with nothing in them: empty or whitespace text, or a null from a typed parse."""
    if pa.types.is_dictionary(arr.type):
        per_value = pc.equal(pc.utf8_trim_whitespace(arr.dictionary), "")
        blank = pc.fill_null(pc.take(per_value, arr.indices), True)
    elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(arr), ""), True)
    else:
        blank = pc.is_null(arr)
    return blank.to_numpy(zero_copy_only=False)


def _typed_numbers(arr: pa.Array, column: Column) -> np.ndarray | pd.arrays.IntegerArray | None:
    """A column Arrow already parsed as numbers (the streaming reader's typed parse): only empty cells
    (nulls) and, for decimals, `nan`/`inf` need a look. None when a value needs the text path."""
    if column.kind == "integer" and pa.types.is_integer(arr.type):
        missing = pc.is_null(arr).to_numpy(zero_copy_only=False)
        values = pc.fill_null(arr, 0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        if (np.abs(values) >= MAX_INTEGER).any():
            return None
        return pd.arrays.IntegerArray(values, missing) if missing.any() else values
    if column.kind == "decimal" and pa.types.is_floating(arr.type):
        values = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)  # nulls become NaN
        if np.isinf(values).any() or (np.isnan(values) & ~pc.is_null(arr).to_numpy(zero_copy_only=False)).any():
            return None  # `nan` / `inf` were delivered as text: no figure a bureau reports
        return values
    return None


def _issues(bad: np.ndarray, rows: np.ndarray, text: pa.Array, column: Column, rule: str, expected: str) -> list[Issue]:
    out = []
    for idx in np.flatnonzero(bad):
        value = text[int(idx)].as_py()
        out.append(Issue(int(rows[idx]), column.name, value, rule, f"{column.name} must be {expected}, got {value!r}"))
    return out


def normalise(table: pa.Table, contract: FeedContract) -> tuple[pd.DataFrame, list[Issue], bool]:
    """Return the typed frame (same rows, same order), the cells that could not be typed, and whether
    every cell was already in canonical form (so that PostgreSQL would read the delivered text the same)."""
    verbatim = True
    rows = table.column(ROW_NUMBER).to_numpy()
    out = pd.DataFrame({ROW_NUMBER: rows})
    issues: list[Issue] = []
    if SURPLUS in table.column_names:
        surplus = table.column(SURPLUS).combine_chunks()
        verbatim = False
        for idx in np.flatnonzero(~_blank(surplus)):
            value = surplus[int(idx)].as_py()
            issues.append(Issue(
                int(rows[idx]), SURPLUS, value, SURPLUS,
                f"the row has cell(s) beyond the header's last column ({value!r}): an unquoted comma "
                "(as in 1,234) shifts the values after it",
            ))

    for column in contract.columns:
        if column.name not in table.column_names:
            out[column.name] = None  # optional column absent from this file
            continue
        text = table.column(column.name).combine_chunks()

        if column.kind in ("integer", "decimal") and not pa.types.is_string(text.type):
            typed = _typed_numbers(text, column)
            if typed is not None:
                out[column.name] = typed
                continue
            text = text.cast(pa.string())  # back to the delivered text (as Arrow read it) for the careful path
        if column.kind in ("integer", "decimal"):
            fast = _fast_cast(text, column.kind)
            if fast is not None and not (fast.dtype.kind == "f" and not np.isfinite(fast).all()):
                out[column.name] = fast
                continue
            verbatim = False
            blank = _blank(text)
            values = _parse_numbers_slow(pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)).to_numpy()
            missing = ~np.isfinite(values)  # not a number, or `inf` / `1e999`: no figure a bureau reports
            bad = missing & ~blank
            finite = np.where(missing, 0.0, values)
            if column.kind == "integer":
                not_whole = ~missing & (np.mod(finite, 1) != 0)
                # Beyond 10^15 a float no longer holds every integer exactly (and int64 overflows at 9.2e18).
                too_large = ~missing & ~not_whole & (np.abs(finite) >= MAX_INTEGER)
                issues += _issues(too_large, rows, text, column, "type:integer", "a count below 10^15")
                bad |= not_whole
                missing |= not_whole | too_large
                whole = np.where(missing, 0, finite).astype("int64")
                out[column.name] = pd.arrays.IntegerArray(whole, missing)
                expected = "an integer (digits, optionally with thousands separators)"
            else:
                out[column.name] = np.where(missing, np.nan, values)
                expected = "a decimal number"
            percent = bad & pc.match_substring(text, "%").to_numpy(zero_copy_only=False)
            if column.kind == "decimal" and percent.any():  # a rate sent as a percentage
                issues += _issues(percent, rows, text, column, "type:decimal", "a decimal number (a rate as a "
                                  "fraction: 0.95, not 95%)")
                bad &= ~percent
            issues += _issues(bad, rows, text, column, f"type:{column.kind}", expected)
        elif column.kind == "period":
            values, same = _map_dictionary(text, lambda v: canonical_period(v) if v.strip() else None)
            verbatim &= same
            out[column.name] = values
            bad = pd.isna(values) & ~_blank(text)
            issues += _issues(bad, rows, text, column, "type:period", "a month as YYYY-MM")
        elif column.kind == "code":
            out[column.name], same = _map_dictionary(text, lambda v: _canonical_code(v) or None)
            verbatim &= same
        else:
            fn = _canonical_enum(column)
            out[column.name], same = _map_dictionary(text, lambda v, fn=fn: fn(v) or None)
            verbatim &= same
    return out, issues, verbatim
