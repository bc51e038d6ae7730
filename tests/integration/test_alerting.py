"""Alert routing, digests, lifecycle, late feeds and delivery failures, against real local servers.

The tests start an SMTP server (aiosmtpd) and an HTTP server that stands in for
the §6 webhook and for Slack's incoming webhooks (SlackWebhookHook posts to the
URL its connection holds). They count exactly what each recipient receives.

Part 1 drives `deliver_pending` directly on a scratch warehouse (seconds): a
channel that is down, a refused address, a timeout, two deliverers at once.
Part 2 runs the real DAGs through Airflow (`airflow dags test`) on planted
feed files: one digest per recipient, a re-run that sends nothing new, a
webhook that was down receiving every alert exactly once after it recovers,
a revision that sends one resolved notice, and a late feed.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from hzwh import db, runtime, settings
from hzwh.alerts.deliver import deliver_pending
from hzwh.alerts.messages import Alert
from hzwh.alerts.record import record
from hzwh.alerts.routing import parse_routing

pytestmark = pytest.mark.integration

# --------------------------------------------------------------------------- local servers


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def html(self) -> str:
        part = self.message.get_body(("html", "plain"))
        return part.get_content() if part is not None else ""


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps every accepted message; refuses the addresses in `refuse` with 550."""

    mails: list[Mail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def count(self) -> Counter:
        return Counter(r for m in self.mails for r in m.recipients)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.recipients]


@dataclass
class Http:
    """Records JSON bodies POSTed per path; `status[path]` and `delay[path]` make a path fail or hang."""

    base: str = ""
    posts: list[tuple[str, object]] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path

    def bodies(self, path: str) -> list[object]:
        with self.lock:
            return [b for p, b in self.posts if p == path]

    def alerts(self, path: str) -> list[dict]:
        out: list[dict] = []
        for body in self.bodies(path):
            out.extend(body if isinstance(body, list) else [body])
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@contextmanager
def http_server() -> Iterator[Http]:
    http = Http()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(http.delay.get(self.path, 0))
            status = http.status.get(self.path, 200)
            if status == 200:
                with http.lock:
                    http.posts.append((self.path, json.loads(body)))
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"unavailable")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield http
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def smtp_conn(port: int) -> str:
    return (f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&retry_limit=0&timeout=5"
            "&from_email=hzwh-alerts%40example.org")


def slack_conn(url: str) -> str:
    return json.dumps({"conn_type": "slackwebhook", "password": url})


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    base = settings.warehouse()
    parts = settings.PgParts(base.host, base.port, base.user, base.password, f"{name}_{os.getpid()}")
    db.drop_database(parts)
    db.create_database(parts)
    try:
        yield parts.url()
    finally:
        if not os.environ.get("HZWH_KEEP_TEST_DB"):
            db.drop_database(parts)


