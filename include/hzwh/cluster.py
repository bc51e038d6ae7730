"""The production Airflow stack, on this machine: CeleryExecutor, Redis broker, PostgreSQL metadata, two workers.

`docker-compose.yml` runs Airflow as separate services; where Docker is not
available (CI, this machine), `LocalCluster` starts the same processes with
the same configuration, each as a subprocess with its own log file:

    airflow api-server --port <free port>        UI, REST API and the execution API the workers call
    airflow scheduler                            CeleryExecutor: queues task workloads on Redis
    airflow dag-processor                        parses dags/ into the metadata database
    airflow celery worker --queues default --concurrency 2 --celery-hostname worker1@<host>
    airflow celery worker --queues default --concurrency 2 --celery-hostname worker2@<host>

It gets a metadata database of its own (`hz_airflow_celery`, recreated and
migrated at every start), a Redis database of its own as the broker
(`redis://127.0.0.1:6379/5`, flushed at start), and an AIRFLOW_HOME of its own
under a temporary folder, so it never meets the `airflow dags test` runs of
`hzwh.runtime` (`.airflow/`, database `hz_airflow`). A lock file per slot
(Redis database 5 to 9) lets up to five clusters run side by side.

Which worker ran a task is recorded twice, independently:
`task_instance.hostname` (the workers' `[core] hostname_callable` is
`worker_hostname`, which answers the Celery node name; on separate machines the
plain host name already differs) and each worker's own log, which names the
Celery task id (`task_instance.external_executor_id`) of every workload it ran.

    with LocalCluster(runtime.airflow_env()) as cluster:
        report = cluster.run_feeds()
        print(report.table())

`python -m hzwh.cluster` does that for whatever waits in LANDING_DIR (docs/celery.md).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hzwh import settings

WORKER_NAME_ENV = "HZWH_CELERY_WORKER_NAME"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
REDIS_DBS = tuple(range(5, 10))  # one cluster slot per Redis database
METADATA_DB = "hz_airflow_celery"
QUEUE = "default"
INGEST_DAG, MARTS_DAG = "ingest_feeds", "build_marts"
TERMINAL = frozenset({"success", "failed"})
_EXECUTING = re.compile(r"\[([0-9a-f-]{36})\] Executing workload in Celery")


def worker_hostname() -> str:
    """`[core] hostname_callable` of the cluster's workers: their Celery node name (worker1@host).

    Airflow records it as `task_instance.hostname`. Two workers on one machine share a host
    name, so the node name is what tells them apart; a worker without the variable answers
    the machine's name, as Airflow's default does.
    """
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()


class ClusterError(RuntimeError):
    """The cluster did not start, or a run did not finish; the message carries every process's log tail."""


class DagImportError(ClusterError):
    """A DAG file failed to import in the dag-processor: no point in waiting for it."""


# --------------------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: own process group, SIGTERM when the test process dies (even killed)."""
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (Airflow's task processes leave the worker's process group)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


@dataclass
class Process:
    """One Airflow component: a subprocess in its own process group, output in `log`."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.env["AIRFLOW_HOME"], preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return "(no log)"
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def signal_group(self, sig: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)


def stop_processes(processes: list[Process], grace: float = 30.0) -> None:
    """SIGTERM each process group (and every descendant that left it), wait, then SIGKILL what is left."""
    started = [p for p in processes if p.popen is not None]
    tree = {p.name: _descendants(p.pid) for p in started}
    for proc in started:
        proc.signal_group(signal.SIGTERM)
        for pid in tree[proc.name]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in started:
        proc.signal_group(signal.SIGKILL)
        for pid in tree[proc.name] | _descendants(proc.pid):
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=5)


# --------------------------------------------------------------------------- what ran where


@dataclass(frozen=True)
class TaskRun:
    """One task instance of a DAG run, as the metadata database and the workers' logs record it."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    hostname: str | None  # task_instance.hostname: the worker that ran the (last) try
    celery_task_id: str | None  # task_instance.external_executor_id
    celery_worker: str | None  # the worker whose log shows that Celery task id being executed
    celery_status: str | None  # that Celery task's state in the result backend (celery_taskmeta)
    queue: str | None
    start_date: datetime | None
    end_date: datetime | None

    @property
    def seconds(self) -> float | None:
        if self.start_date and self.end_date:
            return (self.end_date - self.start_date).total_seconds()
        return None


