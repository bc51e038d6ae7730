"""The three channels of FEEDS.md §6, each configured through Airflow connections or the environment.

- email: the SMTP provider's SmtpHook on connection ALERT_SMTP_CONN_ID
  (`smtp_default`, e.g. AIRFLOW_CONN_SMTP_DEFAULT); the recipient is an address.
- slack: the Slack provider's SlackWebhookHook; the recipient is the id of an
  incoming-webhook connection (conn type `slackwebhook`), so no Slack secret
  is ever in the repo.
- webhook: a JSON POST (`webhook.post`); the recipient is the URL.

A channel that is not configured (no SMTP connection, an undefined Slack
connection) is not an error: its alerts are recorded and not sent, and the
alert's route note says why.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Callable, Sequence
from functools import cache

from hzwh import settings
from hzwh.alerts import digest, webhook
from hzwh.alerts.digest import Item
from hzwh.alerts.webhook import DeliveryError

log = logging.getLogger(__name__)

Sender = Callable[[str, Sequence[Item]], None]


def connection_defined(conn_id: str) -> bool:
    """Whether an Airflow connection resolves (an AIRFLOW_CONN_* variable, a secrets backend, the metadata DB)."""
    if os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"):
        return True
    return _connection_in_airflow(conn_id)


@cache
def _connection_in_airflow(conn_id: str) -> bool:
    try:
        from airflow.sdk import BaseHook

        BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not found, or no Airflow to ask: either way not configured
        return False
    return True


def unavailable(channel: str, recipient: str) -> str | None:
    """Why a (channel, recipient) cannot be sent to now, or None when it can."""
    if channel == "email":
        conn_id = settings.alert_smtp_conn_id()
        if not connection_defined(conn_id):
            return (f"email not sent: no SMTP connection {conn_id!r} "
                    f"(set AIRFLOW_CONN_{conn_id.upper()}, e.g. smtp://host:25)")
    elif channel == "slack":
        if not connection_defined(recipient):
            return f"slack not sent: no Airflow connection {recipient!r} (an incoming-webhook connection)"
    elif channel != "webhook":
        return f"unknown channel {channel!r}"
    return None


def send_email(recipient: str, items: Sequence[Item]) -> None:
    """One email to one address (so a refused address never blocks the others)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    try:
        with SmtpHook(smtp_conn_id=settings.alert_smtp_conn_id()) as hook:
            hook.send_email_smtp(
                to=[recipient],
                subject=digest.subject(items),
                html_content=digest.email_html(items),
                from_email=hook.from_email or settings.alert_email_from(),
                custom_headers={"X-HZWH-Alert-Keys": ",".join(it.alert_key for it in items)[:900]},
            )
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise DeliveryError(f"SMTP refused {recipient}: {code} {_decode(text)}", transient=code < 500) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.smtp_code} {_decode(exc.smtp_error)}", transient=exc.smtp_code < 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the hook raises AirflowException for configuration problems
        raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}", transient=False) from exc


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def send_slack(conn_id: str, items: Sequence[Item]) -> None:
    """One message to one Slack incoming webhook (the connection holds its URL)."""
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    try:
        hook = SlackWebhookHook(slack_webhook_conn_id=conn_id, timeout=int(settings.alert_webhook_timeout()))
        response = hook.client.send(text=digest.slack_text(items))
    except OSError as exc:
        raise DeliveryError(f"Slack {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - connection lookup or client errors from the provider
        raise DeliveryError(f"Slack {type(exc).__name__}: {exc}", transient=False) from exc
    if response.status_code != 200:
        transient = response.status_code >= 500 or response.status_code == 429
        raise DeliveryError(f"Slack HTTP {response.status_code}: {str(response.body)[:200]}", transient=transient)


def send_webhook(url: str, items: Sequence[Item]) -> None:
    webhook.post(url, digest.webhook_body(items))


SENDERS: dict[str, Sender] = {"email": send_email, "slack": send_slack, "webhook": send_webhook}
