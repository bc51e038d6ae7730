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

from hzwh.feeds.contracts import Column, FeedContract
from hzwh.feeds.reader import ROW_NUMBER


@dataclass(frozen=True)
class Issue:
    row_number: int
    column: str
    value: str
    rule: str
    message: str


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
    text = clean_text(value).replace(" ", "")
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    return text


def _parse_numbers(text: pd.Series) -> pd.Series:
    values = pd.to_numeric(text, errors="coerce")
    retry = values.isna() & (text != "")
    if retry.any():
        fixed = text[retry].map(_canonical_number_text)
        values = values.astype("float64")
        values.loc[retry] = pd.to_numeric(fixed, errors="coerce")
    return values.astype("float64")


def _map_unique(text: pd.Series, fn) -> pd.Series:
    """Apply a per-value function once per distinct value: codes and enums repeat a lot."""
    uniques = pd.unique(text.to_numpy())
    mapping = {u: fn(u) for u in uniques}
    return text.map(mapping)


def _canonical_code(value: str) -> str:
    text = clean_text(value).replace(" ", "")
    return text[:-2] if text.endswith(".0") else text


def _canonical_enum(column: Column):
    fixed = column.allowed if isinstance(column.allowed, tuple) else None
    by_folded = {v.casefold(): v for v in fixed} if fixed else {}

    def fn(value: str) -> str:
        text = clean_text(value)
        return by_folded.get(text.casefold(), text)

    return fn


def normalise(frame: pd.DataFrame, contract: FeedContract) -> tuple[pd.DataFrame, list[Issue]]:
    """Return the typed frame (same rows, same order) and the cells that could not be typed."""
    out = pd.DataFrame({ROW_NUMBER: frame[ROW_NUMBER].to_numpy()})
    issues: list[Issue] = []
    rows = frame[ROW_NUMBER].to_numpy()

    for column in contract.columns:
        if column.name not in frame.columns:
            out[column.name] = None  # optional column absent from this file
            continue
        text = frame[column.name].astype(str)
        blank = (text.str.strip() == "").to_numpy()

        if column.kind in ("integer", "decimal"):
            values = _parse_numbers(text)
            bad = values.isna().to_numpy() & ~blank
            if column.kind == "integer":
                not_whole = (~np.isnan(values.to_numpy())) & (np.mod(values.to_numpy(), 1) != 0)
                bad |= not_whole
                values = values.where(~not_whole)
                out[column.name] = values.round().astype("Int64")
                expected = "an integer (digits, optionally with thousands separators)"
            else:
                out[column.name] = values
                expected = "a decimal number"
            for idx in np.flatnonzero(bad):
                issues.append(
                    Issue(int(rows[idx]), column.name, text.iat[idx], f"type:{column.kind}",
                          f"{column.name} must be {expected}, got {text.iat[idx]!r}")
                )
        elif column.kind == "period":
            values = _map_unique(text, lambda v: canonical_period(v) if v.strip() else None)
            bad = values.isna().to_numpy() & ~blank
            out[column.name] = values
            for idx in np.flatnonzero(bad):
                issues.append(
                    Issue(int(rows[idx]), column.name, text.iat[idx], "type:period",
                          f"{column.name} must be a month as YYYY-MM, got {text.iat[idx]!r}")
                )
        elif column.kind == "code":
            out[column.name] = _map_unique(text, lambda v: _canonical_code(v) or None)
        else:
            fn = _canonical_enum(column)
            out[column.name] = _map_unique(text, lambda v, fn=fn: fn(v) or None)
    return out, issues
