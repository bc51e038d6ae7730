"""Deliver pending alerts on their channels, recording every attempt.

A channel that fails keeps its rows pending with the error and the attempt
count; the next run (or the task's retry) sends them. A delivery marked sent is
never sent again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from hzwh.alerts import webhook

log = logging.getLogger(__name__)

SENDERS = {"webhook": webhook.post}


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def deliver_pending(conn: psycopg.Connection) -> DeliveryReport:
    report = DeliveryReport()
    pending = conn.execute(
        "select d.delivery_id, d.channel, d.recipient, a.payload"
        " from ops.alert_deliveries as d inner join ops.alerts as a using (alert_id)"
        " where d.status <> 'sent' order by d.alert_id, d.delivery_id"
    ).fetchall()
    for delivery_id, channel, recipient, payload in pending:
        sender = SENDERS.get(channel)
        try:
            if sender is None:
                raise webhook.DeliveryError(f"no sender for channel {channel!r}")
            sender(recipient, payload)
        except webhook.DeliveryError as exc:
            report.failed += 1
            log.warning("delivery %s on %s failed: %s", delivery_id, channel, exc)
            conn.execute(
                "update ops.alert_deliveries set status = 'failed', attempts = attempts + 1,"
                " last_error = %s, last_attempt_at = clock_timestamp() where delivery_id = %s",
                (str(exc), delivery_id),
            )
        else:
            report.sent += 1
            conn.execute(
                "update ops.alert_deliveries set status = 'sent', attempts = attempts + 1, last_error = null,"
                " last_attempt_at = clock_timestamp(), sent_at = clock_timestamp() where delivery_id = %s",
                (delivery_id,),
            )
        conn.commit()
    return report