@dataclass(frozen=True)
class DagRunState:
    dag_id: str
    run_id: str
    run_type: str
    state: str
    start_date: datetime | None
    end_date: datetime | None


@dataclass
class RunReport:
    """The DAG runs that one `run_feeds` produced and where each of their tasks ran."""

    triggered_run_id: str
    dag_runs: list[DagRunState]
    tasks: list[TaskRun]
    seconds: float
    workers: list[str] = field(default_factory=list)

    def runs_of(self, dag_id: str) -> list[DagRunState]:
        return [r for r in self.dag_runs if r.dag_id == dag_id]

    def tasks_by_worker(self) -> dict[str, list[TaskRun]]:
        out: dict[str, list[TaskRun]] = {w: [] for w in self.workers}
        for task in self.tasks:
            out.setdefault(task.hostname or "(none)", []).append(task)
        return out

    def table(self) -> str:
        rows = [("dag_id", "run", "task_id", "state", "try", "hostname (TI)", "worker log", "secs")]
        for t in self.tasks:
            rows.append((t.dag_id, t.run_id, t.task_id, t.state or "-", str(t.try_number), t.hostname or "-",
                         t.celery_worker or "-", f"{t.seconds:.1f}" if t.seconds is not None else "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        counts = ", ".join(f"{w}: {len(ts)}" for w, ts in self.tasks_by_worker().items())
        runs = ", ".join(f"{r.dag_id} {r.run_id} {r.state}" for r in self.dag_runs)
        return "\n".join([*lines, "", f"tasks per worker: {counts}", f"DAG runs: {runs}",
                          f"trigger to last run finished: {self.seconds:.0f}s"])


# --------------------------------------------------------------------------- the cluster


class LocalCluster:
    """Airflow api-server, scheduler, dag-processor and `workers` Celery workers, as on the compose stack.

    `env` is the project's Airflow environment (`hzwh.runtime.airflow_env()`: DAGS_FOLDER,
    the `warehouse` connection, WAREHOUSE_URL, LANDING_DIR, ...). The cluster replaces what
    makes it a cluster of its own: AIRFLOW_HOME, the executor, the metadata database, the
    broker, the result backend, the execution API URL and the secrets.
    """

    def __init__(
        self,
        env: dict[str, str] | None = None,
        workers: int = 2,
        *,
        concurrency: int = 2,
        home: Path | None = None,
        redis_url: str = DEFAULT_REDIS,
        redis_db: int | None = None,
        metadata_db: str | None = None,
        log_level: str = "INFO",
        startup_timeout: float = 180.0,
    ) -> None:
        if env is None:
            from hzwh import runtime

            env = runtime.airflow_env()
        self.base_env = dict(env)
        self.workers = workers
        self.concurrency = concurrency
        self.home = Path(home) if home else None
        self._own_home = home is None  # a temporary home is removed after a clean stop...
        self.keep_home = False  # ...unless this is set
        self.redis_url = redis_url.rstrip("/")
        self.redis_db = redis_db
        self.metadata_db = metadata_db
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.processes: list[Process] = []
        self.worker_names: list[str] = []
        self.port = 0
        self.env: dict[str, str] = {}
        self._lock = None
        self._token: str | None = None
        self._password = secrets.token_urlsafe(16)

    # ----------------------------------------------------------------- configuration

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def broker_url(self) -> str:
        return f"{self.redis_url}/{self.redis_db}"

    @property
    def metadata_url(self) -> str:
        """postgresql:// URL of the cluster's metadata database (also the Celery result backend)."""
        return settings.warehouse().url(dbname=self.metadata_db)

    def _cluster_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        home = str(self.home)
        sa_url = "postgresql+psycopg2://" + self.metadata_url.split("://", 1)[1]
        env = dict(self.base_env)
        for key in [k for k in env if k.startswith("AIRFLOW__CELERY")]:
            del env[key]
        env.update({
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sa_url,
            "AIRFLOW_DB_URL": self.metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": QUEUE,
            "AIRFLOW__CELERY__DEFAULT_QUEUE": QUEUE,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",  # its fixed port 8974; /monitor/health instead
            # Paused until run_feeds, and no clock: the triggered ingest run is the only one (a run
            # that crossed the hour would otherwise gain a scheduled one beside it).
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "INGEST_SCHEDULE": "none",
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__COSMOS__CACHE_DIR": str(self.home / "cosmos"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": self.log_level,
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
        })
        return env

    # ----------------------------------------------------------------- start / stop

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop(keep_home=True)
            raise
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.stop(keep_home=self.keep_home or exc_type is not None)

    def _acquire_slot(self) -> None:
        """A Redis database (the broker) that no other cluster on this machine is using."""
        candidates = [self.redis_db] if self.redis_db is not None else list(REDIS_DBS)
        for number in candidates:
            lock = open(Path(tempfile.gettempdir()) / f"hzwh-celery-cluster-{number}.lock", "a+")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            lock.seek(0)
            leftovers = [int(p) for p in lock.read().split() if p.isdigit() and _alive(int(p))]
            if leftovers:  # an earlier cluster's processes outlived it: leave that slot alone
                fcntl.flock(lock, fcntl.LOCK_UN)
                lock.close()
                continue
            self._lock, self.redis_db = lock, number
            if self.metadata_db is None:
                self.metadata_db = METADATA_DB if number == REDIS_DBS[0] else f"{METADATA_DB}_{number}"
            return
        raise ClusterError(f"no free cluster slot: Redis databases {candidates} are all taken by other clusters "
                           f"(lock files {tempfile.gettempdir()}/hzwh-celery-cluster-*.lock)")

    def _record_pids(self) -> None:
        if self._lock:
            self._lock.seek(0)
            self._lock.truncate()
            self._lock.write(" ".join(str(p.pid) for p in self.processes if p.pid) + "\n")
            self._lock.flush()

    def _prepare_metadata_db(self) -> None:
        import psycopg
        from psycopg import sql

        admin = settings.warehouse().url(dbname="postgres")
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                         (self.metadata_db,))
            conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(self.metadata_db)))
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.metadata_db)))
        result = subprocess.run([_airflow_bin(), "db", "migrate"], env=self.env, cwd=self.home, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False, timeout=300)
        (self.home / "logs" / "db-migrate.log").write_text(result.stdout)
        if result.returncode != 0:
            raise ClusterError(f"airflow db migrate failed:\n{result.stdout[-4000:]}")

    def _flush_broker(self) -> None:
        import redis

        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=5)
        try:
            client.flushdb()
        except redis.exceptions.ConnectionError as exc:
            raise ClusterError(f"Redis broker {self.broker_url} is not reachable: {exc}") from exc
        finally:
            client.close()

    def start(self) -> None:
        """Prepare the metadata database and the broker, start every component, wait until all are healthy."""
        t0 = time.monotonic()
        check_celery_compatible()
        self._acquire_slot()
        if self.home is None:
            self.home = Path(tempfile.mkdtemp(prefix=f"hzwh-celery-{self.redis_db}-"))
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.worker_names = []
        self.env = self._cluster_env()
        (self.home / "passwords.json").write_text(json.dumps({"admin": self._password}))
        self._flush_broker()
        self._prepare_metadata_db()

        airflow = _airflow_bin()
        logs = self.home / "logs"
        self.processes = [
            Process("api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.port),
                                   "--workers", "1"], self.env, logs / "api-server.log"),
            Process("scheduler", [airflow, "scheduler"], self.env, logs / "scheduler.log"),
            Process("dag-processor", [airflow, "dag-processor"], self.env, logs / "dag-processor.log"),
        ]
        host = socket.gethostname()
        for i in range(1, self.workers + 1):
            name = f"worker{i}@{host}"
            self.worker_names.append(name)
            worker_env = {
                **self.env,
                WORKER_NAME_ENV: name,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "hzwh.cluster.worker_hostname",
                # Each worker serves its task logs on its own port, as it would on its own machine.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            }
            self.processes.append(Process(
                f"worker{i}",
                [airflow, "celery", "worker", "--queues", QUEUE, "--concurrency", str(self.concurrency),
                 "--celery-hostname", name],
                worker_env, logs / f"worker{i}.log",
            ))
        for proc in self.processes:
            proc.start()
        self._record_pids()
        self.wait_healthy(self.startup_timeout - (time.monotonic() - t0))

    def stop(self, grace: float = 30.0, *, keep_home: bool = True) -> None:
        """Stop the workers, then the scheduler, dag-processor and api-server: SIGTERM, then SIGKILL after `grace`.

        Task processes still running are stopped too (they leave their worker's process group,
        so they are found by walking the process tree). A temporary AIRFLOW_HOME (logs included)
        is removed unless `keep_home` or HZWH_KEEP_CLUSTER_HOME is set; the metadata database
        stays until the next start.
        """
        workers = [p for p in self.processes if p.name.startswith("worker")]
        others = [p for p in self.processes if p not in workers]
        stop_processes(workers, grace)
        stop_processes(others, grace)
        if self._lock:
            self._lock.seek(0)
            self._lock.truncate()
            self._lock.flush()
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
        if self._own_home and self.home and not keep_home and not os.environ.get("HZWH_KEEP_CLUSTER_HOME"):
            shutil.rmtree(self.home, ignore_errors=True)

    # ----------------------------------------------------------------- health

    def _check_alive(self, doing: str) -> None:
        dead = [p for p in self.processes if not p.running()]
        if dead:
            names = ", ".join(f"{p.name} (exit {p.popen.returncode if p.popen else '?'})" for p in dead)
            raise ClusterError(f"{names} stopped while {doing}\n\n{self.diagnostics()}")

    def _wait(self, what: str, check: Callable[[], object], timeout: float, interval: float = 1.0):
        deadline = time.monotonic() + max(timeout, 1.0)
        last: object = None
        while True:
            self._check_alive(f"waiting for {what}")
            try:
                last = check()
            except DagImportError:
                raise
            except Exception as exc:  # noqa: BLE001 - not ready yet; reported on timeout
                last = f"{type(exc).__name__}: {exc}"
            else:
                if last:
                    return last
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})\n\n"
                                   f"{self.diagnostics()}")
            time.sleep(interval)

    def health(self) -> dict:
        """The api-server's /api/v2/monitor/health: metadatabase, scheduler and dag-processor heartbeats."""
        with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5) as resp:
            return json.load(resp)

    def _components_healthy(self) -> bool:
        health = self.health()
        return all((health.get(part) or {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "dag_processor"))

    def worker_queues(self) -> dict[str, list[str]]:
        """Ask the workers over the broker (Celery remote control) which queues each consumes."""
        from celery import Celery

        app = Celery("hzwh-cluster-probe", broker=self.broker_url)
        try:
            answer = app.control.inspect(destination=self.worker_names, timeout=2.0).active_queues() or {}
        finally:
            app.close()
        return {name: [q["name"] for q in queues] for name, queues in answer.items()}

    def _workers_ready(self) -> bool:
        queues = self.worker_queues()
        return all(QUEUE in queues.get(name, []) for name in self.worker_names)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._wait("api-server, scheduler and dag-processor to report healthy", self._components_healthy,
                   timeout)
        self._wait(f"Celery workers {self.worker_names} to consume queue {QUEUE!r}", self._workers_ready,
                   deadline - time.monotonic())

    def diagnostics(self, lines: int = 25) -> str:
        parts = [f"cluster home {self.home}, api {self.api_url}, broker {self.broker_url}, "
                 f"metadata db {self.metadata_db}"]
        for proc in self.processes:
            state = "running" if proc.running() else f"exited {proc.popen.returncode if proc.popen else '-'}"
            parts.append(f"----- {proc.name} (pid {proc.pid}, {state}), last {lines} lines of {proc.log}\n"
                         f"{proc.tail(lines)}")
        with contextlib.suppress(Exception):
            parts.append("----- DAG runs and task instances\n" + self._state_summary())
        return "\n".join(parts)

    # ----------------------------------------------------------------- REST API

    def _token_value(self) -> str:
        if self._token is None:
            body = json.dumps({"username": "admin", "password": self._password}).encode()
            request = urllib.request.Request(f"{self.api_url}/auth/token", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as resp:
                self._token = json.load(resp)["access_token"]
        return self._token

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """Call the public REST API (/api/v2/...) as the admin user."""
        request = urllib.request.Request(
            f"{self.api_url}/api/v2/{path.lstrip('/')}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._token_value()}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            raise ClusterError(f"{method} {path}: HTTP {exc.code} {exc.read().decode(errors='replace')}") from exc

    # ----------------------------------------------------------------- the metadata database

    @contextlib.contextmanager
    def _meta(self) -> Iterator:
        import psycopg

        with psycopg.connect(self.metadata_url, connect_timeout=10, autocommit=True) as conn:
            yield conn

    def _dags_parsed(self, dag_ids: tuple[str, ...]) -> bool:
        # The DAG files of this project are named after their DAG; other files' errors do not stop this run.
        errors = [e for e in self.api("GET", "importErrors").get("import_errors", [])
                  if Path(e["filename"]).stem in dag_ids]
        if errors:
            raise DagImportError("DAG import errors:\n" + "\n".join(f"{e['filename']}: {e['stack_trace']}"
                                                                  for e in errors))
        with self._meta() as conn:
            found = {dag_id for (dag_id,) in conn.execute(
                "select distinct d.dag_id from dag d join serialized_dag s using (dag_id)"
                " where d.dag_id = any(%s) and not d.is_stale", (list(dag_ids),)).fetchall()}
        return found >= set(dag_ids)

    def wait_for_dags(self, dag_ids: tuple[str, ...] = (INGEST_DAG, MARTS_DAG), timeout: float = 120) -> None:
        self._wait(f"the dag-processor to parse {list(dag_ids)}", lambda: self._dags_parsed(dag_ids), timeout)

    def _state_summary(self) -> str:
        with self._meta() as conn:
            runs = conn.execute("select dag_id, run_id, state from dag_run order by id").fetchall()
            tis = conn.execute("select dag_id, task_id, state, hostname from task_instance order by dag_id, task_id"
                               ).fetchall()
            queued = conn.execute("select count(*) from asset_dag_run_queue").fetchone()[0]
        return "\n".join([*(f"run {d} {r}: {s}" for d, r, s in runs),
                          *(f"  {d}.{t}: {s} on {h}" for d, t, s, h in tis),
                          f"queued asset events: {queued}"])

    def dag_runs(self) -> list[DagRunState]:
        with self._meta() as conn:
            rows = conn.execute("select dag_id, run_id, run_type, state, start_date, end_date from dag_run"
                                " order by id").fetchall()
        return [DagRunState(*r) for r in rows]

    def executed_by_worker(self) -> dict[str, str]:
        """Celery task id → worker name, from each worker's own log ("[<id>] Executing workload in Celery")."""
        out: dict[str, str] = {}
        for proc, name in zip([p for p in self.processes if p.name.startswith("worker")], self.worker_names,
                              strict=True):
            if proc.log.exists():
                for match in _EXECUTING.finditer(proc.log.read_text(encoding="utf-8", errors="replace")):
                    out[match.group(1)] = name
        return out

    def task_runs(self) -> list[TaskRun]:
        with self._meta() as conn:
            rows = conn.execute(
                "select ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.state, ti.try_number, ti.hostname,"
                " ti.external_executor_id, ti.queue, ti.start_date, ti.end_date"
                " from task_instance ti join dag_run dr on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id"
                " order by dr.id, ti.start_date nulls last, ti.task_id").fetchall()
            # Celery makes its result table on first use: none yet if no task was ever sent.
            celery = dict(conn.execute("select task_id, status from celery_taskmeta").fetchall()) \
                if conn.execute("select to_regclass('celery_taskmeta')").fetchone()[0] else {}
        by_worker = self.executed_by_worker()
        return [TaskRun(d, r, t, m, s, n, h or None, x, by_worker.get(x or ""), celery.get(x or ""), q, sd, ed)
                for d, r, t, m, s, n, h, x, q, sd, ed in rows]

    # ----------------------------------------------------------------- a run

    def _quiet(self, triggered: str, fail_fast: bool) -> list[DagRunState] | None:
        """All runs finished and no asset event waiting for a build_marts run: what `run_feeds` waits for.

        With `fail_fast`, the first task that failed (or waits for a retry) ends the wait as well.
        """
        runs = self.dag_runs()
        if fail_fast:
            with self._meta() as conn:
                if conn.execute("select 1 from task_instance where state in ('failed', 'up_for_retry')"
                                " limit 1").fetchone():
                    return runs
        with self._meta() as conn:
            queued = conn.execute("select count(*) from asset_dag_run_queue where target_dag_id = %s",
                                  (MARTS_DAG,)).fetchone()[0]
        mine = [r for r in runs if r.dag_id == INGEST_DAG and r.run_id == triggered]
        if not mine or mine[0].state not in TERMINAL or queued:
            return None
        if any(r.state not in TERMINAL for r in runs):
            return None
        if mine[0].state == "success" and not any(r.dag_id == MARTS_DAG for r in runs):
            with self._meta() as conn:
                loaded = conn.execute(
                    "select count(*) from task_instance where dag_id = %s and run_id = %s"
                    " and task_id like 'ingest\\_%%' and state = 'success'", (INGEST_DAG, triggered)).fetchone()[0]
            if loaded:
                return None  # the feed tasks' Asset events have not made a build_marts run yet
        return runs

    def run_feeds(self, timeout: float = 300, *, fail_fast: bool = False) -> RunReport:
        """Unpause both DAGs, trigger ingest_feeds, wait until it and every build_marts run it caused are done.

        The cluster runs ingest_feeds without a schedule (INGEST_SCHEDULE=none), so the
        triggered run is the only ingest run. A feed task that loads something updates its
        raw Asset; build_marts runs on any of them (max_active_runs=1, so events that arrive
        while it runs make one more run afterwards). `fail_fast`: stop waiting at the first
        failed task instead of letting Airflow's retries (a minute apart) run their course.
        """
        t0 = time.monotonic()
        self.wait_for_dags()
        self.api("PATCH", f"dags/{MARTS_DAG}", {"is_paused": False})
        run = self.api("POST", f"dags/{INGEST_DAG}/dagRuns", {
            "dag_run_id": f"manual__cluster_{int(time.time())}",
            "logical_date": None,
            "note": f"hzwh.cluster: {self.workers} Celery workers",
        })
        self.api("PATCH", f"dags/{INGEST_DAG}", {"is_paused": False})
        runs = self._wait(f"{INGEST_DAG} run {run['dag_run_id']} and the {MARTS_DAG} runs it triggers",
                          lambda: self._quiet(run["dag_run_id"], fail_fast), timeout - (time.monotonic() - t0),
                          interval=2.0)
        seconds = time.monotonic() - t0
        # A task instance is done a moment before its Celery task is: let the result backend catch up.
        settle = time.monotonic() + 15
        tasks = self.task_runs()
        while any(t.celery_status in ("PENDING", "STARTED") for t in tasks) and time.monotonic() < settle:
            time.sleep(0.5)
            tasks = self.task_runs()
        return RunReport(run["dag_run_id"], runs, tasks, seconds, list(self.worker_names))


def check_celery_compatible() -> None:
    """Fail with the remedy when the installed Celery cannot run Airflow's CeleryExecutor.

    apache-airflow-providers-celery (up to 3.26.0 at least) imports `retry` from
    `celery.backends.database`, which Celery 5.7.0 removed: the scheduler and every worker
    then die at start with an ImportError.
    """
    from importlib.metadata import version

    import celery.backends.database as celery_db

    if not hasattr(celery_db, "retry"):
        raise ClusterError(
            f"celery {version('celery')} is incompatible with apache-airflow-providers-celery "
            f"{version('apache-airflow-providers-celery')} (`from celery.backends.database import retry` fails, "
            "so the scheduler and the workers cannot start): pin celery<5.7 (5.6.3) in pyproject.toml and "
            "requirements.lock")


def _airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


# --------------------------------------------------------------------------- command line


def prepare_warehouse() -> None:
    """Warehouse database, raw/ops schemas and the BI role, as `hzwh.runtime.prepare` makes them."""
    from hzwh import db

    db.ensure_warehouse()
    with db.connect() as conn:
        db.bootstrap(conn)
        db.ensure_reader_role(conn)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hzwh.cluster",
        description="Run what waits in LANDING_DIR through a local CeleryExecutor cluster (docs/celery.md).")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failed task (no retries)")
    parser.add_argument("--keep-running", action="store_true", help="leave the cluster up until Ctrl-C")
    args = parser.parse_args(argv)

    from hzwh import runtime

    prepare_warehouse()
    with LocalCluster(runtime.airflow_env(), workers=args.workers, concurrency=args.concurrency) as cluster:
        print(f"cluster up: {cluster.api_url} (admin / see {cluster.home}/passwords.json), logs in "
              f"{cluster.home}/logs", flush=True)
        report = cluster.run_feeds(timeout=args.timeout, fail_fast=args.fail_fast)
        print(report.table(), flush=True)
        ok = all(r.state == "success" for r in report.dag_runs)
        if not ok:
            cluster.keep_home = True
            print(f"\n{cluster.diagnostics()}\n\nlogs kept in {cluster.home}/logs", flush=True)
        if args.keep_running:
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
