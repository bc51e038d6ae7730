"""Validity suites, built in code from the feed contracts: is a row usable?

Each expectation carries `meta` naming the rule and the column so that GX's
failing rows turn into quarantine reasons a person can read. A failing row is
quarantined; the rest of the file still publishes.

Two suites per feed, because a file is validated chunk by chunk
(`hzwh.feeds.stream`): the row suite (types, required cells, allowed codes,
minimums, numerator <= denominator, the period) runs on every chunk, and the
key suite runs once per file over a 64-bit hash of every row's key, so that a
key repeated in two chunks far apart is still found. Rows whose hashes repeat
are then compared by their key values, so a hash collision never quarantines
a row.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from hzwh.feeds.contracts import Column, FeedContract
from hzwh.feeds.normalise import Issue
from hzwh.feeds.reader import ROW_NUMBER
from hzwh.feeds.reference import CITY_CODE, allowed_values
from hzwh.validation.gx_context import get_context, run_suite

_SUITES: dict[tuple[FeedContract, str], Any] = {}
KEY_HASH = "key_hash"


def _allowed_expectation(column: Column, period: str):
    import great_expectations.expectations as gxe

    if isinstance(column.allowed, tuple):
        values = sorted(column.allowed)
        describe = "one of " + ", ".join(values)
    elif column.allowed == "district_or_township":
        districts = sorted(allowed_values("districts", period))
        regex = rf"^(?:{CITY_CODE}|(?:{'|'.join(districts)})(?:\d{{3}})?)$"
        return (
            gxe.ExpectColumnValuesToMatchRegex(
                column=column.name,
                regex=regex,
                meta={"rule": "allowed_values", "column": column.name,
                      "describe": f"330100, a district code valid in {period}, or a 9-digit township code "
                                  "starting with one"},
            ),
        )
    else:
        values = sorted(allowed_values(str(column.allowed), period))
        describe = (
            f"one of the {len(values)} district codes valid in {period}"
            if column.allowed == "districts"
            else f"a known {column.allowed.replace('_', ' ')} value"
        )
    return (
        gxe.ExpectColumnValuesToBeInSet(
            column=column.name,
            value_set=values,
            meta={"rule": "allowed_values", "column": column.name, "describe": describe},
        ),
    )


def _new_suite(name: str) -> Any:
    import great_expectations as gx

    context = get_context()
    try:
        context.suites.delete(name)
    except Exception:  # noqa: BLE001 - absent on first use
        pass
    return context.suites.add(gx.ExpectationSuite(name=name))


def _variant(contract: FeedContract) -> str:
    # Suites are cached on the whole contract, not its name: a variant (e.g. the benchmark's wider
    # key) is another suite.
    return hashlib.sha256(repr(contract).encode()).hexdigest()[:8]


def build_suite(contract: FeedContract, period: str) -> Any:
    """The row suite of one feed for files of one period (allowed codes depend on the date)."""
    cache_key = (contract, period)
    if cache_key in _SUITES:
        return _SUITES[cache_key]
    import great_expectations.expectations as gxe

    suite = _new_suite(f"{contract.name}__validity__{period}__{_variant(contract)}")
    for column in contract.columns:
        if column.required:
            suite.add_expectation(
                gxe.ExpectColumnValuesToNotBeNull(column=column.name, meta={"rule": "required", "column": column.name})
            )
        if column.kind == "period":
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(
                    column=column.name,
                    value_set=[period],
                    meta={"rule": "period_matches_file_name", "column": column.name,
                          "describe": f"{period}, the period in the file name"},
                )
            )
        if column.allowed is not None:
            for expectation in _allowed_expectation(column, period):
                suite.add_expectation(expectation)
        if column.min_value is not None:
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeBetween(
                    column=column.name,
                    min_value=column.min_value,
                    strict_min=column.strict_min,
                    meta={"rule": "minimum", "column": column.name,
                          "describe": f"{'>' if column.strict_min else '≥'} {column.min_value:g}"},
                )
            )
    for smaller, larger in contract.not_greater_than:
        suite.add_expectation(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=larger,
                column_B=smaller,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta={"rule": "not_greater_than", "column": smaller, "other": larger},
            )
        )
    _SUITES[cache_key] = suite
    return suite


def build_key_suite(contract: FeedContract) -> Any:
    """One row per key, over a whole file: GX checks the key hashes (`key_hash`) for repeats."""
    cache_key = (contract, "key")
    if cache_key in _SUITES:
        return _SUITES[cache_key]
    import great_expectations.expectations as gxe

    suite = _new_suite(f"{contract.name}__unique_key__{_variant(contract)}")
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeUnique(
            column=KEY_HASH,
            meta={"rule": "unique_key", "column": ",".join(contract.key),
                  "describe": f"one row per ({', '.join(contract.key)}) in a file: {KEY_HASH} is a 64-bit hash of "
                              "those columns' values; rows sharing a hash are then compared value by value"},
        )
    )
    _SUITES[cache_key] = suite
    return suite


def key_hashes(keys: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's key values; the same values give the same hash in any chunk.

    Text columns are Categoricals (hashed by their values, not their codes), numbers are
    normalised to int64/float64 so that a chunk with empty cells (a nullable column) hashes
    like one without.
    """
    canonical = {}
    for name in keys.columns:
        column = keys[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            canonical[name] = column
        elif pd.api.types.is_integer_dtype(column.dtype):
            canonical[name] = column.to_numpy(dtype="int64")
        elif pd.api.types.is_float_dtype(column.dtype):
            canonical[name] = column.to_numpy(dtype="float64")
        else:
            canonical[name] = column.astype(object)
    return pd.util.hash_pandas_object(pd.DataFrame(canonical), index=False).to_numpy()


SHOWN_DUPLICATES = 5


def _other_rows(rows: list[int], row: int) -> str:
    """The other rows sharing a key; a few are named, the rest counted (a file whose key column is
    constant would otherwise repeat every row number on every row)."""
    others = [o for o in rows if o != row]
    shown = ", ".join(str(o) for o in others[:SHOWN_DUPLICATES])
    more = len(others) - SHOWN_DUPLICATES
    return f"row(s) {shown}" + (f" and {more:,} more" if more > 0 else "")


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "(empty)"
    return str(value)


def _issues_from_result(result: Any) -> list[Issue]:
    issues: list[Issue] = []
    for item in result.results:
        if item.success:
            continue
        meta = item.expectation_config.meta or {}
        rule = meta.get("rule", item.expectation_config.type)
        failing = item.result.get("unexpected_index_list") or []
        for row in failing:
            row_number = int(row[ROW_NUMBER])
            column = meta["column"]
            value = _fmt(row.get(column))
            if rule == "required":
                message = f"{column} is required but empty"
            elif rule == "not_greater_than":
                other = meta["other"]
                message = f"{column} ({value}) exceeds {other} ({_fmt(row.get(other))})"
            else:
                message = f"{column} must be {meta.get('describe', rule)}, got {value!r}"
            issues.append(Issue(row_number, column, value, rule, message))
    return issues


def duplicate_key_issues(contract: FeedContract, keys: pd.DataFrame) -> list[Issue]:
    """Issues for rows sharing a key, from the typed key values (ROW_NUMBER + the key columns) of the
    rows whose hashes repeat. Rows alone with their values (a hash collision) are not duplicates."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in keys[[ROW_NUMBER, *contract.key]].itertuples(index=False, name=None):
        groups[tuple(_fmt(v) for v in row[1:])].append(int(row[0]))
    column = ",".join(contract.key)
    issues = []
    for key_values, rows in groups.items():
        if len(rows) < 2:
            continue
        key_text = ", ".join(f"{k}={v}" for k, v in zip(contract.key, key_values, strict=True))
        for r in sorted(rows):
            issues.append(Issue(r, column, key_text, "unique_key",
                                f"duplicate key ({key_text}): also on {_other_rows(sorted(rows), r)}"))
    return issues


class FileValidator:
    """The validity suites over one file, chunk by chunk.

    `check(chunk)` runs the row suite on a typed chunk and keeps its rows' key hashes;
    `duplicate_rows()` then runs the key suite over the whole file's hashes and returns the rows
    to compare by value with `duplicate_key_issues`.
    """

    def __init__(self, contract: FeedContract, period: str) -> None:
        self.contract = contract
        self.row_suite = build_suite(contract, period)
        self.key_suite = build_key_suite(contract)
        self._rows: list[np.ndarray] = []
        self._hashes: list[np.ndarray] = []

    def check(self, typed: pd.DataFrame) -> list[Issue]:
        if typed.empty:
            return []
        result = run_suite(self.row_suite, f"{self.contract.name}_rows", typed, [ROW_NUMBER])
        keys = list(self.contract.key)
        complete = typed[keys].notna().all(axis=1).to_numpy()
        # A key with an empty part is already a `required` failure; it cannot be compared.
        keyed = typed.loc[complete] if not complete.all() else typed
        self._rows.append(keyed[ROW_NUMBER].to_numpy(dtype="int64"))
        self._hashes.append(key_hashes(keyed[keys]))
        return _issues_from_result(result)

    def duplicate_rows(self) -> list[int]:
        """Rows whose key hash appears more than once in the file (candidates, compared by value next)."""
        if not self._rows:
            return []
        frame = pd.DataFrame({ROW_NUMBER: np.concatenate(self._rows), KEY_HASH: np.concatenate(self._hashes)})
        self._rows, self._hashes = [], []
        result = run_suite(self.key_suite, f"{self.contract.name}_keys", frame, [ROW_NUMBER])
        return sorted(
            int(row[ROW_NUMBER]) for item in result.results if not item.success
            for row in item.result.get("unexpected_index_list") or []
        )


def validate(frame: pd.DataFrame, contract: FeedContract, period: str) -> list[Issue]:
    """Both suites over one typed frame held whole; one Issue per failing cell."""
    if frame.empty:
        return []
    validator = FileValidator(contract, period)
    issues = validator.check(frame)
    candidates = validator.duplicate_rows()
    if candidates:
        keys = frame.loc[frame[ROW_NUMBER].isin(candidates), [ROW_NUMBER, *contract.key]]
        issues += duplicate_key_issues(contract, keys)
    return issues


def merge_issues(type_issues: list[Issue], rule_issues: list[Issue]) -> dict[int, list[Issue]]:
    """Group by row; a cell that could not be typed is reported once, as a type error, not also as empty."""
    typed_cells = {(i.row_number, i.column) for i in type_issues}
    by_row: dict[int, list[Issue]] = defaultdict(list)
    for issue in type_issues:
        by_row[issue.row_number].append(issue)
    for issue in rule_issues:
        if issue.rule == "required" and (issue.row_number, issue.column) in typed_cells:
            continue
        by_row[issue.row_number].append(issue)
    return dict(by_row)


