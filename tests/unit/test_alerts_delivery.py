"""Delivery planning, backoff, error classification and late-feed reminders, without Airflow or a database."""

from __future__ import annotations

import smtplib
from datetime import UTC, date, datetime, timedelta

import pytest

from hzwh.alerts import channels, late
from hzwh.alerts.deliver import Pending, backoff_seconds, plan_units
from hzwh.alerts.digest import Item
from hzwh.alerts.routing import parse_routing
from hzwh.alerts.webhook import DeliveryError


def _p(delivery_id: int, channel: str, recipient: str, due: bool = True) -> Pending:
    return Pending(delivery_id, channel, recipient, Item(f"breach|t{delivery_id}", "breach", {}), due)


PENDING = [
    _p(1, "email", "a@x.org"), _p(2, "email", "a@x.org"), _p(3, "email", "b@x.org"),
    _p(4, "slack", "slack_hrss"), _p(5, "slack", "slack_hrss"),
    _p(6, "webhook", "http://h/1"), _p(7, "webhook", "http://h/1"),
]


def _ids(units) -> list[list[int]]:
    return [[p.delivery_id for p in u] for u in units]


def test_digest_groups_by_channel_and_recipient_and_the_webhook_gets_one_post_per_alert():
    assert _ids(plan_units(PENDING)) == [[1, 2], [3], [4, 5], [6], [7]]


def test_webhook_array_and_digest_off():
    assert _ids(plan_units(PENDING, webhook_array=True)) == [[1, 2], [3], [4, 5], [6, 7]]
    assert _ids(plan_units(PENDING, digest=False)) == [[1], [2], [3], [4], [5], [6], [7]]


def test_a_digest_waits_only_while_none_of_its_alerts_is_due():
    waiting = [_p(1, "email", "a@x.org", due=False), _p(2, "email", "a@x.org"),
               _p(3, "email", "b@x.org", due=False), _p(6, "webhook", "http://h/1", due=False),
               _p(7, "webhook", "http://h/1")]
    # a@ has a new alert: its digest carries the waiting one too; b@ and webhook delivery 6 keep waiting.
    assert _ids(plan_units(waiting)) == [[1, 2], [7]]


def test_backoff_doubles_and_is_capped():
    assert [backoff_seconds(n, 60, 3600) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_smtp_errors_are_classified(monkeypatch):
    class Hook:
        from_email = "from@x.org"

        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def send_email_smtp(self, **kwargs):
            raise self.error

    import airflow.providers.smtp.hooks.smtp as smtp_module

    monkeypatch.setattr(smtp_module, "SmtpHook", Hook)
    cases = [
        (smtplib.SMTPRecipientsRefused({"a@x.org": (550, b"no such user")}), False, "SMTP refused a@x.org: 550"),
        (smtplib.SMTPRecipientsRefused({"a@x.org": (451, b"try later")}), True, "451 try later"),
        (smtplib.SMTPServerDisconnected("gone"), True, "SMTPServerDisconnected"),
        (ConnectionRefusedError(111, "Connection refused"), True, "ConnectionRefusedError"),
        (smtplib.SMTPDataError(554, b"rejected"), False, "SMTP 554 rejected"),
    ]
    for error, transient, reason in cases:
        Hook.error = error
        with pytest.raises(DeliveryError) as info:
            channels.send_email("a@x.org", [Item("k", "breach", {"message": "m"})])
        assert info.value.transient is transient and reason in str(info.value), error


def test_unconfigured_channels_are_named(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_SLACK", raising=False)
    monkeypatch.setattr(channels, "_connection_in_airflow", lambda conn_id: False)
    assert "no SMTP connection 'smtp_default'" in channels.unavailable("email", "a@x.org")
    assert "'no_such_slack'" in channels.unavailable("slack", "no_such_slack")
    assert channels.unavailable("webhook", "http://h") is None
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", "smtp://127.0.0.1:25")
    assert channels.unavailable("email", "a@x.org") is None


ROUTING = parse_routing({"defaults": {"late_feeds": {
    "first_period": "2012-03", "realert_days": 7, "feeds": {"vegetable_supply": {"due_day": 20}}}}})
FEEDS = ("social_security_enrollment", "vegetable_supply")


def test_the_logical_date_is_read_on_the_plan_calendar():
    assert late.as_of_date(datetime(2012, 4, 10, 17, 0, tzinfo=UTC)) == date(2012, 4, 11)
    assert late.as_of_date(datetime(2012, 4, 10, 15, 59, tzinfo=UTC)) == date(2012, 4, 10)


def test_a_missing_month_alerts_once_then_again_after_the_interval():
    as_of = date(2012, 4, 11)
    first = late.late_feed_alerts(as_of, ROUTING, set(), {}, FEEDS)
    assert [a.key for a in first] == ["late_feed|social_security_enrollment|2012-03|1"]  # vegetables: due 20th
    previous = {("social_security_enrollment", "2012-03"): (1, as_of)}
    for days in range(7):
        assert late.late_feed_alerts(as_of + timedelta(days=days), ROUTING, set(), previous, FEEDS) == []
    again = late.late_feed_alerts(as_of + timedelta(days=7), ROUTING, set(), previous, FEEDS)
    assert [a.key for a in again] == ["late_feed|social_security_enrollment|2012-03|2"]


def test_a_loaded_month_is_not_late_and_a_backfilled_day_before_the_last_alert_raises_nothing():
    loaded = {("social_security_enrollment", "2012-03")}
    assert [a.key for a in late.late_feed_alerts(date(2012, 4, 30), ROUTING, loaded, {}, FEEDS)] == [
        "late_feed|vegetable_supply|2012-03|1"]
    previous = {("social_security_enrollment", "2012-03"): (3, date(2012, 5, 1))}
    assert late.late_feed_alerts(date(2012, 4, 20), ROUTING, set(), previous, FEEDS[:1]) == []
