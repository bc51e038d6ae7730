"""Bilingual (zh / en) labels and value formatting shared by the reports."""

from __future__ import annotations

import math

import pandas as pd

CITY_CODE = "330100"
MAIN_URBAN = "main_urban"

STATUS_ORDER = ("breached", "no_data", "in_progress", "met")  # worst first
STATUS_LABELS = {
    "met": "达标 Met",
    "breached": "未达标 Breached",
    "in_progress": "推进中 In progress",
    "no_data": "缺数据 No data",
}
STATUS_COLOURS = {
    "met": "#2a9d8f",
    "breached": "#d62828",
    "in_progress": "#f4a261",
    "no_data": "#9aa5b1",
}
PACE_LABELS = {
    "achieved": "已完成 achieved",
    "on_track": "进度正常 on track",
    "at_risk": "有风险 at risk",
    "off_track": "滞后 off track",
}


def worst_status(statuses) -> str:
    """The status a group of rows shows: breached, then no data, then in progress, then met."""
    present = set(statuses)
    for status in STATUS_ORDER:
        if status in present:
            return status
    return "no_data"


def is_rate(unit: str | None) -> bool:
    return unit == "ratio"


def fmt_value(value, unit: str | None) -> str:
    """A figure as people read it: rates as percentages, counts with separators, multiples with ×."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "–"
    value = float(value)
    if is_rate(unit):
        return f"{value:.1%}"
    if unit and unit.startswith("multiple"):
        return f"{value:.2f}×"
    if abs(value) >= 1e8:
        return f"{value / 1e8:,.2f} 亿"
    if abs(value) >= 1e5 and unit and unit.startswith("yuan"):
        return f"{value / 1e4:,.1f} 万"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}"


def unit_label(unit: str | None) -> str:
    if not unit or is_rate(unit):
        return ""
    return unit.replace("_", " ")


def tick_format(unit: str | None) -> str:
    return ".1~%" if is_rate(unit) else ",~s" if unit and unit.startswith("yuan") else ","


class GeoNames:
    """Chinese and English names of the codes the marts use, as the borders stood at a reference date."""

    def __init__(self, districts: pd.DataFrame, as_of) -> None:
        self._names: dict[str, tuple[str, str]] = {
            CITY_CODE: ("全市", "City"),
            MAIN_URBAN: ("主城区", "Main urban area"),
        }
        valid: dict[str, tuple[str, str]] = {}
        fallback: dict[str, tuple[str, str]] = {}
        for row in districts.itertuples(index=False):
            fallback.setdefault(row.district_code, (row.name_zh, row.name_en))
            if as_of is not None and row.valid_from <= as_of <= row.valid_to:
                valid[row.district_code] = (row.name_zh, row.name_en)
        self._names.update({**fallback, **valid})

    def zh_en(self, code: str) -> tuple[str, str]:
        if code in self._names:
            return self._names[code]
        if len(code) == 9 and code[:6] in self._names:  # a township: its district's name
            zh, en = self._names[code[:6]]
            return f"{zh}·乡镇{code[6:]}", f"{en} township {code[6:]}"
        return code, code

    def label(self, code: str, *, sep: str = " ") -> str:
        zh, en = self.zh_en(code)
        return f"{zh}{sep}{en}"
