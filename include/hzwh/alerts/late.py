"""Late feeds: a month's file not loaded by its due day alerts the data engineers, once per reminder.

Each feed's file for month M is due on `due_day` of month M+1 (default the 10th;
per feed in the routing file). The check runs for a day `as_of`, the DAG run's
logical date in the plan's time zone (never the wall clock), so a backfilled
run asks "which months were due by then". Whether a month is still missing is
judged on the warehouse as it is when the check runs: an alert about a file
that has since been loaded would only be noise.

Keys: late_feed|<feed>|<YYYY-MM>|<n>. The first alert is n = 1; while the file
stays missing, another (n + 1) is raised once `realert_days` have passed since
the check that raised n. Re-running a check never repeats a key.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg

from hzwh import settings
from hzwh.alerts.messages import Alert, late_feed_alert
from hzwh.alerts.routing import Routing
from hzwh.feeds.contracts import FEED_NAMES, get_contract
from hzwh.feeds.reference import bureau_names


def as_of_date(logical_date: datetime) -> date:
    """The plan-calendar day (PLAN_TIMEZONE, Asia/Shanghai) of a DAG run's logical date."""
    return logical_date.astimezone(ZoneInfo(settings.plan_timezone())).date()


def loaded_periods(conn: psycopg.Connection) -> set[tuple[str, str]]:
    rows = conn.execute(
        "select distinct feed, file_period from ops.file_loads where status = 'loaded' and file_period is not null"
    ).fetchall()
    return {(feed, period) for feed, period in rows}


def previous_reminders(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[int, date]]:
    """(feed, period) -> (highest reminder number, the day of the check that raised it)."""
    out: dict[tuple[str, str], tuple[int, date]] = {}
    rows = conn.execute(
        "select feed, to_char(month, 'YYYY-MM'), alert_key, checked_on from ops.alerts where kind = 'late_feed'"
    ).fetchall()
    for feed, period, key, checked_on in rows:
        n = int(key.rsplit("|", 1)[1])
        if (feed, period) not in out or n > out[(feed, period)][0]:
            out[(feed, period)] = (n, checked_on)
    return out


def late_feed_alerts(
    as_of: date,
    routing: Routing,
    loaded: set[tuple[str, str]],
    previous: dict[tuple[str, str], tuple[int, date]],
    feeds: tuple[str, ...] = FEED_NAMES,
) -> list[Alert]:
    """The late-feed alerts a check on `as_of` raises (pure: the warehouse state is passed in)."""
    alerts = []
    landing = str(settings.landing_dir())
    for feed in feeds:
        policy = routing.late_feed_policy(feed)
        owner = get_contract(feed).owner
        for period in policy.expected_periods(as_of):
            if (feed, period) in loaded:
                continue
            if (feed, period) in previous:
                n, checked_on = previous[(feed, period)]
                if (as_of - checked_on).days < policy.realert_days:
                    continue
                reminder = n + 1
            else:
                reminder = 1
            alerts.append(late_feed_alert(feed, period, policy.due_date(period), as_of, reminder,
                                          (owner, *bureau_names(owner)), landing))
    return alerts


def check(conn: psycopg.Connection, as_of: date, routing: Routing) -> list[Alert]:
    return late_feed_alerts(as_of, routing, loaded_periods(conn), previous_reminders(conn))
