"""Alert routing from the YAML file: parsing, validation, bureau fallback, late-feed policies."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hzwh import settings
from hzwh.alerts.routing import LateFeedPolicy, Route, RoutingError, load_routing, parse_routing
from hzwh.feeds.contracts import FEED_NAMES

EXAMPLE = settings.PROJECT_ROOT / "config" / "alert_routing.example.yaml"


def test_the_example_file_parses_and_routes_the_feed_owners():
    routing = load_routing(EXAMPLE)
    assert routing.source_name == "config/alert_routing.example.yaml"
    assert {"hrss", "health", "agriculture", "ndrc"} <= set(routing.bureaus)
    assert routing.data_engineers.email
    assert routing.digest is True and routing.webhook_array is False
    assert routing.late_feeds == LateFeedPolicy(10, 7, "2012-01", "2012-12")


def test_default_file_is_the_example_unless_a_local_one_exists(monkeypatch, tmp_path):
    monkeypatch.delenv("ALERT_ROUTING_FILE", raising=False)
    local = settings.PROJECT_ROOT / "config" / "alert_routing.yaml"
    assert settings.alert_routing_file() == (local if local.is_file() else EXAMPLE)
    monkeypatch.setenv("ALERT_ROUTING_FILE", str(tmp_path / "r.yaml"))
    assert settings.alert_routing_file() == tmp_path / "r.yaml"


def test_breaches_go_to_the_bureau_and_data_problems_to_the_engineers():
    routing = parse_routing({
        "data_engineers": {"email": ["de@example.org"]},
        "bureaus": {"hrss": {"email": ["a@example.org", "a@example.org"], "slack": ["slack_hrss"],
                             "webhook": ["https://hooks.example.org/x"]}},
    })
    hrss = routing.resolve("bureau", "hrss")
    assert hrss.label == "bureau:hrss" and hrss.fallback_for is None
    assert hrss.route.recipients() == [("email", "a@example.org"), ("slack", "slack_hrss"),
                                       ("webhook", "https://hooks.example.org/x")]
    assert routing.resolve("data_engineers", "hrss").route == Route(email=("de@example.org",))


def test_a_bureau_without_a_route_falls_back_to_the_engineers_visibly():
    routing = parse_routing({"data_engineers": {"email": ["de@example.org"]},
                             "bureaus": {"health": {"email": []}}})
    for bureau in ("culture", "health"):  # absent, or present with no recipient
        resolution = routing.resolve("bureau", bureau)
        assert resolution.route == routing.data_engineers
        assert resolution.fallback_for == bureau
        assert resolution.label == f"data_engineers (no route for bureau {bureau})"


@pytest.mark.parametrize(("raw", "error"), [
    ({"bureaus": {"no_such_bureau": {"email": ["x@example.org"]}}}, "unknown bureau id(s) ['no_such_bureau']"),
    ({"bureaus": {"hrss": {"sms": ["123"]}}}, "bureaus.hrss: unknown channel(s) ['sms']"),
    ({"bureaus": {"hrss": {"email": ["not-an-address"]}}}, "'not-an-address' is not an email address"),
    ({"bureaus": {"hrss": {"slack": ["https://hooks.slack.com/x"]}}}, "is not an Airflow connection id"),
    ({"bureaus": {"hrss": {"webhook": ["ftp://x"]}}}, "'ftp://x' is not an http(s) URL"),
    ({"data_engineer": {}}, "unknown top-level key(s) ['data_engineer']"),
    ({"defaults": {"digest": "yes"}}, "defaults.digest: expected true or false"),
    ({"defaults": {"late_feeds": {"due_day": 0}}}, "due_day: expected a day of the month 1..31"),
    ({"defaults": {"late_feeds": {"realert_days": True}}}, "realert_days: expected a whole number"),
    ({"defaults": {"late_feeds": {"first_period": "2012-1"}}}, "first_period: expected YYYY-MM"),
    ({"defaults": {"late_feeds": {"feeds": {"weather": {"due_day": 5}}}}}, "unknown feed(s) ['weather']"),
])
def test_mistakes_in_the_file_are_errors_that_name_the_entry(raw, error):
    with pytest.raises(RoutingError) as info:
        parse_routing(raw, "routing.yaml")
    assert error in str(info.value) and "routing.yaml" in str(info.value)


def test_an_unreadable_or_invalid_file_is_an_error(tmp_path):
    with pytest.raises(RoutingError, match="cannot read the alert routing file"):
        load_routing(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("bureaus: [unclosed", encoding="utf-8")
    with pytest.raises(RoutingError, match="not valid YAML"):
        load_routing(bad)


def test_late_feed_policy_per_feed_inherits_the_defaults():
    routing = parse_routing({"defaults": {"late_feeds": {
        "due_day": 12, "realert_days": 3, "first_period": "2012-03", "last_period": None,
        "feeds": {"vegetable_supply": {"due_day": 20}}}}})
    assert routing.late_feed_policy("social_security_enrollment") == LateFeedPolicy(12, 3, "2012-03", None)
    assert routing.late_feed_policy("vegetable_supply") == LateFeedPolicy(20, 3, "2012-03", None)
    assert set(FEED_NAMES) >= set(routing.late_feed_overrides)


@pytest.mark.parametrize(("period", "due_day", "due"), [
    ("2012-03", 10, date(2012, 4, 10)),
    ("2012-12", 10, date(2013, 1, 10)),  # into the next year
    ("2012-01", 31, date(2012, 2, 29)),  # a due day past a short month's end: its last day
])
def test_due_date_is_the_due_day_of_the_following_month(period, due_day, due):
    assert LateFeedPolicy(due_day=due_day).due_date(period) == due


def test_expected_periods_are_those_past_their_due_day_within_the_window():
    policy = LateFeedPolicy(due_day=10, first_period="2012-01", last_period="2012-12")
    assert policy.expected_periods(date(2012, 4, 10)) == ["2012-01", "2012-02"]  # March is due today, not late
    assert policy.expected_periods(date(2012, 4, 11)) == ["2012-01", "2012-02", "2012-03"]
    assert policy.expected_periods(date(2026, 1, 1))[-1] == "2012-12"
    assert policy.expected_periods(date(2011, 6, 1)) == []
    open_ended = LateFeedPolicy(first_period="2012-11", last_period=None)
    assert open_ended.expected_periods(date(2013, 3, 11)) == ["2012-11", "2012-12", "2013-01", "2013-02"]


def test_example_is_documented_in_docs():
    doc = (settings.PROJECT_ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    for word in ("ALERT_ROUTING_FILE", "data_engineers", "webhook_array", "realert_days", "due_day",
                 "ops.alert_log", "smtp_default", "slackwebhook"):
        assert word in doc, word
    assert Path(EXAMPLE).is_file()
