"""Airflow Assets the DAGs produce and consume: one per raw feed table, one for the marts."""

from __future__ import annotations

import functools
import operator

from airflow.sdk import Asset

from hzwh.feeds.contracts import FEED_NAMES


def raw_asset(feed: str) -> Asset:
    return Asset(name=f"raw.{feed}", uri=f"hzwh://warehouse/raw/{feed}", group="raw")


RAW_ASSETS = tuple(raw_asset(feed) for feed in FEED_NAMES)
# Any raw feed updated: the condition that schedules the marts build.
ANY_RAW_ASSET = functools.reduce(operator.or_, RAW_ASSETS)
MARTS_ASSET = Asset(name="marts", uri="hzwh://warehouse/marts", group="marts")
