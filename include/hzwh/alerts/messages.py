"""Alert payloads and their bilingual messages (FEEDS.md §6).

A message carries the value, the target, the comparator, the gap, the month,
the place and the bureau, in Chinese and English, and says where to look.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hzwh import settings

GEO_NAMES = {"330100": ("全市", "Hangzhou (whole city)"), "main_urban": ("主城区", "main urban area")}
KIND_ZH = {"breach": "未达标", "resolved": "已恢复达标", "data_quality": "数据质量问题", "late_feed": "数据逾期"}
KIND_EN = {"breach": "breach", "resolved": "resolved", "data_quality": "data quality", "late_feed": "late feed"}


@dataclass
class Alert:
    """One alert, keyed so that re-runs never raise it twice."""

    kind: str
    audience: str  # bureau | data_engineers
    message: str
    payload: dict[str, Any]
    target_id: str | None = None
    geo_code: str | None = None
    month: date | None = None
    vaccine: str | None = None
    actual_value: float | None = None
    target_value: float | None = None
    comparator: str | None = None
    responsible_bureau: str | None = None
    load_id: int | None = None
    feed: str | None = None
    checked_on: date | None = None
    key_parts: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return "|".join((self.kind, *self.key_parts))


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def format_gap(gap: float, unit: str) -> tuple[str, str]:
    if unit == "ratio":
        pp = gap * 100
        return f"{pp:+.2f} 个百分点", f"{pp:+.2f} pp"
    text = format_value(abs(gap), unit)
    sign = "+" if gap >= 0 else "-"
    return f"{sign}{text}", f"{sign}{text}"


def geo_names(geo_code: str, district_names: dict[str, tuple[str, str]]) -> tuple[str, str]:
    if geo_code in GEO_NAMES:
        return GEO_NAMES[geo_code]
    if geo_code in district_names:
        zh, en = district_names[geo_code]
        return zh, f"{en} ({geo_code})"
    if len(geo_code) == 9 and geo_code[:6] in district_names:
        zh, en = district_names[geo_code[:6]]
        return f"{zh}乡镇（街道）{geo_code}", f"township {geo_code} of {en}"
    return geo_code, geo_code


def attainment_alert(
    kind: str,
    row: dict[str, Any],
    target: dict[str, Any],
    district_names: dict[str, tuple[str, str]],
) -> Alert:
    """A breach or resolved alert for one target x geo x month (x vaccine)."""
    month: date = row["month"]
    ym = month.strftime("%Y-%m")
    unit = target["unit"]
    actual = None if row["actual_value"] is None else float(row["actual_value"])
    target_value = float(target["target_value"])
    comparator = target["comparator"]
    gap = None if actual is None else actual - target_value
    gap_zh, gap_en = format_gap(gap, unit) if gap is not None else ("—", "—")
    place_zh, place_en = geo_names(row["geo_code"], district_names)
    vaccine = row.get("vaccine")
    vaccine_zh = f"（{vaccine}疫苗）" if vaccine else ""
    vaccine_en = f" ({vaccine} vaccine)" if vaccine else ""
    where = (
        f"{settings.dashboard_hint()} where target_id = '{target['target_id']}' and geo_code = '{row['geo_code']}'"
        f" and month = '{month.isoformat()}'" + (f" and vaccine = '{vaccine}'" if vaccine else "")
    )
    if kind == "breach":
        head_zh = f"【未达标】{target['metric_zh']}{vaccine_zh}，{place_zh}，{ym}"
        head_en = f"[BREACH] {target['metric_en']}{vaccine_en}, {place_en}, {ym}"
    else:
        head_zh = f"【已恢复达标】{target['metric_zh']}{vaccine_zh}，{place_zh}，{ym}（经修订数据）"
        head_en = f"[RESOLVED] {target['metric_en']}{vaccine_en}, {place_en}, {ym} (after a revision)"
    message = (
        f"{head_zh}：实际 {format_value(actual, unit)}，目标 {comparator} {format_value(target_value, unit)}，"
        f"差距 {gap_zh}。责任单位：{target['responsible_bureau_zh']}。查看：{where}\n"
        f"{head_en}: actual {format_value(actual, unit)}, target {comparator} {format_value(target_value, unit)}, "
        f"gap {gap_en}. Responsible: {target['responsible_bureau_en']}. See: {where}"
    )
    payload = {
        "kind": kind,
        "target_id": target["target_id"],
        "geo_code": row["geo_code"],
        "month": ym,
        "actual_value": actual,
        "target_value": target_value,
        "comparator": comparator,
        "gap": gap,
        "unit": unit,
        "responsible_bureau": target["responsible_bureau_zh"],
        "responsible_bureau_id": target["responsible_bureau"],
        "metric_zh": target["metric_zh"],
        "metric_en": target["metric_en"],
        "message": message,
        "see": where,
    }
    if vaccine:
        payload["vaccine"] = vaccine
    return Alert(
        kind=kind,
        audience="bureau",
        message=message,
        payload=payload,
        target_id=target["target_id"],
        geo_code=row["geo_code"],
        month=month,
        vaccine=vaccine,
        actual_value=actual,
        target_value=target_value,
        comparator=comparator,
        responsible_bureau=target["responsible_bureau"],
        key_parts=(target["target_id"], row["geo_code"], ym, vaccine or ""),
    )


def data_quality_alert(load: dict[str, Any], samples: list[str], owner: tuple[str, str, str]) -> Alert:
    """A file with quarantined rows, or rejected whole: for the data engineers."""
    owner_id, owner_zh, owner_en = owner
    period = load.get("file_period")
    where = f"ops.quarantine where load_id = {load['load_id']}"
    if load["status"] == "rejected":
        zh = f"【数据质量】{load['feed']} 文件 {load['file_name']} 被整体隔离：{load['reason']}"
        en = f"[DATA QUALITY] {load['feed']} file {load['file_name']} was quarantined whole: {load['reason']}"
    else:
        shown = "; ".join(samples[:3]) + (" …" if len(samples) > 3 else "")
        zh = (
            f"【数据质量】{load['feed']} 文件 {load['file_name']}：{load['rows_delivered']} 行中 "
            f"{load['rows_quarantined']} 行被隔离，{load['rows_loaded']} 行已入库。例如：{shown}"
        )
        en = (
            f"[DATA QUALITY] {load['feed']} file {load['file_name']}: {load['rows_quarantined']} of "
            f"{load['rows_delivered']} rows quarantined, {load['rows_loaded']} loaded. E.g. {shown}"
        )
    message = f"{zh}。查看：{where}\n{en}. See: {where}"
    payload = {
        "kind": "data_quality",
        "target_id": None,
        "geo_code": None,
        "month": period,
        "actual_value": None,
        "target_value": None,
        "comparator": None,
        "responsible_bureau": owner_zh,
        "responsible_bureau_id": owner_id,
        "feed": load["feed"],
        "file_name": load["file_name"],
        "load_id": load["load_id"],
        "rows_delivered": load["rows_delivered"],
        "rows_loaded": load["rows_loaded"],
        "rows_quarantined": load["rows_quarantined"],
        "reasons": samples[:20] if samples else [load.get("reason")],
        "message": message,
        "see": where,
    }
    return Alert(
        kind="data_quality",
        audience="data_engineers",
        message=message,
        payload=payload,
        responsible_bureau=owner_id,
        load_id=load["load_id"],
        feed=load["feed"],
        key_parts=("load", str(load["load_id"])),
    )


def late_feed_alert(
    feed: str,
    period: str,
    due: date,
    as_of: date,
    reminder: int,
    owner: tuple[str, str, str],
    landing: str,
) -> Alert:
    """A monthly file not loaded by its due date: for the data engineers, once per reminder number.

    The key carries the reminder number (late_feed|<feed>|<YYYY-MM>|<n>), so a reminder
    after the re-alert interval is a new alert and a re-run of the same check is not.
    """
    owner_id, owner_zh, owner_en = owner
    days = (as_of - due).days
    where = f"ops.file_loads where feed = '{feed}' and file_period = '{period}'"
    nth_zh = f"，第 {reminder} 次提醒" if reminder > 1 else ""
    nth_en = f", reminder {reminder}" if reminder > 1 else ""
    message = (
        f"【数据逾期】{owner_zh} 的 {feed} {period} 月数据应于 {due.isoformat()} 前报送，"
        f"截至 {as_of.isoformat()} 仍未入库（逾期 {days} 天{nth_zh}）。请联系报送单位，文件放入 {landing}/{feed}/。"
        f"查看：{where}\n"
        f"[LATE FEED] {feed} from {owner_en} for {period} was due by {due.isoformat()} and is still not loaded "
        f"on {as_of.isoformat()} ({days} day{'s' if days != 1 else ''} late{nth_en}). Ask the bureau to deliver "
        f"it into {landing}/{feed}/. See: {where}"
    )
    payload = {
        "kind": "late_feed",
        "target_id": None,
        "geo_code": None,
        "month": period,
        "actual_value": None,
        "target_value": None,
        "comparator": None,
        "responsible_bureau": owner_zh,
        "responsible_bureau_id": owner_id,
        "feed": feed,
        "due_date": due.isoformat(),
        "checked_on": as_of.isoformat(),
        "days_late": days,
        "reminder": reminder,
        "message": message,
        "see": where,
    }
    return Alert(
        kind="late_feed",
        audience="data_engineers",
        message=message,
        payload=payload,
        month=date(int(period[:4]), int(period[5:7]), 1),
        responsible_bureau=owner_id,
        feed=feed,
        checked_on=as_of,
        key_parts=(feed, period, str(reminder)),
    )


def fallback_note(bureau_id: str, bureau_zh: str, bureau_en: str, routing_file: str) -> str:
    """Appended to an alert whose bureau has no route, so the gap is visible to whoever receives it."""
    return (
        f"\n【路由】责任单位 {bureau_zh}（{bureau_id}）在告警路由中没有接收人，本提醒转给数据工程师；"
        f"请在 {routing_file} 中为其配置。"
        f"\n[ROUTING] {bureau_en} ({bureau_id}) has no route in the alert routing, so this went to the data "
        f"engineers; add it to {routing_file}."
    )