def query(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


# --------------------------------------------------------------------------- part 1: delivery, no Airflow


@dataclass
class Bench:
    url: str
    mailbox: Mailbox
    http: Http


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    with smtp_server() as (mailbox, port), http_server() as http, scratch_database("hz_alerting_direct") as url:
        env = {
            "WAREHOUSE_URL": url,
            "ALERT_WEBHOOK_URL": None,
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_conn(port),
            "AIRFLOW_CONN_SLACK_OPS": slack_conn(http.url("/slack/ops")),
            "ALERT_DELIVERY_TRIES": "3",
            "ALERT_RETRY_PAUSE_SECONDS": "0.05",
            "ALERT_RETRY_BASE_SECONDS": "60",
            "ALERT_RETRY_MAX_SECONDS": "3600",
        }
        with environment(env):
            with db.connect() as conn:
                db.bootstrap(conn)
            yield Bench(url, mailbox, http)


def _alert(n: int, bureau: str = "hrss") -> Alert:
    message = f"【未达标】测试 {n}\n[BREACH] test {n}"
    payload = {"kind": "breach", "target_id": f"t{n}", "geo_code": "330100", "month": "2012-03",
               "actual_value": 0.5, "target_value": 0.9, "comparator": ">=", "responsible_bureau": bureau,
               "message": message}
    return Alert(kind="breach", audience="bureau", message=message, payload=payload, target_id=f"t{n}",
                 geo_code="330100", responsible_bureau=bureau, key_parts=(f"t{n}", "330100", "2012-03", ""))


def _deliver(url: str, **kwargs):
    with psycopg.connect(url, autocommit=True) as conn:
        return deliver_pending(conn, **kwargs)


def test_a_channel_that_is_down_stops_nothing_else_and_delivers_once_when_back(bench):
    routing = parse_routing({"bureaus": {"hrss": {
        "email": ["a@example.org", "refused@example.org"], "slack": ["slack_ops"],
        "webhook": [bench.http.url("/down")]}}}, "test")
    bench.mailbox.refuse = {"refused@example.org"}
    bench.http.status["/down"] = 500
    with psycopg.connect(bench.url) as conn:
        assert len(record(conn, [_alert(1), _alert(2)], routing=routing)) == 2

    report = _deliver(bench.url)

    # One digest of both alerts to the address that works, one Slack message; the others failed.
    assert bench.mailbox.count() == Counter({"a@example.org": 1})
    assert "t1" in bench.mailbox.mails[0].message["X-HZWH-Alert-Keys"]
    assert len(bench.http.bodies("/slack/ops")) == 1 and "test 1" in bench.http.bodies("/slack/ops")[0]["text"]
    assert (report.messages, report.sent, report.failed) == (2, 4, 4)
    rows = {(c, r): (s, a, e) for c, r, s, a, e in query(
        bench.url, "select channel, recipient, status, attempts, last_error from ops.alert_deliveries"
        " where alert_id = (select min(alert_id) from ops.alerts)")}
    assert rows[("email", "refused@example.org")][:2] == ("failed", 1)  # 550 is permanent: no in-task retry
    assert "550" in rows[("email", "refused@example.org")][2]
    assert rows[("webhook", bench.http.url("/down"))][:2] == ("failed", 3)  # 500 is transient: three tries
    assert "HTTP 500" in rows[("webhook", bench.http.url("/down"))][2]
    # Backoff: after 3 failed attempts the next try waits 60 x 2^2 s.
    (wait,) = query(bench.url, "select extract(epoch from next_attempt_at - last_attempt_at) from"
                    " ops.alert_deliveries where channel = 'webhook' limit 1")[0]
    assert 239 <= float(wait) <= 241
    failures = query(bench.url, "select count(*), bool_and(error like 'HTTP 500%%') from ops.alert_delivery_attempts"
                     " where not ok")[0]
    assert failures == (2 * 3 + 2 * 1, False)  # every attempt recorded with its reason

    # Not due yet: a new run does not hammer the endpoint.
    assert _deliver(bench.url).messages == 0

    # Both recover; time passes.
    bench.mailbox.refuse = set()
    bench.http.status.pop("/down")
    query(bench.url, "update ops.alert_deliveries set next_attempt_at = now() where status <> 'sent' returning 1")
    report = _deliver(bench.url)
    assert bench.mailbox.count() == Counter({"a@example.org": 1, "refused@example.org": 1})
    assert [a["target_id"] for a in bench.http.alerts("/down")] == ["t1", "t2"]  # one object per POST
    assert len(bench.http.bodies("/down")) == 2
    assert _deliver(bench.url).messages == 0
    log = query(bench.url, "select alert_key, channel, recipients, status, attempts, sent_at, last_error"
                " from ops.alert_log order by alert_key, channel")
    assert len(log) == 6 and all(r[3] == "sent" and r[5] is not None and r[6] is None for r in log)
    assert {r[1]: r[4] for r in log if r[0].endswith("t1|330100|2012-03|")} == {"email": 2, "slack": 1, "webhook": 4}


def test_a_timeout_is_recorded_and_retried(bench):
    routing = parse_routing({"bureaus": {"health": {"webhook": [bench.http.url("/slow")]}}}, "test")
    bench.http.delay["/slow"] = 3
    with psycopg.connect(bench.url) as conn:
        record(conn, [_alert(3, "health")], routing=routing)
    # Only here is the timeout short: elsewhere a stalled test process must not turn a slow POST into a retry.
    with environment({"ALERT_DELIVERY_TRIES": "1", "ALERT_WEBHOOK_TIMEOUT": "1"}):
        assert _deliver(bench.url).failed == 1
    (error,) = query(bench.url, "select last_error from ops.alert_deliveries where recipient like '%%/slow'")[0]
    assert error.startswith("timeout after 1 s")
    bench.http.delay.pop("/slow")
    query(bench.url, "update ops.alert_deliveries set next_attempt_at = now() where status <> 'sent' returning 1")
    assert _deliver(bench.url).sent == 1
    (status, attempts) = query(bench.url, "select status, attempts from ops.alert_deliveries"
                               " where recipient like '%%/slow'")[0]
    assert (status, attempts) == ("sent", 2)


def test_two_deliverers_at_once_send_each_alert_once(bench):
    routing = parse_routing({"bureaus": {"ndrc": {"webhook": [bench.http.url("/busy")],
                                                   "email": ["busy@example.org"]}}}, "test")
    bench.http.delay["/busy"] = 0.3
    with psycopg.connect(bench.url) as conn:
        record(conn, [_alert(n, "ndrc") for n in range(10, 16)], routing=routing)
    threads = [threading.Thread(target=_deliver, args=(bench.url,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a["target_id"] for a in bench.http.alerts("/busy")) == [f"t{n}" for n in range(10, 16)]
    keys = [k for m in bench.mailbox.to("busy@example.org") for k in m.message["X-HZWH-Alert-Keys"].split(",")]
    assert sorted(keys) == sorted(f"breach|t{n}|330100|2012-03|" for n in range(10, 16))


def test_no_channel_configured_means_recorded_only(bench):
    routing = parse_routing({"data_engineers": {"email": ["de@example.org"], "slack": ["slack_missing"]}}, "test")
    with environment({"AIRFLOW_CONN_SMTP_DEFAULT": None}), psycopg.connect(bench.url) as conn:
        (alert_id,) = record(conn, [_alert(20, "culture")], routing=routing)
    (route, note, message) = query(bench.url, "select route, route_note, message from ops.alerts where alert_id = %s",
                                   (alert_id,))[0]
    assert route == "data_engineers (no route for bureau culture)"
    assert "no SMTP connection 'smtp_default'" in note and "'slack_missing'" in note
    assert "[ROUTING]" in message and "culture" in message
    assert query(bench.url, "select count(*) from ops.alert_deliveries where alert_id = %s", (alert_id,)) == [(0,)]
    assert query(bench.url, "select channel, status from ops.alert_log where alert_id = %s", (alert_id,)) == [
        (None, "recorded only")]


# --------------------------------------------------------------------------- part 2: the real DAGs

ROUTING_YAML = """
defaults:
  digest: true
  late_feeds:
    first_period: "2012-03"
    realert_days: 3
    feeds:
      vegetable_supply: {due_day: 20}
data_engineers:
  email: [de@example.org]
  slack: [slack_de]
bureaus:
  hrss:
    email: [hrss-a@example.org, hrss-b@example.org]
    slack: [slack_hrss]
  health:
    email: [health@example.org, health-2@example.org]
"""

PLAN_INDICATORS = """period,target_id,geo_code,value,reported_by
2012-03,emp_registered_unemployment_rate,330100,0.045,hrss
2012-03,emp_labour_arbitration_closure_rate,330100,0.90,hrss
2012-03,emp_small_enterprise_labour_contract_rate,330100,0.95,hrss
2012-03,ss_wubao_centralised_care_rate,330100,0.80,civil_affairs
2012-03,no_such_target,330100,0.5,hrss
"""
VACCINATION = """period,district_code,vaccine,eligible_children,vaccinated_children
2012-03,330102,MCV,1000,850
2012-03,330103,MCV,1000,990
2012-03,330104,HepB,1000,880
"""
REVISION = """period,target_id,geo_code,value,reported_by
2012-03,emp_labour_arbitration_closure_rate,330100,0.95,hrss
"""
# The planted breaches: (target, geo, month, vaccine) -> the bureau whose route gets it.
PLANTED = {
    ("emp_registered_unemployment_rate", "330100", "2012-03", None): "hrss",
    ("emp_labour_arbitration_closure_rate", "330100", "2012-03", None): "hrss",
    ("ss_wubao_centralised_care_rate", "330100", "2012-03", None): "civil_affairs",
    ("health_nip_vaccination_rate", "330102", "2012-03", "MCV"): "health",
    ("health_nip_vaccination_rate", "330104", "2012-03", "HepB"): "health",
}


@dataclass
class Stage:
    mails: Counter
    slack: dict[str, int]
    webhook: int


@dataclass
class Site:
    url: str
    landing: Path
    mailbox: Mailbox
    http: Http

    def drop(self, feed: str, name: str, text: str) -> None:
        folder = self.landing / feed
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")

    def run_pipeline(self) -> None:
        results = runtime.run_once(runtime.PIPELINE_DAG_IDS, echo=False)
        failed = [r for r in results if r.state != "success"]
        assert not failed and len(results) == len(runtime.PIPELINE_DAG_IDS), "\n\n".join(
            f"{r}\n{r.log_tail()}" for r in failed or results
        )

    def check_late_feeds(self, day: str) -> None:
        env = runtime.prepare()
        logical = datetime.fromisoformat(f"{day}T01:00:00+00:00")
        result = runtime.test_dag("check_late_feeds", env, echo=False, logical_date=logical)
        assert result.state == "success", f"{result}\n{result.log_tail()}"

    def stage(self) -> Stage:
        slack = {name: len(self.http.bodies(f"/slack/{name}")) for name in ("hrss", "de")}
        return Stage(self.mailbox.count(), slack, len(self.http.alerts("/alerts")))

    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        return query(self.url, statement, params)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("alerting")
    routing_file = root / "alert_routing.yaml"
    routing_file.write_text(ROUTING_YAML, encoding="utf-8")
    with smtp_server() as (mailbox, port), http_server() as http, scratch_database("hz_alerting_dags") as url:
        env = {
            "WAREHOUSE_URL": url,
            "LANDING_DIR": str(root / "landing"),
            "ARCHIVE_DIR": str(root / "archive"),
            "DATA_DIR": str(root),
            "ALERT_ROUTING_FILE": str(routing_file),
            "ALERT_WEBHOOK_URL": http.url("/alerts"),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_conn(port),
            "AIRFLOW_CONN_SLACK_HRSS": slack_conn(http.url("/slack/hrss")),
            "AIRFLOW_CONN_SLACK_DE": slack_conn(http.url("/slack/de")),
            "ALERT_DELIVERY_TRIES": "2",
            "ALERT_RETRY_PAUSE_SECONDS": "0.05",
            "ALERT_RETRY_BASE_SECONDS": "1",
            "ALERT_RETRY_MAX_SECONDS": "2",
        }
        with environment(env):
            yield Site(url, root / "landing", mailbox, http)


@pytest.fixture(scope="module")
def first_run(site) -> Stage:
    """Planted breaches and a quarantined row; the §6 webhook is down and one health address is refused."""
    site.http.status["/alerts"] = 500
    site.mailbox.refuse = {"health-2@example.org"}
    site.drop("plan_indicators", "plan_indicators_201203.csv", PLAN_INDICATORS)
    site.drop("vaccination_coverage", "vaccination_coverage_201203.csv", VACCINATION)
    site.run_pipeline()
    return site.stage()


def test_each_recipient_gets_one_digest_per_channel(site, first_run):
    breaches = {(t, g, m.strftime("%Y-%m"), v): b for t, g, m, v, b in site.query(
        "select target_id, geo_code, month, vaccine, responsible_bureau from ops.alerts where kind = 'breach'")}
    assert breaches == PLANTED
    # hrss: 2 breaches, one email each and one Slack message; health: 2 breaches, one email (the other address
    # refused); data engineers: the quarantined file (ingest run) and civil_affairs' unrouted breach (marts run).
    assert first_run.mails == Counter({"hrss-a@example.org": 1, "hrss-b@example.org": 1, "health@example.org": 1,
                                       "de@example.org": 2})
    assert first_run.slack == {"hrss": 1, "de": 2}
    assert first_run.webhook == 0

    (hrss,) = site.mailbox.to("hrss-a@example.org")
    assert "市人力社保局" in hrss.message["Subject"] and "2 breaches" in hrss.message["Subject"]
    body = hrss.html
    for text in ("登记失业率", "实际 4.50%", "目标 &lt;= 4.00%", "差距 +0.50 个百分点", "2012-03", "全市",
                 "责任单位：市人力社保局", "actual 4.50%", "target &lt;= 4.00%", "gap +0.50 pp",
                 "Hangzhou (whole city)", "Responsible: Municipal Human Resources",
                 "See: marts.fct_target_attainment where target_id = &#x27;emp_registered_unemployment_rate&#x27;"):
        assert text in body, text
    assert body.count("【未达标】") == 2
    (health,) = site.mailbox.to("health@example.org")
    assert "MCV" in health.html and "HepB" in health.html and "上城区" in health.html
    assert "vaccine = &#x27;MCV&#x27;" in health.html
    fallback = [m for m in site.mailbox.to("de@example.org") if "[ROUTING]" in m.html]
    assert len(fallback) == 1 and "civil_affairs" in fallback[0].html and "市民政局" in fallback[0].html
    slack_text = site.http.bodies("/slack/hrss")[0]["text"]
    assert "2 breaches" in slack_text and "[BREACH]" in slack_text and "【未达标】" in slack_text


def test_failures_are_logged_with_their_reason(site, first_run):
    log = site.query("select alert_key, kind, channel, recipients, status, attempts, sent_at, last_error"
                     " from ops.alert_log")
    alerts = site.query("select count(*) from ops.alerts")[0][0]
    assert alerts == 6  # 5 breaches + 1 data-quality
    webhook = [r for r in log if r[2] == "webhook"]
    assert len(webhook) == alerts
    assert all(r[4] == "failed" and r[5] >= 2 and r[6] is None and "HTTP 500" in r[7] for r in webhook)
    health_email = [r for r in log if r[2] == "email" and "health-2@example.org" in r[3]]
    assert len(health_email) == 2
    assert all(r[4] == "failed" and "health-2@example.org: SMTP refused" in r[7] and "550" in r[7]
               for r in health_email)
    sent = [r for r in log if r[2] == "slack"]
    assert sent and all(r[4] == "sent" and r[6] is not None and r[7] is None for r in sent)


@pytest.fixture(scope="module")
def rerun(site, first_run) -> Stage:
    """The same files again, and the webhook and the refused address are back."""
    site.http.status.pop("/alerts")
    site.mailbox.refuse = set()
    site.drop("plan_indicators", "plan_indicators_201203.csv", PLAN_INDICATORS)
    site.drop("vaccination_coverage", "vaccination_coverage_201203.csv", VACCINATION)
    site.run_pipeline()
    return site.stage()


def test_rerun_raises_nothing_and_the_backlog_goes_out_exactly_once(site, first_run, rerun):
    assert site.query("select count(*) from ops.alerts")[0][0] == 6
    # The only new messages: the refused address's digest, and every alert on the recovered webhook.
    assert rerun.mails - first_run.mails == Counter({"health-2@example.org": 1})
    assert rerun.slack == first_run.slack
    received = site.http.alerts("/alerts")
    keys = Counter((a["kind"], a.get("target_id"), a.get("geo_code"), a.get("vaccine")) for a in received)
    assert len(received) == 6 and set(keys.values()) == {1}
    assert all(isinstance(b, dict) for b in site.http.bodies("/alerts"))  # one JSON object per POST
    assert site.query("select count(*) from ops.alert_log where status <> 'sent' or sent_at is null") == [(0,)]


@pytest.fixture(scope="module")
def revised(site, rerun) -> Stage:
    site.drop("plan_indicators", "plan_indicators_201203_rev1.csv", REVISION)
    site.run_pipeline()
    return site.stage()


def test_a_revision_that_clears_a_breach_sends_one_resolved_notice(site, rerun, revised):
    assert revised.mails - rerun.mails == Counter({"hrss-a@example.org": 1, "hrss-b@example.org": 1})
    assert {k: revised.slack[k] - rerun.slack[k] for k in revised.slack} == {"hrss": 1, "de": 0}
    new = site.http.alerts("/alerts")[rerun.webhook:]
    assert [(a["kind"], a["target_id"], a["month"]) for a in new] == [
        ("resolved", "emp_labour_arbitration_closure_rate", "2012-03")]
    mail = site.mailbox.to("hrss-a@example.org")[-1]
    assert "1 resolved notice" in mail.message["Subject"]
    assert "【已恢复达标】" in mail.html and "[RESOLVED]" in mail.html
    assert "实际 95.00%" in mail.html


def test_a_late_feed_alerts_the_data_engineers_once_then_after_the_interval(site, revised):
    # As of 2012-04-11: social security for 2012-03 was due on the 10th and never came; vegetable supply is
    # due on the 20th (per-feed setting); the other two feeds were delivered.
    site.check_late_feeds("2012-04-11")
    late = site.stage()
    assert late.mails - revised.mails == Counter({"de@example.org": 1})
    assert late.slack["de"] - revised.slack["de"] == 1
    new = site.http.alerts("/alerts")[revised.webhook:]
    assert [(a["kind"], a["feed"], a["month"], a["due_date"]) for a in new] == [
        ("late_feed", "social_security_enrollment", "2012-03", "2012-04-10")]
    mail = site.mailbox.to("de@example.org")[-1]
    assert "【数据逾期】" in mail.html and "[LATE FEED]" in mail.html and "市人力社保局" in mail.html

    site.check_late_feeds("2012-04-12")  # still missing, within the re-alert interval: nothing
    assert site.stage() == late

    site.check_late_feeds("2012-04-14")  # three days on: one reminder
    again = site.stage()
    assert again.mails - late.mails == Counter({"de@example.org": 1})
    assert site.query("select alert_key, route from ops.alerts where kind = 'late_feed' order by alert_id") == [
        ("late_feed|social_security_enrollment|2012-03|1", "data_engineers"),
        ("late_feed|social_security_enrollment|2012-03|2", "data_engineers"),
    ]
    assert "reminder 2" in site.mailbox.to("de@example.org")[-1].html
