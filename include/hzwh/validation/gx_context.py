"""One ephemeral Great Expectations context per process, quiet and offline.

Building a context and importing GX costs seconds; callers build one per task
and reuse it for every file and suite.
"""

from __future__ import annotations

import os
from functools import cache, lru_cache
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@lru_cache(maxsize=1)
def get_context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory DataFrame (an md5 over all its rows) to label the batch
    # in data docs, which an ephemeral context never writes: 0.15 s per million rows for nothing.
    pandas_execution_engine.HASH_THRESHOLD = 0

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


@cache
def dataframe_batch(asset_name: str) -> Any:
    """A whole-DataFrame batch definition on the shared pandas data source (one per asset and process)."""
    context = get_context()
    try:
        source = context.data_sources.get("frames")
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas("frames")
    try:
        asset = source.get_asset(asset_name)
    except (LookupError, ValueError):
        asset = source.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError, ValueError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _run(suite: Any, asset_name: str, frame: Any, result_format: dict) -> Any:
    """Validate a DataFrame batch against a suite (`Batch.validate`).

    Not through a ValidationDefinition: its `run()` checks the stores for freshness and writes every
    result to the (ephemeral, never read) results store, ~15 ms a run, and a file validated in
    chunks runs its suite once per chunk.
    """
    batch = dataframe_batch(asset_name).get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=result_format)


# Keyed by the suite object itself (a suite rebuilt under the same name, as the attainment suite is
# on every run, gets its own); the suite is kept in the value so that its id stays unique.
_FAILED_ONLY: dict[tuple[int, frozenset], tuple[Any, Any]] = {}


def _failed_only(suite: Any, failed_ids: set[str]) -> Any:
    """A suite of some of `suite`'s expectations (those that failed), made once per combination."""
    import copy

    import great_expectations as gx

    key = (id(suite), frozenset(failed_ids))
    if key not in _FAILED_ONLY:
        context = get_context()
        name = f"{suite.name}__failed_{len(_FAILED_ONLY)}"
        try:
            context.suites.delete(name)
        except Exception:  # noqa: BLE001 - absent on first use
            pass
        failed = context.suites.add(gx.ExpectationSuite(name=name))
        for expectation in suite.expectations:
            if expectation.id in failed_ids:
                again = copy.deepcopy(expectation)
                again.id = None
                failed.add_expectation(again)
        _FAILED_ONLY[key] = (suite, failed)
    return _FAILED_ONLY[key][1]


def run_suite(suite: Any, asset_name: str, frame: Any, index_columns: list[str]) -> Any:
    """Validate `frame` against `suite`; the failed expectations come back with their failing rows.

    Two passes: every expectation first as a plain pass/fail (cheap), then only the failed ones
    again with COMPLETE results and the failing rows' index columns. On a million rows this halves
    the cost of a suite that mostly passes. The returned result lists only the second pass's
    expectations when any failed, or every expectation (all successful) when none did.
    """
    quick = _run(suite, asset_name, frame, {"result_format": "BOOLEAN_ONLY"})
    failed_ids = {r.expectation_config.id for r in quick.results if not r.success}
    if not failed_ids:
        return quick
    return _run(
        _failed_only(suite, failed_ids), asset_name, frame,
        {"result_format": "COMPLETE", "unexpected_index_column_names": index_columns},
    )
