"""Deliver pending alerts on their channels: digests, retries with backoff, every attempt recorded.

Pending deliveries are grouped by (channel, recipient): with `digest` on, each
recipient gets one email / one Slack message listing all its alerts; the
webhook gets one JSON object per alert (or, with `webhook_array`, one array).

A channel that is down never stops the others: each message is its own unit
of work. A failed unit is retried within the task (ALERT_DELIVERY_TRIES, with
pauses doubling from ALERT_RETRY_PAUSE_SECONDS) when the error is transient,
then waits base x 2^(attempts-1) seconds (capped) for a later run. Every
attempt is written to ops.alert_delivery_attempts; ops.alert_deliveries keeps
the state (pending / sent / failed, attempts, sent_at or last_error). Rows are
locked while they are being sent (`for update skip locked`), so two tasks
delivering at once never send the same alert twice, and a delivery marked sent
is never selected again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import psycopg

from hzwh import settings
from hzwh.alerts import channels
from hzwh.alerts.digest import Item
from hzwh.alerts.webhook import DeliveryError

log = logging.getLogger(__name__)

# Unsent deliveries, with whether each is due now (never tried, or its backoff has passed).
PENDING = """
select
    d.delivery_id,
    d.channel,
    d.recipient,
    a.alert_key,
    a.kind,
    a.payload,
    coalesce(d.next_attempt_at <= clock_timestamp(), true) as due
from ops.alert_deliveries as d
inner join ops.alerts as a on d.alert_id = a.alert_id
where d.status <> 'sent'
order by d.channel, d.recipient, d.alert_id, d.delivery_id
"""

MARK_SENT = """
with sent as (
    update ops.alert_deliveries
    set status = 'sent', attempts = attempts + 1, last_error = null, next_attempt_at = null,
        last_attempt_at = clock_timestamp(), sent_at = clock_timestamp()
    where delivery_id = any(%s)
    returning delivery_id, attempts
)
insert into ops.alert_delivery_attempts (delivery_id, attempt, ok, error)
select delivery_id, attempts, true, null from sent
"""

# `attempts` on the right-hand side is the value before this attempt: the wait is base x 2^(n-1).
MARK_FAILED = """
with failed as (
    update ops.alert_deliveries
    set status = 'failed', attempts = attempts + 1, last_error = %(error)s, last_attempt_at = clock_timestamp(),
        next_attempt_at = clock_timestamp()
            + make_interval(secs => least(%(base)s * power(2, attempts), %(cap)s))
    where delivery_id = any(%(ids)s)
    returning delivery_id, attempts
)
insert into ops.alert_delivery_attempts (delivery_id, attempt, ok, error)
select delivery_id, attempts, false, %(error)s from failed
"""


@dataclass
class DeliveryReport:
    sent: int = 0  # deliveries (alert x recipient) now sent
    failed: int = 0  # deliveries still unsent after this run's tries (they stay pending for a later run)
    messages: int = 0  # messages that went out (a digest counts once)


@dataclass(frozen=True)
class Pending:
    delivery_id: int
    channel: str
    recipient: str
    item: Item
    due: bool = True


def backoff_seconds(attempts: int, base: float | None = None, cap: float | None = None) -> float:
    """How long a delivery that has failed `attempts` times waits before a later run tries it again."""
    base = settings.alert_retry_base_seconds() if base is None else base
    cap = settings.alert_retry_max_seconds() if cap is None else cap
    return min(base * 2 ** max(attempts - 1, 0), cap)


def plan_units(pending: Sequence[Pending], *, digest: bool = True, webhook_array: bool = False) -> list[list[Pending]]:
    """The messages to send: per (channel, recipient), one digest or one message per alert.

    A digest goes out when any of its alerts is due, and then carries all of that
    recipient's unsent alerts (one message, not one now and one after the backoff);
    a single-alert message goes out only when its own delivery is due.
    """
    groups: dict[tuple[str, str], list[Pending]] = {}
    for p in pending:
        groups.setdefault((p.channel, p.recipient), []).append(p)
    units: list[list[Pending]] = []
    for (channel, _), group in groups.items():
        batch = webhook_array if channel == "webhook" else digest
        if batch:
            if any(p.due for p in group):
                units.append(group)
        else:
            units.extend([p] for p in group if p.due)
    return sorted(units, key=lambda u: min(p.delivery_id for p in u))


def _pending(conn: psycopg.Connection) -> list[Pending]:
    return [
        Pending(delivery_id, channel, recipient, Item(key, kind, payload), due)
        for delivery_id, channel, recipient, key, kind, payload, due in conn.execute(PENDING).fetchall()
    ]


def _flags() -> tuple[bool, bool]:
    from hzwh.alerts.routing import RoutingError, load_routing

    try:
        routing = load_routing()
    except RoutingError as exc:
        # Delivering what was recorded matters more than the digest setting: use the defaults.
        log.error("alert routing unusable (%s); delivering with digest on, webhook one object per POST", exc)
        return True, False
    return routing.digest, routing.webhook_array


def deliver_pending(
    conn: psycopg.Connection,
    *,
    digest: bool | None = None,
    webhook_array: bool | None = None,
    senders: Mapping[str, channels.Sender] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send every due delivery. `conn` must be in autocommit mode: each message is its own transaction."""
    if not conn.autocommit:
        raise ValueError("deliver_pending needs an autocommit connection (db.connect(autocommit=True))")
    if digest is None or webhook_array is None:
        flags = _flags()
        digest = flags[0] if digest is None else digest
        webhook_array = flags[1] if webhook_array is None else webhook_array
    senders = channels.SENDERS if senders is None else senders
    report = DeliveryReport()
    for unit in plan_units(_pending(conn), digest=digest, webhook_array=webhook_array):
        _send_unit(conn, unit, senders, report, sleep)
    return report


