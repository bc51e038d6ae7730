"""Validity suites, built in code from the feed contracts: is a row usable?

Each expectation carries `meta` naming the rule and the column so that GX's
failing rows turn into quarantine reasons a person can read. A failing row is
quarantined; the rest of the file still publishes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import pandas as pd

from hzwh.feeds.contracts import Column, FeedContract
from hzwh.feeds.normalise import Issue
from hzwh.feeds.reader import ROW_NUMBER
from hzwh.feeds.reference import CITY_CODE, allowed_values
from hzwh.validation.gx_context import get_context, run_suite

_SUITES: dict[tuple[FeedContract, str], Any] = {}


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


def build_suite(contract: FeedContract, period: str) -> Any:
    """The validity suite of one feed for files of one period (allowed codes depend on the date)."""
    # Keyed on the whole contract, not its name: a variant (e.g. the benchmark's wider key) is
    # another suite.
    cache_key = (contract, period)
    if cache_key in _SUITES:
        return _SUITES[cache_key]
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = get_context()
    variant = hashlib.sha256(repr(contract).encode()).hexdigest()[:8]
    name = f"{contract.name}__validity__{period}__{variant}"
    try:
        context.suites.delete(name)
    except Exception:  # noqa: BLE001 - absent on first use
        pass
    suite = context.suites.add(gx.ExpectationSuite(name=name))
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
    suite.add_expectation(
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=list(contract.key),
            meta={"rule": "unique_key", "column": ",".join(contract.key)},
        )
    )
    _SUITES[cache_key] = suite
    return suite


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


def _issues_from_result(result: Any, contract: FeedContract, frame: pd.DataFrame) -> list[Issue]:
    issues: list[Issue] = []
    for item in result.results:
        if item.success:
            continue
        meta = item.expectation_config.meta or {}
        rule = meta.get("rule", item.expectation_config.type)
        failing = item.result.get("unexpected_index_list") or []
        if rule == "unique_key":
            groups: dict[tuple, list[int]] = defaultdict(list)
            for row in failing:
                groups[tuple(_fmt(row.get(k)) for k in contract.key)].append(int(row[ROW_NUMBER]))
            for key_values, rows in groups.items():
                key_text = ", ".join(f"{k}={v}" for k, v in zip(contract.key, key_values, strict=True))
                for r in rows:
                    issues.append(Issue(r, meta["column"], key_text, rule,
                                        f"duplicate key ({key_text}): also on {_other_rows(rows, r)}"))
            continue
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


def validate(frame: pd.DataFrame, contract: FeedContract, period: str) -> list[Issue]:
    """Run the feed's validity suite on a typed frame and return one Issue per failing cell."""
    if frame.empty:
        return []
    suite = build_suite(contract, period)
    result = run_suite(suite, f"{contract.name}_rows", frame, [ROW_NUMBER])
    return _issues_from_result(result, contract, frame)


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


