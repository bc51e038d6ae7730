"""One place for configuration: every knob is an environment variable with a documented default.

A `.env` file in the project root is read first (values already in the
environment win), so operators can keep local settings out of their shell.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
PLAN_TEXT = PROJECT_ROOT / "docs" / "plan" / "plan_2012.txt"

DEFAULT_WAREHOUSE_URL = "postgresql://postgres@127.0.0.1:5432/hz_warehouse"


def _load_dotenv() -> None:
    env_file = Path(os.environ.get("HZWH_ENV_FILE", PROJECT_ROOT / ".env"))
    if env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


_load_dotenv()


@dataclass(frozen=True)
class PgParts:
    """The pieces of a postgresql:// URL, for tools that want them separately (dbt, psql)."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def url(self, dbname: str | None = None) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname or self.dbname}"


def parse_pg_url(url: str) -> PgParts:
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}:
        raise ValueError(f"WAREHOUSE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
    return PgParts(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        dbname=(parts.path or "/").lstrip("/") or "postgres",
    )


def warehouse_url() -> str:
    """WAREHOUSE_URL: the PostgreSQL database holding raw, staging and marts."""
    return os.environ.get("WAREHOUSE_URL", DEFAULT_WAREHOUSE_URL)


def warehouse() -> PgParts:
    return parse_pg_url(warehouse_url())


def data_dir() -> Path:
    """DATA_DIR: where landing, archive and reports live by default (`<project>/data`)."""
    return Path(os.environ.get("DATA_DIR", PROJECT_ROOT / "data")).resolve()


def landing_dir() -> Path:
    """LANDING_DIR: the landing folder, one subfolder per feed (`$DATA_DIR/landing`)."""
    return Path(os.environ.get("LANDING_DIR", data_dir() / "landing")).resolve()


def archive_dir() -> Path:
    """ARCHIVE_DIR: every delivered file is kept here under its SHA-256 (`$DATA_DIR/archive`)."""
    return Path(os.environ.get("ARCHIVE_DIR", data_dir() / "archive")).resolve()


def alert_webhook_url() -> str | None:
    """ALERT_WEBHOOK_URL: where alert JSON is POSTed; unset or empty means no webhook."""
    return os.environ.get("ALERT_WEBHOOK_URL") or None


def alert_webhook_timeout() -> float:
    """ALERT_WEBHOOK_TIMEOUT: seconds to wait for the webhook (10)."""
    return float(os.environ.get("ALERT_WEBHOOK_TIMEOUT", "10"))


def dashboard_hint() -> str:
    """ALERT_LINK_BASE: where an alert tells people to look (the mart, by default)."""
    return os.environ.get("ALERT_LINK_BASE", "marts.fct_target_attainment")


def dbt_target_schema() -> str:
    """DBT_SCHEMA: the default schema of dbt's profile; models go to staging/intermediate/marts."""
    return os.environ.get("DBT_SCHEMA", "analytics")


def bi_role() -> str:
    """BI_READONLY_ROLE: the read-only role BI tools log in as (`bi_reader`)."""
    return os.environ.get("BI_READONLY_ROLE", "bi_reader")
