"""The generic JSON webhook channel (FEEDS.md §6): one alert per POST, as a JSON object."""

from __future__ import annotations

from typing import Any

import requests

from hzwh import settings


class DeliveryError(RuntimeError):
    pass


def post(url: str, payload: dict[str, Any] | list[dict[str, Any]]) -> None:
    try:
        response = requests.post(url, json=payload, timeout=settings.alert_webhook_timeout())
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")
