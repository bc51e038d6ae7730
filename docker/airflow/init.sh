#!/usr/bin/env bash
# The airflow-init service: everything that must be true before any Airflow
# component starts. It runs once per `docker compose up` as root (to own the
# shared folders), is idempotent, and every Airflow service waits for it to
# exit 0 (depends_on: condition: service_completed_successfully).
#
#   1. refuse placeholder secrets left over from .env.example
#   2. landing (one folder per feed), archive, logs: exist and belong to AIRFLOW_UID
#   3. `airflow db migrate` on Airflow's metadata database
#   4. `python -m hzwh init`: the warehouse's raw/ops schemas and raw tables, the
#      BI read-only role's usage on marts (the role itself is made by
#      docker/postgres/initdb), and a no-op check that the migration is current
#   5. the Airflow admin's password file for the SimpleAuthManager
set -euo pipefail

uid="${AIRFLOW_UID:-50000}"
say() { printf '\n== airflow-init: %s\n' "$*"; }

say "checking secrets"
placeholders=$(env | awk -F= '/change-me/ {print $1}' | sort)
if [[ -n "${placeholders}" ]]; then
  echo "These variables still hold the .env.example placeholder 'change-me':" >&2
  echo "${placeholders}" | sed 's/^/  /' >&2
  echo "Generate real values with 'python3 docker/make_env.py' (see docs/deploy.md)." >&2
  exit 1
fi
python - <<'PY'
import os
import sys

from cryptography.fernet import Fernet

try:
    Fernet(os.environ["AIRFLOW__CORE__FERNET_KEY"])
except (KeyError, ValueError) as exc:
    sys.exit(f"AIRFLOW_FERNET_KEY is not a Fernet key ({exc}); see docs/deploy.md")
PY

say "folders (owner ${uid}:0)"
python - <<'PY'
import os
from pathlib import Path

from hzwh import settings
from hzwh.feeds.contracts import FEED_NAMES

# Bureaus drop files into LANDING_DIR/<feed>/: make every feed's folder visible up front.
for folder in [settings.landing_dir() / feed for feed in FEED_NAMES] + [settings.archive_dir()]:
    folder.mkdir(parents=True, exist_ok=True)
print("landing:", settings.landing_dir(), "feeds:", ", ".join(FEED_NAMES))
print("archive:", settings.archive_dir())
PY
# Not recursive into delivered files: only the folders the workers write to.
chown "${uid}:0" "${LANDING_DIR}" "${LANDING_DIR}"/*/ "${ARCHIVE_DIR}"
chmod 2775 "${LANDING_DIR}" "${LANDING_DIR}"/*/ "${ARCHIVE_DIR}"
mkdir -p "${AIRFLOW_HOME}/logs" "${AIRFLOW_HOME}/auth"
chown -R "${uid}:0" "${AIRFLOW_HOME}/logs" "${AIRFLOW_HOME}/auth"

say "airflow db migrate"
airflow db migrate

say "python -m hzwh init (warehouse schemas, BI role grants)"
python -m hzwh init

say "Airflow admin user '${AIRFLOW_ADMIN_USER}'"
passwords="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE}"
python - "${passwords}" <<'PY'
import json
import os
import sys

with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump({os.environ["AIRFLOW_ADMIN_USER"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)
PY
chown "${uid}:0" "${passwords}"
chmod 600 "${passwords}"

say "done"
