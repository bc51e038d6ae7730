"""Where the reports are published (all under $DATA_DIR/reports), and a note saying so for the CLI."""

from __future__ import annotations

from pathlib import Path

from hzwh import settings


def reports_dir() -> Path:
    """$DATA_DIR/reports: the dashboard and the dbt docs site, side by side."""
    return settings.data_dir() / "reports"


def dashboard_path() -> Path:
    return reports_dir() / "dashboard.html"


def docs_dir() -> Path:
    return reports_dir() / "dbt-docs"


def docs_index() -> Path:
    return docs_dir() / "index.html"


def where_to_look() -> str:
    """Lines for the end of `python -m hzwh run | demo`: the file:// addresses of the reports."""
    lines = []
    for label, path in (("Dashboard 监测看板", dashboard_path()), ("dbt docs 数据字典", docs_index())):
        state = "" if path.is_file() else "  (not written yet: the publish_reports DAG writes it after a marts build)"
        lines.append(f"{label}: {path.as_uri()}{state}")
    return "\n".join(lines)
