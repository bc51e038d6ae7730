"""Airflow Assets the DAGs produce and consume: one per raw feed table, one for the marts."""

from __future__ import annotations

import functools
import operator

from airflow.sdk import Asset

from hzwh.feeds.contracts import FEED_NAMES


def raw_asset(feed: str) -> Asset:
    return Asset(name=f"raw.{feed}", uri=f"hzwh://warehouse/raw/{feed}", group="raw")


RAW_ASSETS = tuple(raw_asset(feed) for feed in FEED_NAMES)
# Any raw feed updated (for consumers of single feeds' updates).
ANY_RAW_ASSET = functools.reduce(operator.or_, RAW_ASSETS)
# One event per ingest run that loaded anything, after all its feeds: what schedules the marts
# build, so that a run loading four feeds builds the marts once, on all of them.
RAW_BATCH_ASSET = Asset(name="raw", uri="hzwh://warehouse/raw", group="raw")
MARTS_ASSET = Asset(name="marts", uri="hzwh://warehouse/marts", group="marts")
