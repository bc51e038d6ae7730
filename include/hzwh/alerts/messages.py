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
        key_parts=("load", str(load["load_id"])),
    )
