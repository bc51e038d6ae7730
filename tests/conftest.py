"""Shared fixtures. Integration fixtures live in tests/integration/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from hzwh.feeds.contracts import get_contract

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ss_contract():
    return get_contract("social_security_enrollment")


@pytest.fixture
def write(tmp_path):
    """Write a feed file (text in an encoding, or raw bytes) and return its path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write
