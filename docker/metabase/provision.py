"""Wire Metabase to the warehouse's marts through the read-only BI role (the metabase-init service).

Idempotent, standard library only, run after Metabase reports healthy:

1. first start only: Metabase's setup (the admin account from METABASE_ADMIN_EMAIL /
   METABASE_ADMIN_PASSWORD), without usage tracking;
2. the database connection "Hangzhou warehouse (marts)": PostgreSQL `hz_warehouse`
   as BI_READONLY_ROLE (bi_reader), schema filter `marts` only, so nobody builds a
   question on raw, ops, staging or intermediate; created, or updated to the
   current password and host when it already exists;
3. the report time zone (Asia/Shanghai, the plan's local time) and a schema sync.

Run it again at any time (`docker compose run --rm metabase-init`), e.g. after
changing BI_READER_PASSWORD or after the first `build_marts` run to see new
marts at once instead of at Metabase's next hourly sync.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

DATABASE_NAME = "Hangzhou warehouse (marts)"


class MetabaseError(RuntimeError):
    pass


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise MetabaseError(f"{name} is not set")
    return value


class Metabase:
    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session: str | None = None

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.session:
            headers["X-Metabase-Session"] = self.session
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise MetabaseError(f"{method} {path}: HTTP {exc.code} {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise MetabaseError(f"{method} {path}: {exc}") from exc
        return json.loads(body) if body.strip() else None

    def wait_healthy(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if (self.call("GET", "/api/health") or {}).get("status") == "ok":
                    return
            except MetabaseError as exc:
                last = exc
            else:
                last = MetabaseError("not ok yet")
            if time.monotonic() > deadline:
                raise MetabaseError(f"Metabase at {self.base_url} not healthy after {seconds:.0f}s: {last}")
            time.sleep(3)

    def login(self, email: str, password: str) -> None:
        self.session = self.call("POST", "/api/session", {"username": email, "password": password})["id"]


def ensure_admin(mb: Metabase, email: str, password: str, site_name: str) -> None:
    properties = mb.call("GET", "/api/session/properties") or {}
    if not properties.get("has-user-setup"):
        token = properties.get("setup-token")
        if not token:
            raise MetabaseError("Metabase is not set up and offers no setup token")
        mb.call("POST", "/api/setup", {
            "token": token,
            "user": {"first_name": "Warehouse", "last_name": "Admin", "email": email, "password": password,
                     "site_name": site_name},
            "prefs": {"site_name": site_name, "site_locale": "en", "allow_tracking": False},
        })
        print(f"metabase: first-time setup done, admin {email}")
    try:
        mb.login(email, password)
    except MetabaseError as exc:
        raise MetabaseError(
            f"cannot log in as {email}: {exc}. METABASE_ADMIN_EMAIL/METABASE_ADMIN_PASSWORD must match the "
            "admin created at the first start (change it in Metabase, then in .env)"
        ) from exc


def warehouse_details() -> dict[str, Any]:
    return {
        "host": env("WAREHOUSE_HOST", "postgres"),
        "port": int(env("WAREHOUSE_PORT", "5432")),
        "dbname": env("WAREHOUSE_DB", "hz_warehouse"),
        "user": env("BI_READONLY_ROLE", "bi_reader"),
        "password": env("BI_READER_PASSWORD"),
        "ssl": False,
        "schema-filters-type": "inclusion",
        "schema-filters-patterns": env("MARTS_SCHEMA", "marts"),
        "tunnel-enabled": False,
        "advanced-options": False,
    }


def ensure_database(mb: Metabase) -> int:
    listing = mb.call("GET", "/api/database")
    databases = listing["data"] if isinstance(listing, dict) else listing
    details = warehouse_details()
    for database in databases:
        if database.get("name") == DATABASE_NAME:
            mb.call("PUT", f"/api/database/{database['id']}", {"details": details})
            print(f"metabase: updated '{DATABASE_NAME}' (id {database['id']}) as {details['user']}")
            return int(database["id"])
    created = mb.call("POST", "/api/database", {
        "engine": "postgres",
        "name": DATABASE_NAME,
        "details": details,
        "is_full_sync": True,
        "is_on_demand": False,
        "auto_run_queries": True,
    })
    print(f"metabase: connected '{DATABASE_NAME}' (id {created['id']}) as {details['user']}, schema "
          f"{details['schema-filters-patterns']}")
    return int(created["id"])


def main() -> int:
    mb = Metabase(env("METABASE_URL", "http://metabase:3000"))
    try:
        mb.wait_healthy(float(env("METABASE_WAIT_SECONDS", "600")))
        ensure_admin(mb, env("METABASE_ADMIN_EMAIL"), env("METABASE_ADMIN_PASSWORD"),
                     env("METABASE_SITE_NAME", "Hangzhou public services 2012"))
        database_id = ensure_database(mb)
        mb.call("PUT", "/api/setting/report-timezone", {"value": env("METABASE_REPORT_TIMEZONE", "Asia/Shanghai")})
        mb.call("POST", f"/api/database/{database_id}/sync_schema", {})
    except MetabaseError as exc:
        print(f"metabase-init: {exc}", file=sys.stderr)
        return 1
    print("metabase: marts connection ready; schema sync started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
