"""The generic JSON webhook channel (FEEDS.md §6): a POST of one alert object, or an array of them.

Plain `requests` rather than the http provider's HttpHook: the URL comes from
ALERT_WEBHOOK_URL (FEEDS.md §7) or the routing file, not from an Airflow
connection, and the same code runs outside Airflow (the CLI, tests).
"""

from __future__ import annotations

from typing import Any

import requests

from hzwh import settings


class DeliveryError(RuntimeError):
    """A message could not be delivered. `transient` errors (timeouts, HTTP 5xx, SMTP 4xx) are worth
    retrying within the same run; the others (HTTP 4xx, SMTP 5xx, a missing connection) wait for a
    later run, where a fixed configuration or a recovered server lets them through."""

    def __init__(self, reason: str, *, transient: bool = True) -> None:
        super().__init__(reason)
        self.transient = transient


def post(url: str, payload: dict[str, Any] | list[dict[str, Any]]) -> None:
    try:
        response = requests.post(url, json=payload, timeout=settings.alert_webhook_timeout())
    except requests.Timeout as exc:
        raise DeliveryError(f"timeout after {settings.alert_webhook_timeout():g} s: {exc}") from exc
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        transient = response.status_code >= 500 or response.status_code in (408, 429)
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", transient=transient)
