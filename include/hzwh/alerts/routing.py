"""Who receives which alert, from a YAML file checked into the repo (docs/alerts.md).

Breaches and resolved notices go to the target's responsible bureau (责任单位);
data-quality failures, quarantined files and late feeds go to the data
engineers. A bureau without a route falls back to the data engineers, and the
alert says so, so the gap in the routing file gets noticed and fixed.

The file is validated as a whole when it is read: an unknown bureau id, channel
or feed, or a malformed address, is an error that names the file and the entry,
never a silently dropped recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hzwh import settings

CHANNELS = ("email", "slack", "webhook")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONN_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DATA_ENGINEERS = "data_engineers"


class RoutingError(ValueError):
    """The routing file is not usable; the message names the file and the entry."""


@dataclass(frozen=True)
class Route:
    """Recipients on each channel: email addresses, Slack connection ids, webhook URLs."""

    email: tuple[str, ...] = ()
    slack: tuple[str, ...] = ()
    webhook: tuple[str, ...] = ()

    def recipients(self) -> list[tuple[str, str]]:
        return [(channel, r) for channel in CHANNELS for r in getattr(self, channel)]

    def __bool__(self) -> bool:
        return bool(self.email or self.slack or self.webhook)


@dataclass(frozen=True)
class LateFeedPolicy:
    """When a feed's monthly file is due, which months are expected, and how often to remind."""

    due_day: int = 10
    realert_days: int = 7
    first_period: str = "2012-01"
    last_period: str | None = "2012-12"

    def due_date(self, period: str) -> date:
        """The `due_day` of the month after `period` (the month's last day when it is shorter)."""
        year, month = int(period[:4]), int(period[5:7])
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return date(year, month, min(self.due_day, _days_in_month(year, month)))

    def expected_periods(self, as_of: date) -> list[str]:
        """Months from first_period to last_period whose due date is before `as_of`."""
        out = []
        year, month = int(self.first_period[:4]), int(self.first_period[5:7])
        while True:
            period = f"{year:04d}-{month:02d}"
            if self.last_period and period > self.last_period:
                break
            if self.due_date(period) >= as_of:
                break
            out.append(period)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (nxt - date(year, month, 1)).days


@dataclass(frozen=True)
class Resolution:
    """Where one alert goes, and why (stored with the alert in ops.alerts.route)."""

    route: Route
    label: str  # bureau:<id> | data_engineers | data_engineers (no route for bureau <id>)
    fallback_for: str | None = None


@dataclass(frozen=True)
class Routing:
    bureaus: dict[str, Route]
    data_engineers: Route
    digest: bool = True
    webhook_array: bool = False
    late_feeds: LateFeedPolicy = field(default_factory=LateFeedPolicy)
    late_feed_overrides: dict[str, LateFeedPolicy] = field(default_factory=dict)
    source: str = "<defaults>"

    def resolve(self, audience: str, bureau: str | None) -> Resolution:
        if audience == DATA_ENGINEERS:
            return Resolution(self.data_engineers, DATA_ENGINEERS)
        route = self.bureaus.get(bureau or "")
        if route:
            return Resolution(route, f"bureau:{bureau}")
        return Resolution(self.data_engineers, f"{DATA_ENGINEERS} (no route for bureau {bureau})", bureau)

    @property
    def source_name(self) -> str:
        """The routing file as people should look for it: relative to the project when inside it."""
        try:
            return str(Path(self.source).resolve().relative_to(settings.PROJECT_ROOT))
        except ValueError:
            return self.source

    def late_feed_policy(self, feed: str) -> LateFeedPolicy:
        return self.late_feed_overrides.get(feed, self.late_feeds)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RoutingError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(dict.fromkeys(v.strip() for v in value))


def parse_route(raw: Any, where: str) -> Route:
    if raw is None:
        return Route()
    if not isinstance(raw, dict):
        raise RoutingError(f"{where}: expected a mapping of channel to recipients, got {raw!r}")
    unknown = set(raw) - set(CHANNELS)
    if unknown:
        raise RoutingError(f"{where}: unknown channel(s) {sorted(unknown)}; channels are {', '.join(CHANNELS)}")
    route = Route(*(_strings(raw.get(c), f"{where}.{c}") for c in CHANNELS))
    for address in route.email:
        if not EMAIL.match(address):
            raise RoutingError(f"{where}.email: {address!r} is not an email address")
    for conn_id in route.slack:
        if not CONN_ID.match(conn_id):
            raise RoutingError(f"{where}.slack: {conn_id!r} is not an Airflow connection id")
    for url in route.webhook:
        if not url.startswith(("http://", "https://")):
            raise RoutingError(f"{where}.webhook: {url!r} is not an http(s) URL")
    return route


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _policy(raw: Any, base: LateFeedPolicy, where: str) -> LateFeedPolicy:
    if raw is None:
        return base
    if not isinstance(raw, dict):
        raise RoutingError(f"{where}: expected a mapping, got {raw!r}")
    unknown = set(raw) - {"due_day", "realert_days", "first_period", "last_period", "feeds"}
    if unknown:
        raise RoutingError(f"{where}: unknown key(s) {sorted(unknown)}")
    values = {
        "due_day": raw.get("due_day", base.due_day),
        "realert_days": raw.get("realert_days", base.realert_days),
        "first_period": str(raw.get("first_period", base.first_period)),
        "last_period": raw.get("last_period", base.last_period),
    }
    if not _whole(values["due_day"]) or not 1 <= values["due_day"] <= 31:
        raise RoutingError(f"{where}.due_day: expected a day of the month 1..31, got {values['due_day']!r}")
    if not _whole(values["realert_days"]) or values["realert_days"] < 1:
        raise RoutingError(
            f"{where}.realert_days: expected a whole number of days >= 1, got {values['realert_days']!r}"
        )
    for key in ("first_period", "last_period"):
        value = values[key]
        if value is not None and not PERIOD.match(str(value)):
            raise RoutingError(f"{where}.{key}: expected YYYY-MM (quoted in YAML), got {value!r}")
    if values["last_period"] is not None:
        values["last_period"] = str(values["last_period"])
    return LateFeedPolicy(**values)


