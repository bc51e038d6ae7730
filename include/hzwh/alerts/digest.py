"""One message per recipient per channel per run: the digest of every alert waiting for them.

Many breaches from one run reach a bureau as one email and one Slack message
that list them all, each with its full bilingual text (actual vs target, the
comparator, the gap, the month, the place, the bureau, where to look), rather
than as a flood of separate messages.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hzwh.alerts.messages import KIND_EN, KIND_ZH

# English count labels, singular and plural.
KIND_COUNT_EN = {
    "breach": ("breach", "breaches"),
    "resolved": ("resolved notice", "resolved notices"),
    "data_quality": ("data-quality issue", "data-quality issues"),
    "late_feed": ("late feed", "late feeds"),
}
KIND_ORDER = ("breach", "resolved", "late_feed", "data_quality")
# Slack's documented limit for a message's text is 40,000 characters; keep well under it.
SLACK_MAX_CHARS = 35_000


@dataclass(frozen=True)
class Item:
    """One alert as a channel sends it."""

    alert_key: str
    kind: str
    payload: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.payload.get("message", ""))


def _ordered(items: Sequence[Item]) -> list[Item]:
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    return sorted(items, key=lambda it: (rank.get(it.kind, len(rank)), str(it.payload.get("month") or ""),
                                         it.alert_key))


def counts(items: Sequence[Item]) -> tuple[str, str]:
    """'2 条未达标，1 条已恢复达标' and '2 breaches, 1 resolved notice' (kinds in a fixed order)."""
    by_kind = Counter(it.kind for it in items)
    kinds = [k for k in KIND_ORDER if by_kind[k]] + sorted(k for k in by_kind if k not in KIND_ORDER)
    zh = "，".join(f"{by_kind[k]} 条{KIND_ZH.get(k, k)}" for k in kinds)
    en = ", ".join(f"{by_kind[k]} {KIND_COUNT_EN.get(k, (k, k))[by_kind[k] != 1]}" for k in kinds)
    return zh, en


def _bureaus(items: Sequence[Item]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(it.payload.get("responsible_bureau") or "") for it in items if
                               it.kind in ("breach", "resolved")))


def subject(items: Sequence[Item]) -> str:
    zh, en = counts(items)
    bureaus = "、".join(b for b in _bureaus(items) if b)
    who = f"{bureaus}：" if bureaus else ""
    months = sorted({str(it.payload.get("month")) for it in items if it.payload.get("month")})
    span = "" if not months else f" ({months[0]}{'…' + months[-1] if len(months) > 1 else ''})"
    return f"【杭州基本公共服务监测】{who}{zh} | [Hangzhou plan monitor] {en}{span}"


def text(items: Sequence[Item], *, limit: int | None = None) -> str:
    """Plain text: a bilingual header, then every alert's bilingual message, numbered."""
    ordered = _ordered(items)
    zh, en = counts(ordered)
    lines = [f"杭州市基本公共服务均等化监测：{zh}。", f"Hangzhou public-service plan monitor: {en}.", ""]
    used = sum(len(line) + 1 for line in lines)
    for n, item in enumerate(ordered, 1):
        entry = f"{n}. {item.message}\n"
        if limit is not None and used + len(entry) > limit:
            rest = len(ordered) - n + 1
            lines.append(f"……另有 {rest} 条，见 ops.alert_log。 / … and {rest} more: see ops.alert_log.")
            break
        lines.append(entry)
        used += len(entry) + 1
    return "\n".join(lines).rstrip() + "\n"


def email_html(items: Sequence[Item]) -> str:
    """The digest as HTML (the SMTP provider sends HTML): one block per alert, Chinese above English."""
    ordered = _ordered(items)
    zh, en = counts(ordered)
    blocks = []
    for item in ordered:
        paragraphs = "".join(f"<p style=\"margin:0 0 4px 0\">{html.escape(line)}</p>"
                             for line in item.message.splitlines() if line.strip())
        blocks.append(
            f"<li style=\"margin-bottom:12px\"><div><b>{html.escape(KIND_ZH.get(item.kind, item.kind))} / "
            f"{html.escape(KIND_EN.get(item.kind, item.kind))}</b> <code>{html.escape(item.alert_key)}</code></div>"
            f"{paragraphs}</li>"
        )
    return (
        "<html><body>"
        f"<p>杭州市基本公共服务均等化监测：{html.escape(zh)}。<br>"
        f"Hangzhou public-service plan monitor: {html.escape(en)}.</p>"
        f"<ol>{''.join(blocks)}</ol>"
        "<p style=\"color:#666\">每条提醒只发送一次；完整记录见数据仓库 ops.alert_log。<br>"
        "Each alert is sent once; the full record is in the warehouse view ops.alert_log.</p>"
        "</body></html>"
    )


def slack_text(items: Sequence[Item]) -> str:
    return text(items, limit=SLACK_MAX_CHARS)


def webhook_body(items: Sequence[Item]) -> dict[str, Any] | list[dict[str, Any]]:
    """FEEDS.md §6: one alert as a JSON object, several as a JSON array of them."""
    payloads = [dict(it.payload) for it in items]
    return payloads[0] if len(payloads) == 1 else payloads