def _send_unit(
    conn: psycopg.Connection,
    unit: list[Pending],
    senders: Mapping[str, channels.Sender],
    report: DeliveryReport,
    sleep: Callable[[float], None],
) -> None:
    channel, recipient = unit[0].channel, unit[0].recipient
    sender = senders.get(channel)
    tries = settings.alert_delivery_tries()
    ids = [p.delivery_id for p in unit]
    for attempt in range(tries):
        error: DeliveryError | None = None
        with conn.transaction():
            locked = {
                row[0]
                for row in conn.execute(
                    "select delivery_id from ops.alert_deliveries where delivery_id = any(%s) and status <> 'sent'"
                    " for update skip locked",
                    (ids,),
                ).fetchall()
            }
            todo = [p for p in unit if p.delivery_id in locked]
            if not todo:
                return  # sent meanwhile, or being sent by another task right now
            try:
                if sender is None:
                    raise DeliveryError(f"no sender for channel {channel!r}", transient=False)
                sender(recipient, [p.item for p in todo])
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - one broken channel must not stop the others
                error = DeliveryError(f"{type(exc).__name__}: {exc}", transient=False)
            todo_ids = [p.delivery_id for p in todo]
            if error is None:
                conn.execute(MARK_SENT, (todo_ids,))
            else:
                conn.execute(MARK_FAILED, {
                    "ids": todo_ids, "error": str(error)[:2000],
                    "base": settings.alert_retry_base_seconds(), "cap": settings.alert_retry_max_seconds(),
                })
        if error is None:
            report.sent += len(todo)
            report.messages += 1
            log.info("sent %d alert(s) on %s to %s", len(todo), channel, _shown(channel, recipient))
            return
        log.warning("%s to %s failed (try %d of %d): %s", channel, _shown(channel, recipient), attempt + 1, tries,
                    error)
        if not error.transient or attempt == tries - 1:
            report.failed += len(todo)
            return
        sleep(settings.alert_retry_pause_seconds() * 2 ** attempt)


def _shown(channel: str, recipient: str) -> str:
    """Webhook URLs may carry tokens: log the host only."""
    if channel == "webhook":
        from urllib.parse import urlsplit

        return urlsplit(recipient).netloc or "webhook"
    return recipient
