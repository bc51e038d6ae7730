"""The docker compose stack (docker-compose.yml, Dockerfile, .env.example, docker/), checked without Docker.

Health rule (docs/deploy.md, "Health checks"): every long-running service has a
healthcheck; a one-shot job (`restart: "no"`) has none, is judged by its exit
status, waits for the health of what it needs, and airflow-init is awaited by
every Airflow component with `condition: service_completed_successfully`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# Overlays that run with the same .env (their variables must be documented too).
OVERLAYS = [ROOT / "docker" / "remote-worker.yml"]
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"

REQUIRED_SERVICES = {
    "postgres", "redis", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
    "airflow-triggerer", "airflow-worker", "metabase", "mailpit",
}
# Long-running Airflow components: one image, one environment (the x-airflow-common anchor).
AIRFLOW_SERVICES = {
    "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker", "flower",
}
ONE_SHOT_JOBS = {"airflow-init", "metabase-init"}
# Only airflow-init adds to the common environment: what it needs to set up, never needed afterwards.
AIRFLOW_INIT_EXTRA_ENV = {"AIRFLOW_UID", "AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD"}
# Bind-mounted host folders that are not in the repository: git-ignored data, created by Docker at
# the first start (short syntax) and handed to AIRFLOW_UID by airflow-init (docs/deploy.md).
CREATED_AT_START = {"./data/landing", "./data/archive", "./data/reports"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$")

# Compose interpolation: `$$` is a literal dollar; ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error}, ${NAME:+alt} and $NAME name a variable.
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return load(COMPOSE)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def strings(node):
    """Every string (keys and values) in a loaded YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def variables(node) -> set[str]:
    found = set()
    for text in strings(node):
        for match in INTERPOLATION.finditer(text):
            name = match.group("braced") or match.group("bare")
            if name:
                found.add(name)
    return found


def env_example() -> dict[str, tuple[str, list[str]]]:
    """NAME -> (value, the comment lines right above it)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    comments: list[str] = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped:
            comments = []
        elif stripped.startswith("#"):
            comments.append(stripped)
        else:
            name, sep, value = stripped.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            assert name not in entries, f".env.example: {name} twice"
            entries[name] = (value, comments)
            comments = []
    return entries


def resolve_defaults(text: str) -> str:
    """A compose string as it reads with every variable at its default (from ${X:-d} or .env.example)."""
    documented = env_example()

    def sub(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        if match.group("op") in (":-", "-"):
            return match.group("arg")
        return documented[name][0]

    return INTERPOLATION.sub(sub, text)


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


# Keys of the Compose Specification (compose-spec.json), to catch a misspelt key that Compose would reject.
TOP_LEVEL_KEYS = {"version", "name", "include", "services", "models", "networks", "volumes", "secrets", "configs"}
SERVICE_KEYS = set("""
    develop deploy annotations attach build blkio_config cap_add cap_drop cgroup cgroup_parent command configs
    container_name cpu_count cpu_percent cpu_shares cpu_quota cpu_period cpu_rt_period cpu_rt_runtime cpus cpuset
    credential_spec depends_on device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint env_file
    label_file environment expose extends provider external_links extra_hosts gpus group_add healthcheck hostname
    image init ipc isolation labels links logging mac_address mem_limit mem_reservation mem_swappiness memswap_limit
    network_mode models networks oom_kill_disable oom_score_adj pid pids_limit platform ports post_start pre_stop
    privileged profiles pull_policy pull_refresh_after read_only restart runtime scale security_opt shm_size secrets
    sysctls stdin_open stop_grace_period stop_signal storage_opt tmpfs tty ulimits use_api_socket user uts userns_mode
    volumes volumes_from working_dir