def parse_routing(raw: Any, source: str = "<routing>", *, bureau_ids: frozenset[str] | None = None,
                  feeds: tuple[str, ...] | None = None) -> Routing:
    """Build a Routing from the YAML's data, checking bureau ids and feeds against the catalogue's."""
    if bureau_ids is None:
        bureau_ids = known_bureaus()
    if feeds is None:
        from hzwh.feeds.contracts import FEED_NAMES

        feeds = FEED_NAMES
    raw = raw or {}
    if not isinstance(raw, dict):
        raise RoutingError(f"{source}: expected a mapping at the top level")
    unknown = set(raw) - {"version", "defaults", DATA_ENGINEERS, "bureaus"}
    if unknown:
        raise RoutingError(f"{source}: unknown top-level key(s) {sorted(unknown)}; expected version, defaults, "
                           "data_engineers, bureaus")
    bureaus_raw = raw.get("bureaus") or {}
    if not isinstance(bureaus_raw, dict):
        raise RoutingError(f"{source}: bureaus: expected a mapping of bureau_id to a route")
    bad = sorted(set(bureaus_raw) - bureau_ids)
    if bad:
        raise RoutingError(f"{source}: bureaus: unknown bureau id(s) {bad}; ids are those of "
                           "dbt_project/seeds/bureaus.csv")
    bureaus = {b: parse_route(r, f"{source}: bureaus.{b}") for b, r in bureaus_raw.items()}
    data_engineers = parse_route(raw.get(DATA_ENGINEERS), f"{source}: {DATA_ENGINEERS}")

    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise RoutingError(f"{source}: defaults: expected a mapping")
    unknown = set(defaults) - {"digest", "webhook_array", "late_feeds"}
    if unknown:
        raise RoutingError(f"{source}: defaults: unknown key(s) {sorted(unknown)}")
    for key in ("digest", "webhook_array"):
        if key in defaults and not isinstance(defaults[key], bool):
            raise RoutingError(f"{source}: defaults.{key}: expected true or false, got {defaults[key]!r}")
    late_raw = defaults.get("late_feeds") or {}
    late = _policy(late_raw, LateFeedPolicy(), f"{source}: defaults.late_feeds")
    per_feed = late_raw.get("feeds") or {} if isinstance(late_raw, dict) else {}
    if not isinstance(per_feed, dict):
        raise RoutingError(f"{source}: defaults.late_feeds.feeds: expected a mapping of feed to settings")
    bad = sorted(set(per_feed) - set(feeds))
    if bad:
        raise RoutingError(f"{source}: defaults.late_feeds.feeds: unknown feed(s) {bad}; feeds are {', '.join(feeds)}")
    overrides = {}
    for feed, values in per_feed.items():
        if isinstance(values, dict) and "feeds" in values:
            raise RoutingError(f"{source}: defaults.late_feeds.feeds.{feed}: feeds cannot nest")
        overrides[feed] = _policy(values, late, f"{source}: defaults.late_feeds.feeds.{feed}")
    return Routing(
        bureaus=bureaus,
        data_engineers=data_engineers,
        digest=defaults.get("digest", True),
        webhook_array=defaults.get("webhook_array", False),
        late_feeds=late,
        late_feed_overrides=overrides,
        source=source,
    )


def known_bureaus() -> frozenset[str]:
    from hzwh.feeds.reference import _seed_rows

    return frozenset(r["bureau_id"] for r in _seed_rows("bureaus"))


def load_routing(path: Path | None = None) -> Routing:
    """Read and check the routing file (ALERT_ROUTING_FILE; see settings.alert_routing_file)."""
    import yaml

    path = path or settings.alert_routing_file()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutingError(f"cannot read the alert routing file {path}: {exc.strerror or exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RoutingError(f"{path}: not valid YAML: {exc}") from exc
    return parse_routing(raw, str(path))