""".split())
HEALTHCHECK_KEYS = {"disable", "interval", "retries", "test", "timeout", "start_period", "start_interval"}


def test_compose_files_use_only_specified_keys():
    for path in [COMPOSE, *OVERLAYS]:
        document = load(path)
        assert {k for k in document if not k.startswith("x-")} <= TOP_LEVEL_KEYS, path
        for name, service in document["services"].items():
            keys = {key for key in service if not key.startswith("x-")}
            assert keys <= SERVICE_KEYS, (path.name, name, keys - SERVICE_KEYS)
            assert set(service.get("healthcheck") or {}) <= HEALTHCHECK_KEYS, (path.name, name)
            for key, value in (service.get("environment") or {}).items():
                assert isinstance(value, str | int | float | bool) or value is None, (name, key)
            assert service.get("restart") in (None, "no", "always", "on-failure", "unless-stopped"), name


# --- services and health ------------------------------------------------------------------------


def test_the_required_services_exist(services):
    assert REQUIRED_SERVICES <= set(services), REQUIRED_SERVICES - set(services)


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if service.get("restart") == "no":
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
        assert check["test"] != ["NONE"], name
        assert service.get("restart") in {"always", "unless-stopped"}, f"{name}: long-running but restart is not set"


def test_one_shot_jobs_follow_the_documented_rule(services):
    one_shots = {name for name, service in services.items() if service.get("restart") == "no"}
    assert one_shots == ONE_SHOT_JOBS
    for name in one_shots:
        service = services[name]
        assert "healthcheck" not in service, f"{name}: a one-shot job is judged by its exit status"
        assert "ports" not in service, name
        conditions = depends_on(service)
        assert conditions, f"{name}: must wait for what it needs"
        assert set(conditions.values()) <= {"service_healthy", "service_completed_successfully"}, (name, conditions)
    for name in AIRFLOW_SERVICES:
        assert depends_on(services[name]).get("airflow-init") == "service_completed_successfully", name
    assert depends_on(services["airflow-init"]) == {"postgres": "service_healthy", "redis": "service_healthy"}
    assert depends_on(services["metabase-init"])["metabase"] == "service_healthy"
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    assert "service_completed_successfully" in doc and 'restart: "no"' in doc, "the health rule is documented"


def test_every_service_waits_only_for_services_that_exist(services):
    for name, service in services.items():
        for dependency in depends_on(service):
            assert dependency in services, f"{name} depends on unknown {dependency}"


# --- images -------------------------------------------------------------------------------------


def pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    if "@sha256:" in image:
        return True
    return bool(name) and "/" not in tag and tag != "latest" and any(ch.isdigit() for ch in tag)


def test_every_image_is_pinned(services):
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name}: no image (a built service still names its image and version)"
        assert "$" not in image, f"{name}: the image must not be overridable to an unpinned one"
        assert pinned(image), f"{name}: image {image!r} is not pinned to a version"


def test_dockerfile_base_image_is_pinned():
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert bases
    for base in bases:
        assert pinned(base), base
        assert base.startswith(("python:3.11", "apache/airflow:3.3.2-python3.11")), base


def test_the_airflow_image_is_built_from_the_lock_file(compose, services):
    common = compose["x-airflow-common"]
    assert common["build"]["context"] == "."
    assert common["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        assert services[name]["image"] == common["image"], name
        assert services[name]["build"] == common["build"], name
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    instructions = re.sub(r"\\\n", " ", "\n".join(
        line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")
    ))
    assert re.search(r"^COPY\s+requirements\.lock\s", instructions, flags=re.MULTILINE)
    assert re.search(r"uv pip sync\b[^\n]*requirements\.lock", instructions), "dependencies come from the lock"
    assert re.search(r"uv pip install\b[^\n]*--no-deps[^\n]*-e \.", instructions), "the project, without resolving"
    uv_pin = re.search(r"uv==([\d.]+)", (ROOT / "Makefile").read_text(encoding="utf-8")).group(1)
    assert re.search(rf"UV_VERSION={re.escape(uv_pin)}\b", instructions), "the same uv as `make venv`"
    # Nothing is installed when a container starts.
    everything = json.dumps(compose)
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in everything
    assert not re.search(r"pip install|uv pip", everything)
    for script in (ROOT / "docker").rglob("*.sh"):
        assert not re.search(r"pip install|uv pip", script.read_text(encoding="utf-8")), script


def test_secrets_are_kept_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    assert {".env", ".venv", ".git", "data"} <= ignored


# --- environment --------------------------------------------------------------------------------


def test_airflow_services_share_the_common_environment(compose, services):
    common = compose["x-airflow-common"]["environment"]
    for name in AIRFLOW_SERVICES:
        assert services[name]["environment"] == common, f"{name}: environment differs from x-airflow-common"
        assert services[name]["user"] == compose["x-airflow-common"]["user"], name
    init_env = services["airflow-init"]["environment"]
    assert {k: v for k, v in init_env.items() if k in common} == common
    assert set(init_env) - set(common) == AIRFLOW_INIT_EXTRA_ENV


def test_the_common_environment_configures_airflow_and_the_project(compose):
    env = compose["x-airflow-common"]["environment"]
    for key in (
        "WAREHOUSE_URL", "LANDING_DIR", "ARCHIVE_DIR", "DATA_DIR", "ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_TIMEOUT",
        "ALERT_LINK_BASE", "DBT_SCHEMA", "BI_READONLY_ROLE", "AIRFLOW_CONN_WAREHOUSE", "AIRFLOW_DB_URL",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__COSMOS__CACHE_DIR",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY",
        "SMTP_HOST", "SMTP_PORT", "AIRFLOW_CONN_SMTP_DEFAULT",
    ):
        assert env.get(key) not in (None, ""), key
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/hzwh/dags"
    assert urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).hostname == "airflow-apiserver"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith("/execution/")
    assert resolve_defaults(env["SMTP_HOST"]) == "mailpit"


def url(text: str):
    return urlsplit(resolve_defaults(text))


def test_metadata_and_warehouse_are_separate_databases_with_separate_users(compose, services):
    env = compose["x-airflow-common"]["environment"]
    broker = url(env["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.scheme, broker.hostname) == ("redis", "redis")
    metadata = [url(env[k]) for k in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND",
                                      "AIRFLOW_DB_URL")]
    assert metadata[1].scheme == "db+postgresql"
    warehouse = [url(env[k]) for k in ("WAREHOUSE_URL", "AIRFLOW_CONN_WAREHOUSE")]
    assert warehouse[1].scheme == "postgres"
    assert {(u.hostname, u.username, u.path) for u in metadata} == {("postgres", "airflow", "/airflow")}
    assert {(u.hostname, u.username, u.path) for u in warehouse} == {("postgres", "warehouse", "/hz_warehouse")}
    assert all(u.password for u in warehouse), "dbt via cosmos needs a non-empty password"
    metabase = services["metabase"]["environment"]
    assert (metabase["MB_DB_TYPE"], metabase["MB_DB_USER"], metabase["MB_DB_DBNAME"]) == (
        "postgres", "metabase", "metabase")
    # The postgres image's init scripts create those databases, users and the BI role.
    postgres = services["postgres"]
    assert "./docker/postgres/initdb:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    script = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docker/postgres/initdb").iterdir()))
    for database in ("airflow", "hz_warehouse", "metabase"):
        assert database in script
    assert "default_transaction_read_only = on" in script
    assert re.search(r"alter role :\"bi_role\" with login .* password :'bi_pw'", script)
    for key in ("AIRFLOW_DB_PASSWORD", "WAREHOUSE_DB_PASSWORD", "METABASE_DB_PASSWORD", "BI_READER_PASSWORD"):
        assert key in postgres["environment"] and key in script, key
    assert postgres["environment"]["BI_READONLY_ROLE"] == env["BI_READONLY_ROLE"]


def test_metabase_reads_the_marts_as_the_read_only_role(services):
    init = services["metabase-init"]
    assert init["environment"]["BI_READONLY_ROLE"] == services["postgres"]["environment"]["BI_READONLY_ROLE"]
    assert init["environment"]["BI_READER_PASSWORD"] == services["postgres"]["environment"]["BI_READER_PASSWORD"]
    assert init["command"] == ["python", "/provision/provision.py"]
    assert "./docker/metabase:/provision:ro" in init["volumes"]


def test_mailpit_receives_the_alert_emails(compose, services):
    env = compose["x-airflow-common"]["environment"]
    smtp = url(env["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert (smtp.scheme, smtp.hostname, smtp.port) == ("smtp", "mailpit", 1025)
    assert resolve_defaults(env["AIRFLOW__SMTP__SMTP_HOST"]) == "mailpit"
    assert resolve_defaults(services["metabase"]["environment"]["MB_EMAIL_SMTP_HOST"]) == "mailpit"


# --- .env.example -------------------------------------------------------------------------------


def test_every_variable_used_is_documented_in_env_example():
    used = variables(load(COMPOSE))
    for overlay in OVERLAYS:
        used |= variables(load(overlay))
    documented = env_example()
    assert used <= set(documented), f"not in .env.example: {sorted(used - set(documented))}"
    assert set(documented) <= used, f"documented but unused: {sorted(set(documented) - used)}"


def test_env_example_explains_each_variable_and_holds_no_secret():
    for name, (value, comments) in env_example().items():
        assert comments, f"{name}: no comment line above it"
        text = " ".join(comments)
        assert name in text, f"{name}: its comment should name it"
        assert "default" in text.lower(), f"{name}: its comment should give the default"
        if SECRET_NAME.search(name):
            assert value == "change-me", f"{name}: only the change-me placeholder belongs in .env.example"


def test_make_env_fills_every_placeholder(tmp_path):
    from cryptography.fernet import Fernet

    output = tmp_path / ".env"
    subprocess.run([sys.executable, str(ROOT / "docker" / "make_env.py"), "--output", str(output)], check=True,
                   capture_output=True)
    values = dict(line.split("=", 1) for line in output.read_text().splitlines() if line and line[0] != "#")
    assert "change-me" not in values.values()
    assert set(values) == set(env_example())
    Fernet(values["AIRFLOW_FERNET_KEY"])
    for name, value in values.items():
        if SECRET_NAME.search(name) and name != "AIRFLOW_FERNET_KEY":
            assert re.fullmatch(r"[0-9a-f]{48}", value), name
    assert oct(output.stat().st_mode & 0o777) == "0o600"


# --- mounts -------------------------------------------------------------------------------------


def volume_sources(service: dict) -> list[str]:
    """Host side of each mount (bind path or volume name), variables at their defaults."""
    sources = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            sources.append(resolve_defaults(volume["source"]))
        else:
            sources.append(resolve_defaults(volume).split(":", 1)[0])
    return sources


def test_bind_mounted_host_paths_exist(compose, services):
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    named = set(compose.get("volumes") or {})
    for name, service in services.items():
        for host in volume_sources(service):
            if not host.startswith((".", "/", "~")):
                assert host in named, f"{name}: named volume {host} is not declared"
                continue
            assert host.startswith("./"), f"{name}: host path {host} must be relative to the repository"
            if host in CREATED_AT_START:
                assert "data/" in ignored and host.startswith("./data/"), host
                continue
            assert (ROOT / host).exists(), f"{name}: {host} does not exist in the repository"


def test_the_landing_folder_is_a_bind_mount(services):
    for name in {"airflow-worker", "airflow-scheduler", "airflow-init"}:
        mounts = services[name]["volumes"]
        assert "${LANDING_HOST_DIR:-./data/landing}:/opt/hzwh/data/landing" in mounts, name
    assert services["airflow-worker"]["environment"]["LANDING_DIR"] == "/opt/hzwh/data/landing"
    assert "data/landing" in DEPLOY_DOC.read_text(encoding="utf-8")


# --- scripts and docs ---------------------------------------------------------------------------


def test_shell_scripts_parse():
    scripts = sorted((ROOT / "docker").rglob("*.sh"))
    assert scripts
    for script in scripts:
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script}: {result.stderr}"
        assert script.stat().st_mode & 0o111, f"{script} must be executable (the postgres image runs, not sources, it)"


def test_airflow_init_runs_the_migration_and_the_project_init(services):
    assert services["airflow-init"]["command"] == ["bash", "/opt/hzwh/docker/airflow/init.sh"]
    script = (ROOT / "docker" / "airflow" / "init.sh").read_text(encoding="utf-8")
    assert "airflow db migrate" in script
    assert "python -m hzwh init" in script


def test_deploy_doc_covers_start_uis_workers_and_a_run():
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    for needle in ("docker compose up", "http://localhost:8080", "http://localhost:3000", "http://localhost:8025",
                   "airflow celery worker --queues default", "airflow dags trigger ingest_feeds",
                   "docker/remote-worker.yml"):
        assert needle in doc, needle


# --- the Metabase provisioning script against a stand-in Metabase -------------------------------


class FakeMetabase(BaseHTTPRequestHandler):
    state: dict

    def log_message(self, *args):  # quiet
        pass

    def reply(self, code: int, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def payload(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def authorised(self) -> bool:
        return self.headers.get("X-Metabase-Session") == "session-1"

    def do_GET(self):  # noqa: N802 - http.server's naming
        s = self.state
        if self.path == "/api/health":
            return self.reply(200, {"status": "ok"})
        if self.path == "/api/session/properties":
            return self.reply(200, {"has-user-setup": s["admin"] is not None,
                                    "setup-token": None if s["admin"] else "token-1"})
        if self.path == "/api/database" and self.authorised():
            return self.reply(200, {"data": s["databases"], "total": len(s["databases"])})
        return self.reply(401, {"message": "unauthenticated"})

    def do_POST(self):  # noqa: N802
        s, body = self.state, self.payload()
        if self.path == "/api/setup":
            assert body["token"] == "token-1" and s["admin"] is None
            s["admin"] = (body["user"]["email"], body["user"]["password"])
            return self.reply(200, {"id": "session-1"})
        if self.path == "/api/session":
            ok = s["admin"] == (body["username"], body["password"])
            return self.reply(200, {"id": "session-1"}) if ok else self.reply(401, {"errors": "password"})
        if not self.authorised():
            return self.reply(401, None)
        if self.path == "/api/database":
            database = {"id": len(s["databases"]) + 1, **body}
            s["databases"].append(database)
            return self.reply(200, database)
        if self.path.endswith("/sync_schema"):
            s["syncs"] += 1
            return self.reply(200, {"status": "ok"})
        return self.reply(404, None)

    def do_PUT(self):  # noqa: N802
        s, body = self.state, self.payload()
        if not self.authorised():
            return self.reply(401, None)
        if self.path == "/api/setting/report-timezone":
            s["timezone"] = body["value"]
            return self.reply(204)
        match = re.fullmatch(r"/api/database/(\d+)", self.path)
        if match:
            s["databases"][int(match.group(1)) - 1]["details"] = body["details"]
            s["updates"] += 1
            return self.reply(200, s["databases"][int(match.group(1)) - 1])
        return self.reply(404, None)


def test_metabase_provisioning_connects_the_marts_once_and_is_idempotent(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("provision", ROOT / "docker" / "metabase" / "provision.py")
    provision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(provision)

    state = {"admin": None, "databases": [], "updates": 0, "syncs": 0, "timezone": None}
    handler = type("Handler", (FakeMetabase,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("METABASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("METABASE_ADMIN_EMAIL", "admin@example.org")
        monkeypatch.setenv("METABASE_ADMIN_PASSWORD", "s3cret-admin")
        monkeypatch.setenv("BI_READER_PASSWORD", "s3cret-bi")
        monkeypatch.setenv("METABASE_WAIT_SECONDS", "5")
        monkeypatch.delenv("BI_READONLY_ROLE", raising=False)
        assert provision.main() == 0
        assert provision.main() == 0  # the second start: log in, update, no second connection
    finally:
        server.shutdown()
        server.server_close()

    assert state["admin"] == ("admin@example.org", "s3cret-admin")
    assert len(state["databases"]) == 1 and state["updates"] == 1 and state["syncs"] == 2
    database = state["databases"][0]
    assert database["engine"] == "postgres"
    details = database["details"]
    assert (details["host"], details["port"], details["dbname"]) == ("postgres", 5432, "hz_warehouse")
    assert (details["user"], details["password"]) == ("bi_reader", "s3cret-bi")
    assert (details["schema-filters-type"], details["schema-filters-patterns"]) == ("inclusion", "marts")
    assert state["timezone"] == "Asia/Shanghai"
    assert "marts connection ready" in capsys.readouterr().out
