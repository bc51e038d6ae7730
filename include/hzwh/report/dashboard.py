"""The monitoring dashboard: one static, self-contained HTML page built from the marts.

`publish()` reads the warehouse (`hzwh.report.data.load`) and writes
`$DATA_DIR/reports/dashboard.html`: headline KPIs, the breaches with their
bureaus, actual vs target for the headline targets, district attainment
heatmaps with breaches outlined, vaccination by district x vaccine, the
equalisation spread, every target's status by month, and an explorer for any
target. plotly.js is embedded inline once (no CDN: the page opens offline,
from a file or a mail attachment); the figures are plain plotly JSON.

The page is rebuilt from scratch on every run and written atomically, so a
reader never sees half a file.
"""

from __future__ import annotations

import html
import json
import math
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots
from plotly.utils import PlotlyJSONEncoder

from hzwh.report.data import ReportData
from hzwh.report.labels import (
    PACE_LABELS,
    STATUS_COLOURS,
    STATUS_LABELS,
    STATUS_ORDER,
    GeoNames,
    fmt_value,
    tick_format,
    unit_label,
    worst_status,
)
from hzwh.report.paths import dashboard_path

# The targets whose ids FEEDS.md §4 fixes: the ones people ask about first.
HEADLINE_TARGETS = (
    "ss_resident_medical_enrollment_rate",
    "ss_resident_pension_enrollment_rate",
    "health_nip_vaccination_rate",
    "sup_main_urban_vegetable_self_sufficiency",
    "sup_main_urban_leafy_vegetable_self_sufficiency",
    "sup_livestock_poultry_self_sufficiency",
    "sup_aquatic_self_sufficiency",
    "emp_registered_unemployment_rate",
    "emp_urban_new_jobs",
)
VACCINATION = "health_nip_vaccination_rate"
FONT = ("system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', "
        "'WenQuanYi Micro Hei', sans-serif")
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}
# Attainment index (actual / target, inverted for <= targets) is coloured on 1 +/- SPREAD.
SPREAD = 0.10
ATTAINMENT_SCALE = [
    [0.0, "#b2182b"], [0.3, "#ef8a62"], [0.4999, "#fddbc7"],
    [0.5, "#e5f5e0"], [0.75, "#74c476"], [1.0, "#1b7837"],
]


# --------------------------------------------------------------------------- shaping the marts


def _short(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _vaccine_key(vaccine) -> str | None:
    return vaccine if isinstance(vaccine, str) and vaccine else None


def _ym(month) -> str:
    return f"{month:%Y-%m}"


class Model:
    """The marts, shaped for the page: per-target status by month, targets now, breach series, names."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.targets = data.targets.set_index("target_id", drop=False)
        self.bureaus = data.bureaus.set_index("bureau_id", drop=False)
        att = data.attainment.copy()
        self.months: list[date] = sorted(att["month"].unique()) if len(att) else []
        self.latest_month: date | None = self.months[-1] if self.months else None
        as_of = date(self.latest_month.year, self.latest_month.month, 28) if self.latest_month else None
        self.geo = GeoNames(data.districts, as_of)
        self.vaccine_names = {r.vaccine: (r.name_zh, r.name_en) for r in data.vaccines.itertuples(index=False)}
        self.attainment = att
        self.scope = att[att["is_scope_row"].astype(bool)] if len(att) else att
        self.by_month = self._by_month()
        self.now = self._targets_now()

    # -- labels

    def metric(self, target_id: str, *, sep: str = " · ") -> str:
        if target_id not in self.targets.index:
            return target_id
        row = self.targets.loc[target_id]
        return f"{row.metric_zh}{sep}{row.metric_en}"

    def unit(self, target_id: str) -> str | None:
        return self.targets.loc[target_id, "unit"] if target_id in self.targets.index else None

    def bureau(self, bureau_id: str | None) -> tuple[str, str]:
        if isinstance(bureau_id, str) and bureau_id in self.bureaus.index:
            row = self.bureaus.loc[bureau_id]
            return row.name_zh, row.name_en
        label = bureau_id if isinstance(bureau_id, str) and bureau_id else "–"
        return label, label

    def vaccine(self, code: str | None) -> str:
        if not isinstance(code, str) or not code:  # None, or NaN from a frame
            return ""
        zh, en = self.vaccine_names.get(code, (code, code))
        return f"{code} {zh}"

    # -- aggregates

    def _by_month(self) -> pd.DataFrame:
        """One row per target x month at the target's own scope: the worst status, the binding figure."""
        columns = ["target_id", "month", "status", "geos", "breached", "actual_value", "target_value",
                   "comparator", "expected_to_date", "worst_geo", "worst_vaccine", "pace_status"]
        if self.scope.empty:
            return pd.DataFrame(columns=columns)
        rows = []
        for (target_id, month), group in self.scope.groupby(["target_id", "month"], sort=True):
            comparator = group["comparator"].iloc[0]
            reported = group.dropna(subset=["actual_value"])
            worst = None
            if not reported.empty:
                if comparator == "<=":
                    worst = reported.loc[reported["actual_value"].idxmax()]
                elif comparator == ">=":
                    worst = reported.loc[reported["actual_value"].idxmin()]
                else:
                    gap = (reported["actual_value"] - reported["target_value"]).abs()
                    worst = reported.loc[gap.idxmax()]
            rows.append({
                "target_id": target_id,
                "month": month,
                "status": worst_status(group["status"]),
                "geos": len(group),
                "breached": int((group["status"] == "breached").sum()),
                "actual_value": None if worst is None else worst["actual_value"],
                "target_value": group["target_value"].iloc[0],
                "comparator": comparator,
                "expected_to_date": group["expected_to_date"].iloc[0],
                "worst_geo": None if worst is None else worst["geo_code"],
                "worst_vaccine": None if worst is None else worst["vaccine"],
                "pace_status": group["pace_status"].iloc[0],
            })
        return pd.DataFrame(rows, columns=columns)

    def _targets_now(self) -> pd.DataFrame:
        """Every catalogue target with its status in its latest month (no_data when it never reported)."""
        latest = (self.by_month.sort_values("month").groupby("target_id").tail(1).set_index("target_id")
                  if len(self.by_month) else pd.DataFrame())
        rows = []
        for target in self.data.targets.itertuples(index=False):
            if target.target_id in latest.index:
                row = latest.loc[target.target_id]
                rows.append({"target_id": target.target_id, "status": row["status"], "month": row["month"],
                             "breached": row["breached"], "geos": row["geos"],
                             "responsible_bureau": target.responsible_bureau, "section": target.section})
            else:
                rows.append({"target_id": target.target_id, "status": "no_data", "month": None, "breached": 0,
                             "geos": 0, "responsible_bureau": target.responsible_bureau,
                             "section": target.section})
        return pd.DataFrame(rows, columns=["target_id", "status", "month", "breached", "geos",
                                           "responsible_bureau", "section"])

    def kpis(self) -> dict[str, int]:
        counts = self.now["status"].value_counts()
        breached_rows = self.scope[self.scope["status"] == "breached"] if len(self.scope) else self.scope
        return {
            "targets": len(self.now),
            "met": int(counts.get("met", 0)),
            "breached": int(counts.get("breached", 0)),
            "in_progress": int(counts.get("in_progress", 0)),
            "no_data": int(counts.get("no_data", 0)),
            "never_reported": int(self.now["month"].isna().sum()),
            "breach_rows": len(breached_rows),
            "bureaus_breached": int(breached_rows["responsible_bureau"].nunique()) if len(breached_rows) else 0,
        }

    def breach_series(self) -> pd.DataFrame:
        """One row per target x geo (x vaccine) that breached at its scope: which months, still open or not.

        Every breached month is a breach alert (FEEDS.md §6) until a revision clears it; `open_now` says
        whether the series is still breached in its latest reported month.
        """
        columns = ["target_id", "geo_code", "vaccine", "months", "last_breached", "open_now", "latest_month",
                   "latest_actual", "target_value", "comparator", "latest_status", "responsible_bureau", "alerted_at"]
        scope = self.scope
        if scope.empty or not (scope["status"] == "breached").any():
            return pd.DataFrame(columns=columns)
        alerts = self.data.alerts
        alerted = {}
        for row in alerts.itertuples(index=False):
            alerted[(row.target_id, row.geo_code, row.month, _vaccine_key(row.vaccine))] = row.alerted_at
        key = ["target_id", "geo_code", "vaccine"]
        rows = []
        for (target_id, geo_code, vaccine), group in scope.fillna({"vaccine": ""}).groupby(key, sort=True):
            breached = group[group["status"] == "breached"]
            if breached.empty:
                continue
            last = group.sort_values("month").iloc[-1]
            times = [alerted.get((target_id, geo_code, m, _vaccine_key(vaccine))) for m in breached["month"]]
            times = [t for t in times if t is not None]
            rows.append({
                "target_id": target_id, "geo_code": geo_code, "vaccine": vaccine or None,
                "months": sorted(breached["month"]), "last_breached": max(breached["month"]),
                "open_now": last["status"] == "breached",
                "latest_month": last["month"], "latest_actual": last["actual_value"],
                "target_value": last["target_value"], "comparator": last["comparator"],
                "latest_status": last["status"], "responsible_bureau": last["responsible_bureau"],
                "alerted_at": min(times) if times else None,
            })
        frame = pd.DataFrame(rows, columns=columns)
        return frame.sort_values(["open_now", "last_breached", "responsible_bureau", "target_id", "geo_code"],
                                 ascending=[False, False, True, True, True]).reset_index(drop=True)

    def district_targets(self) -> list[str]:
        """Targets with district figures (vaccination aside): each-district targets first, then district views."""
        att = self.attainment
        if att.empty:
            return []
        district = att[(att["geo_level"] == "district") & (att["target_id"] != VACCINATION)]
        ids = sorted(district["target_id"].unique())
        scope_ids = set(district[district["is_scope_row"].astype(bool)]["target_id"])
        return sorted(ids, key=lambda t: (t not in scope_ids, t))


def attainment_index(actual: float | None, target: float | None, comparator: str, status: str) -> float | None:
    """actual / target, inverted for <= targets, so that above 1 is better; None without a figure."""
    if actual is None or target is None or pd.isna(actual) or pd.isna(target):
        return None
    if comparator == ">=" and target:
        index = actual / target
    elif comparator == "<=" and actual:
        index = target / actual
    else:
        index = 1 + SPREAD / 2 if status == "met" else 1 - SPREAD / 2
    if not math.isfinite(index):
        index = 1 + SPREAD if status == "met" else 1 - SPREAD
    return index


# --------------------------------------------------------------------------- figures


def _base_layout(fig: go.Figure, *, height: int, title: str | None = None, **extra) -> go.Figure:
    layout = {
        "template": "plotly_white", "height": height, "font": {"family": FONT, "size": 12, "color": "#243b53"},
        "margin": {"l": 60, "r": 20, "t": 60 if title else 30, "b": 40},
        "hoverlabel": {"font": {"family": FONT}},
    }
    if title:
        layout["title"] = {"text": title, "x": 0.01, "font": {"size": 14}}
    fig.update_layout(**{**layout, **extra})
    return fig


def headline_figure(model: Model) -> go.Figure:
    """Small multiples: actual vs target over the months for each headline target."""
    ids = [t for t in HEADLINE_TARGETS if t in model.targets.index]
    cols = 3
    rows = max(1, math.ceil(len(ids) / cols))
    many_geos = set(model.by_month.loc[model.by_month["geos"] > 1, "target_id"])
    titles = [f"<b>{model.targets.loc[t, 'metric_zh']}</b>{' (最低 lowest)' if t in many_geos else ''}"
              f"<br><span style='font-size:10px'>{_short(model.targets.loc[t, 'metric_en'], 62)}</span>"
              for t in ids]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.12, horizontal_spacing=0.07)
    shown: set[str] = set()
    for i, target_id in enumerate(ids):
        r, c = divmod(i, cols)
        series = model.by_month[model.by_month["target_id"] == target_id].sort_values("month")
        target = model.targets.loc[target_id]
        unit = target.unit
        x = [_ym(m) for m in (model.months or [])]
        fig.add_trace(go.Scatter(
            x=x, y=[target.target_value] * len(x), mode="lines", name="目标 Target",
            line={"color": "#334e68", "dash": "dash", "width": 1.5}, legendgroup="target",
            showlegend="target" not in shown,
            hovertemplate=f"目标 target {target.comparator} {fmt_value(target.target_value, unit)}<extra></extra>",
        ), row=r + 1, col=c + 1)
        shown.add("target")
        if target.measure_kind == "cumulative" and series["expected_to_date"].notna().any():
            fig.add_trace(go.Scatter(
                x=[_ym(m) for m in series["month"]], y=series["expected_to_date"], mode="lines",
                name="进度线 Linear pace", line={"color": "#829ab1", "dash": "dot", "width": 1.5},
                legendgroup="pace", showlegend="pace" not in shown, hoverinfo="skip",
            ), row=r + 1, col=c + 1)
            shown.add("pace")
        many = series["geos"].max() > 1 if len(series) else False
        hover = []
        for row in series.itertuples(index=False):
            where = ""
            if many and row.worst_geo:
                where = f"<br>最低 lowest: {model.geo.label(row.worst_geo)} {model.vaccine(row.worst_vaccine)}"
                where += f"<br>{row.breached}/{row.geos} 未达标 breached"
            pace = f"<br>{PACE_LABELS.get(row.pace_status, '')}" if isinstance(row.pace_status, str) else ""
            hover.append(f"{_ym(row.month)}: <b>{fmt_value(row.actual_value, unit)}</b> "
                         f"({STATUS_LABELS[row.status]}){where}{pace}")
        fig.add_trace(go.Scatter(
            x=[_ym(m) for m in series["month"]], y=series["actual_value"], mode="lines+markers",
            name="实际 Actual" + (" (最低区县 worst district)" if many else ""),
            line={"color": "#0b6e99", "width": 2.2}, legendgroup="actual", showlegend="actual" not in shown,
            marker={"size": 8, "color": [STATUS_COLOURS[s] for s in series["status"]],
                    "line": {"color": "white", "width": 1}},
            text=hover, hovertemplate="%{text}<extra></extra>",
        ), row=r + 1, col=c + 1)
        shown.add("actual")
        fig.update_yaxes(tickformat=tick_format(unit), row=r + 1, col=c + 1,
                         title_text=unit_label(unit) or None, title_font={"size": 10})
        fig.update_xaxes(type="category", tickangle=0, tickfont={"size": 9}, row=r + 1, col=c + 1,
                         tickvals=x[::3] if len(x) > 6 else None)
    for status in ("met", "breached", "in_progress"):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=STATUS_LABELS[status],
                                 marker={"size": 9, "color": STATUS_COLOURS[status]}, hoverinfo="skip"))
    fig.update_annotations(font_size=12)
    return _base_layout(fig, height=310 * rows + 60, legend={"orientation": "h", "y": -0.06, "x": 0},
                        margin={"l": 60, "r": 20, "t": 70, "b": 50})


def _outline_breaches(fig: go.Figure, cells: list[tuple[int, int]]) -> None:
    for xi, yi in cells:
        fig.add_shape(type="rect", x0=xi - 0.47, x1=xi + 0.47, y0=yi - 0.44, y1=yi + 0.44,
                      line={"color": "#7f0000", "width": 2.5}, fillcolor="rgba(0,0,0,0)", layer="above")


def district_heatmap(model: Model, target_id: str) -> go.Figure:
    """Districts x months, coloured by attainment, breaches outlined."""
    target = model.targets.loc[target_id]
    unit = target.unit
    rows = model.attainment[(model.attainment["target_id"] == target_id)
                            & (model.attainment["geo_level"] == "district")]
    months = sorted(rows["month"].unique())
    codes = sorted(rows["geo_code"].unique(), reverse=True)  # reversed: the first code on top
    x = [_ym(m) for m in months]
    y = [model.geo.label(c) for c in codes]
    lookup = {(r.geo_code, r.month): r for r in rows.itertuples(index=False)}
    z, text, hover, breaches = [], [], [], []
    for yi, code in enumerate(codes):
        zr, tr, hr = [], [], []
        for xi, month in enumerate(months):
            r = lookup.get((code, month))
            if r is None:
                zr.append(None)
                tr.append("")
                hr.append("")
                continue
            zr.append(attainment_index(r.actual_value, r.target_value, r.comparator, r.status))
            mark = "✕ " if r.status == "breached" else ""
            tr.append(mark + fmt_value(r.actual_value, unit))
            hr.append(f"{model.geo.label(code)}<br>{_ym(month)}: <b>{fmt_value(r.actual_value, unit)}</b>"
                      f"<br>目标 target {r.comparator} {fmt_value(r.target_value, unit)}"
                      f"<br>{STATUS_LABELS.get(r.status, r.status)}")
            if r.status == "breached":
                breaches.append((xi, yi))
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    is_scope = bool(rows["is_scope_row"].astype(bool).any())
    scope_note = ("各区县均须达标，未达标即告警 · every district must meet it; a breach alerts"
                  if is_scope else "全市目标的区县分布（不告警）· district view of a city target (does not alert)")
    fig = go.Figure(go.Heatmap(
        x=x, y=y, z=z, text=text, texttemplate="%{text}", textfont={"size": 10}, customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", zmin=1 - SPREAD, zmax=1 + SPREAD,
        colorscale=ATTAINMENT_SCALE, xgap=2, ygap=2,
        colorbar={"title": {"text": "达成度<br>attainment", "font": {"size": 10}}, "tickformat": ".0%",
                  "len": 0.9, "thickness": 12},
    ))
    _outline_breaches(fig, breaches)
    title = (f"<b>{target.metric_zh}</b> · {_short(target.metric_en, 80)}<br>"
             f"<span style='font-size:11px;color:#627d98'>"
             f"目标 target {target.comparator} {fmt_value(target.target_value, unit)} · {scope_note}</span>")
    if len(x) <= 3:  # a narrow figure: the English name on its own line
        title = (f"<b>{target.metric_zh}</b><br><span style='font-size:11px'>{_short(target.metric_en, 62)}</span>"
                 f"<br><span style='font-size:10px;color:#627d98'>目标 target {target.comparator} "
                 f"{fmt_value(target.target_value, unit)} · {scope_note.split(' · ')[-1]}</span>")
    fig.update_xaxes(type="category", tickangle=0)
    fig.update_yaxes(type="category", tickfont={"size": 11})
    return _base_layout(fig, height=150 + 26 * len(y), title=title,
                        margin={"l": 170, "r": 20, "t": 90 if len(x) <= 3 else 70, "b": 40})


def vaccination_heatmap(model: Model) -> go.Figure | None:
    """Vaccination coverage, district x vaccine, for the latest month: every cell is a target."""
    rows = model.attainment[(model.attainment["target_id"] == VACCINATION)
                            & (model.attainment["geo_level"] == "district")]
    if rows.empty:
        return None
    month = rows["month"].max()
    rows = rows[rows["month"] == month]
    unit = model.unit(VACCINATION)
    codes = sorted(rows["geo_code"].unique(), reverse=True)
    vaccines = [v for v in model.vaccine_names if v in set(rows["vaccine"])] or sorted(rows["vaccine"].unique())
    lookup = {(r.geo_code, r.vaccine): r for r in rows.itertuples(index=False)}
    z, text, hover, breaches = [], [], [], []
    for yi, code in enumerate(codes):
        zr, tr, hr = [], [], []
        for xi, vaccine in enumerate(vaccines):
            r = lookup.get((code, vaccine))
            if r is None:
                zr.append(None)
                tr.append("")
                hr.append("")
                continue
            zr.append(attainment_index(r.actual_value, r.target_value, r.comparator, r.status))
            tr.append(("✕ " if r.status == "breached" else "") + fmt_value(r.actual_value, unit))
            hr.append(f"{model.geo.label(code)} · {model.vaccine(vaccine)}<br>{_ym(month)}: "
                      f"<b>{fmt_value(r.actual_value, unit)}</b><br>目标 target {r.comparator} "
                      f"{fmt_value(r.target_value, unit)}<br>{STATUS_LABELS.get(r.status, r.status)}")
            if r.status == "breached":
                breaches.append((xi, yi))
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    target_value = rows["target_value"].iloc[0]
    fig = go.Figure(go.Heatmap(
        x=[model.vaccine(v).replace(" ", "<br>", 1) for v in vaccines], y=[model.geo.label(c) for c in codes],
        z=z, text=text, texttemplate="%{text}", textfont={"size": 10}, customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", zmin=1 - SPREAD, zmax=1 + SPREAD,
        colorscale=ATTAINMENT_SCALE, xgap=2, ygap=2,
        colorbar={"title": {"text": "达成度<br>attainment", "font": {"size": 10}}, "tickformat": ".0%",
                  "len": 0.9, "thickness": 12},
    ))
    _outline_breaches(fig, breaches)
    title = (f"{model.metric(VACCINATION)} · {_ym(month)}<br><span style='font-size:11px;color:#627d98'>"
             f"每个区县、每种疫苗 ≥ {fmt_value(target_value, unit)} · each district, each vaccine; "
             f"{len(breaches)} 未达标 breached</span>")
    fig.update_xaxes(type="category", side="top")
    fig.update_yaxes(type="category")
    return _base_layout(fig, height=160 + 28 * len(codes), title=title,
                        margin={"l": 170, "r": 20, "t": 120, "b": 20})


def equalisation_figure(model: Model) -> go.Figure | None:
    """How far apart the districts are: coefficient of variation and max/min ratio over the months."""
    eq = model.data.equalisation
    if eq.empty:
        return None
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        "变异系数 Coefficient of variation (σ / mean)", "最高 / 最低 Max / min ratio"))
    palette = ["#0b6e99", "#d64545", "#2a9d8f", "#8e6c8a", "#e9a23b", "#3d5a80", "#7a9e3a", "#b8336a"]
    for i, (target_id, group) in enumerate(eq.groupby("target_id", sort=True)):
        name = target_id
        if target_id in model.targets.index:
            row = model.targets.loc[target_id]
            name = f"{row.metric_zh} · {_short(row.metric_en, 40)}"
        if group["vaccine"].notna().any():
            # One line for the vaccines: the widest spread among them each month, named in the hover.
            group = group.sort_values("coefficient_of_variation", ascending=False).groupby("month").head(1)
            name += " (最不均衡疫苗 widest vaccine)"
        group = group.sort_values("month")
        unit = model.unit(target_id)
        hover = [
            f"<b>{model.metric(target_id)}</b>"
            f"{(' · ' + model.vaccine(r.vaccine)) if isinstance(r.vaccine, str) else ''}"
            f"<br>{_ym(r.month)} · {r.districts_reporting} 区县 districts"
            f"<br>最低 min {fmt_value(r.min_value, unit)} ({model.geo.label(r.lowest_district_code)})"
            f" · 最高 max {fmt_value(r.max_value, unit)}"
            f"<br>未达标区县 below target: {r.districts_below_target}"
            for r in group.itertuples(index=False)
        ]
        colour = palette[i % len(palette)]
        mode = "lines+markers" if len(group) > 1 else "markers"
        common = {"x": [_ym(m) for m in group["month"]], "mode": mode, "legendgroup": target_id,
                  "line": {"color": colour, "width": 2}, "marker": {"color": colour, "size": 7},
                  "text": hover, "hovertemplate": "%{text}<br>%{y}<extra></extra>"}
        fig.add_trace(go.Scatter(y=group["coefficient_of_variation"], name=name, **common), row=1, col=1)
        fig.add_trace(go.Scatter(y=group["max_min_ratio"], name=name, showlegend=False, **common), row=1, col=2)
    fig.update_yaxes(tickformat=".1%", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(tickformat=".2f", ticksuffix="×", row=1, col=2)
    fig.update_xaxes(type="category", tickangle=0, tickfont={"size": 10})
    fig.update_annotations(font_size=12)
    return _base_layout(fig, height=430, legend={"orientation": "h", "y": -0.18, "x": 0},
                        margin={"l": 60, "r": 20, "t": 40, "b": 40})


def status_grid(model: Model) -> go.Figure | None:
    """Every target x month, coloured by status at the target's own scope."""
    if model.by_month.empty:
        return None
    targets = model.data.targets.sort_values(["section", "target_id"])
    ids = list(targets["target_id"])[::-1]  # the first section on top
    months = model.months
    codes = {s: i for i, s in enumerate(STATUS_ORDER[::-1])}  # met 0 .. breached 3
    lookup = {(r.target_id, r.month): r for r in model.by_month.itertuples(index=False)}
    z, hover = [], []
    for target_id in ids:
        unit = model.unit(target_id)
        zr, hr = [], []
        for month in months:
            r = lookup.get((target_id, month))
            if r is None:
                zr.append(None)
                hr.append("")
                continue
            zr.append(codes[r.status])
            geos = f"<br>{r.breached}/{r.geos} 未达标 breached" if r.geos > 1 else ""
            hr.append(f"<b>{model.metric(target_id, sep='<br>')}</b><br>{_ym(month)}: "
                      f"{fmt_value(r.actual_value, unit)} vs {r.comparator} {fmt_value(r.target_value, unit)}"
                      f"<br>{STATUS_LABELS[r.status]}{geos}")
        z.append(zr)
        hover.append(hr)
    n = len(STATUS_ORDER)
    colourscale = []
    for status, i in codes.items():
        colourscale += [[i / n, STATUS_COLOURS[status]], [(i + 1) / n, STATUS_COLOURS[status]]]
    labels = []
    for target_id in ids:
        row = model.targets.loc[target_id]
        english = row.metric_en if len(row.metric_en) <= 46 else row.metric_en[:45] + "…"
        labels.append(f"{row.metric_zh} · {english}")
    fig = go.Figure(go.Heatmap(
        x=[_ym(m) for m in months], y=labels, z=z, customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        zmin=-0.5, zmax=n - 0.5, colorscale=colourscale, xgap=1, ygap=1, showscale=False,
    ))
    for status in STATUS_ORDER:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=STATUS_LABELS[status],
                                 marker={"size": 10, "symbol": "square", "color": STATUS_COLOURS[status]}))
    fig.update_xaxes(type="category", side="top")
    fig.update_yaxes(type="category", tickfont={"size": 10})
    return _base_layout(fig, height=120 + 15 * len(ids), legend={"orientation": "h", "y": 1.0, "x": 0,
                                                                "yanchor": "bottom", "yref": "container"},
                        margin={"l": 430, "r": 20, "t": 80, "b": 20})


def bureau_figure(model: Model) -> go.Figure | None:
    """Targets per responsible bureau, by their status now."""
    if model.now.empty:
        return None
    counts = model.now.groupby(["responsible_bureau", "status"]).size().unstack(fill_value=0)
    for status in STATUS_ORDER:
        if status not in counts:
            counts[status] = 0
    counts = counts.assign(total=counts.sum(axis=1)).sort_values(["breached", "total"], ascending=True)
    names = [" · ".join(model.bureau(b)) for b in counts.index]
    names = [n if len(n) <= 60 else n[:59] + "…" for n in names]
    fig = go.Figure()
    for status in STATUS_ORDER[::-1]:
        fig.add_trace(go.Bar(
            y=names, x=counts[status], name=STATUS_LABELS[status], orientation="h",
            marker={"color": STATUS_COLOURS[status]},
            hovertemplate="%{y}<br>" + STATUS_LABELS[status] + ": %{x}<extra></extra>",
        ))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="目标数 targets", dtick=2)
    return _base_layout(fig, height=110 + 24 * len(names), legend={"orientation": "h", "y": 1.02, "x": 0,
                                                                   "yanchor": "bottom"},
                        margin={"l": 420, "r": 20, "t": 40, "b": 40})


def explorer_payload(model: Model) -> dict:
    """Per target: its months, binding figure, target and pace, for the page's target picker."""
    out = {}
    for target_id, group in model.by_month.groupby("target_id", sort=True):
        group = group.sort_values("month")
        unit = model.unit(target_id)
        target = model.targets.loc[target_id] if target_id in model.targets.index else None
        many = group["geos"].max() > 1
        out[target_id] = {
            "title": model.metric(target_id),
            "x": [_ym(m) for m in group["month"]],
            "actual": [None if pd.isna(v) else float(v) for v in group["actual_value"]],
            "target": [None if pd.isna(v) else float(v) for v in group["target_value"]],
            "expected": [None if pd.isna(v) else float(v) for v in group["expected_to_date"]],
            "colours": [STATUS_COLOURS[s] for s in group["status"]],
            "hover": [f"{_ym(r.month)}: {fmt_value(r.actual_value, unit)} · {STATUS_LABELS[r.status]}"
                      + (f" · {r.breached}/{r.geos} 未达标 breached" if many else "")
                      for r in group.itertuples(index=False)],
            "tickformat": tick_format(unit),
            "unit": unit_label(unit),
            "comparator": target.comparator if target is not None else "",
            "bureau": " · ".join(model.bureau(target.responsible_bureau)) if target is not None else "",
            "actual_name": "实际 Actual (最不利 worst geo)" if many else "实际 Actual",
        }
    return out


# --------------------------------------------------------------------------- page


CSS = """
:root { --ink:#102a43; --muted:#627d98; --line:#d9e2ec; --bg:#f5f7fa; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font-family:__FONT__; }
header { background:linear-gradient(120deg,#0b3954,#087e8b); color:white; padding:22px 32px 18px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; }
header .en { opacity:.85; font-size:15px; }
header .meta { margin-top:10px; font-size:12px; opacity:.8; }
header a { color:#bde0fe; }
main { padding:20px 32px 40px; max-width:1500px; margin:0 auto; }
section { background:white; border:1px solid var(--line); border-radius:10px; padding:16px 18px; margin:0 0 18px; }
section h2 { margin:0 0 2px; font-size:18px; }
section p.sub { margin:0 0 10px; color:var(--muted); font-size:13px; }
.kpis { display:grid; grid-template-columns:repeat(6,1fr); gap:12px; margin-bottom:18px; }
.kpi { background:white; border:1px solid var(--line); border-radius:10px; padding:14px 16px;
       border-top:5px solid var(--c,#334e68); }
.kpi .v { font-size:34px; font-weight:700; color:var(--c,#102a43); line-height:1.1; }
.kpi .l { font-size:13px; margin-top:4px; }
.kpi .s { font-size:11px; color:var(--muted); margin-top:2px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th { text-align:left; background:#f0f4f8; font-weight:600; padding:7px 8px; border-bottom:2px solid var(--line);
     position:sticky; top:0; }
td { padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
tr.open td { background:#fff5f5; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.chip { display:inline-block; padding:1px 8px; border-radius:10px; color:white; font-size:11px; white-space:nowrap; }
.muted { color:var(--muted); font-size:11px; }
.scroll { max-height:560px; overflow:auto; }
select { font:inherit; padding:5px 8px; border-radius:6px; border:1px solid var(--line); min-width:520px; }
footer { color:var(--muted); font-size:12px; padding:0 32px 30px; max-width:1500px; margin:0 auto; }
@media (max-width: 1000px) { .kpis { grid-template-columns:repeat(3,1fr); } .grid2 { grid-template-columns:1fr; } }
"""

EXPLORER_JS = """
(function () {
  var data = JSON.parse(document.getElementById('explorer-data').textContent);
  var select = document.getElementById('explorer-select');
  function draw(id) {
    var d = data[id];
    if (!d) { return; }
    var traces = [
      {x: d.x, y: d.target, mode: 'lines', name: '目标 Target ' + d.comparator,
       line: {color: '#334e68', dash: 'dash', width: 1.5}, hoverinfo: 'skip'},
      {x: d.x, y: d.actual, mode: 'lines+markers', name: d.actual_name, text: d.hover,
       hovertemplate: '%{text}<extra></extra>', line: {color: '#0b6e99', width: 2.2},
       marker: {size: 9, color: d.colours, line: {color: 'white', width: 1}}}
    ];
    if (d.expected.some(function (v) { return v !== null; })) {
      traces.splice(1, 0, {x: d.x, y: d.expected, mode: 'lines', name: '进度线 Linear pace',
        line: {color: '#829ab1', dash: 'dot', width: 1.5}, hoverinfo: 'skip'});
    }
    Plotly.react('fig-explorer', traces, {
      template: 'plotly_white', height: 380, margin: {l: 70, r: 20, t: 50, b: 40},
      font: {family: __FONT__, size: 12, color: '#243b53'},
      title: {text: d.title + '<br><span style="font-size:11px;color:#627d98">责任单位 ' + d.bureau + '</span>',
              x: 0.01, font: {size: 14}},
      xaxis: {type: 'category'}, yaxis: {tickformat: d.tickformat, title: {text: d.unit}},
      legend: {orientation: 'h', y: -0.15}
    }, {displaylogo: false, responsive: true});
  }
  select.addEventListener('change', function () { draw(select.value); });
  draw(select.value);
})();
"""


def _figure_div(fig: go.Figure | None, div_id: str) -> str:
    if fig is None:
        return '<p class="sub">暂无数据 No data yet.</p>'
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)


def _kpi_cards(model: Model) -> str:
    k = model.kpis()
    latest = _ym(model.latest_month) if model.latest_month else "–"
    cards = [
        ("#334e68", k["targets"], "监测目标 Targets monitored", f"数据截至 data through {latest}"),
        (STATUS_COLOURS["met"], k["met"], "达标 Met", "最新月份 in their latest month"),
        (STATUS_COLOURS["breached"], k["breached"], "未达标 Breached", "最新月份 in their latest month"),
        (STATUS_COLOURS["in_progress"], k["in_progress"], "推进中 In progress", "累计目标未到期 before the deadline"),
        (STATUS_COLOURS["no_data"], k["no_data"], "缺数据 No data",
         f"其中 {k['never_reported']} 个从未报送 never reported"),
        ("#7f0000", k["breach_rows"], "未达标记录 Breaches this year",
         f"涉及 {k['bureaus_breached']} 个责任单位 bureaus"),
    ]
    return '<div class="kpis" id="kpis">' + "".join(
        f'<div class="kpi" style="--c:{c}"><div class="v">{v}</div><div class="l">{html.escape(label)}</div>'
        f'<div class="s">{html.escape(sub)}</div></div>'
        for c, v, label, sub in cards
    ) + "</div>"


def _chip(status: str) -> str:
    return (f'<span class="chip" style="background:{STATUS_COLOURS.get(status, "#9aa5b1")}">'
            f"{html.escape(STATUS_LABELS.get(status, status))}</span>")


def _months_text(months: list[date]) -> str:
    """2012-01, 2012-04…2012-10 (runs of consecutive months collapsed)."""
    runs: list[list[date]] = []
    for m in months:
        if runs and (m.year * 12 + m.month) - (runs[-1][-1].year * 12 + runs[-1][-1].month) == 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(_ym(r[0]) if len(r) == 1 else f"{_ym(r[0])}…{_ym(r[-1])}" for r in runs)


def breach_table(model: Model, limit: int = 300) -> str:
    series = model.breach_series()
    if series.empty:
        return '<p class="sub" id="breach-table">没有未达标项 No breaches at any target\'s own scope.</p>'
    body = []
    for r in series.head(limit).itertuples(index=False):
        unit = model.unit(r.target_id)
        zh, en = model.bureau(r.responsible_bureau)
        state = (_chip("breached") + '<div class="muted">仍未达标 still open</div>' if r.open_now
                 else _chip(r.latest_status) + f'<div class="muted">{_ym(r.latest_month)} 已恢复 since recovered</div>')
        alerted = (f"{r.alerted_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                   if isinstance(r.alerted_at, datetime) and not pd.isna(r.alerted_at)
                   else '<span class="muted">未记录 not recorded</span>')
        vaccine = (f"<br><span class='muted'>{html.escape(model.vaccine(r.vaccine))}</span>"
                   if isinstance(r.vaccine, str) and r.vaccine else "")
        body.append(
            f'<tr{" class=open" if r.open_now else ""}><td>{state}</td>'
            f"<td><b>{html.escape(model.targets.loc[r.target_id, 'metric_zh'])}</b><br>"
            f"<span class='muted'>{html.escape(model.targets.loc[r.target_id, 'metric_en'])}</span></td>"
            f"<td>{html.escape(model.geo.label(r.geo_code, sep=' / '))}{vaccine}</td>"
            f"<td>{html.escape(_months_text(r.months))}<br><span class='muted'>{len(r.months)} 个月 months</span></td>"
            f"<td class='num'>{fmt_value(r.latest_actual, unit)}<br><span class='muted'>{_ym(r.latest_month)}</span>"
            f"</td><td class='num'>{html.escape(r.comparator)} {fmt_value(r.target_value, unit)}</td>"
            f"<td>{html.escape(zh)}<br><span class='muted'>{html.escape(en)}</span></td><td>{alerted}</td></tr>"
        )
    more = (f'<p class="sub">… 另有 {len(series) - limit} 项 and {len(series) - limit} more '
            "(marts.fct_target_attainment)</p>" if len(series) > limit else "")
    return (
        '<div class="scroll"><table id="breach-table"><thead><tr><th>状态 State</th><th>目标 Target</th>'
        "<th>地区 Where</th><th>未达标月份 Months breached</th><th>最新值 Latest</th><th>目标值 Target</th>"
        "<th>责任单位 Responsible bureau</th><th>首次告警 First alert</th></tr></thead><tbody>"
        + "".join(body) + "</tbody></table></div>" + more
    )


def _explorer(model: Model) -> str:
    payload = explorer_payload(model)
    if not payload:
        return '<p class="sub">暂无数据 No data yet.</p>'
    options = []
    for section, group in model.data.targets.sort_values(["section", "target_id"]).groupby("section", sort=False):
        opts = "".join(
            f'<option value="{html.escape(t)}"{" selected" if t == HEADLINE_TARGETS[0] else ""}>'
            f"{html.escape(model.metric(t))}</option>"
            for t in group["target_id"] if t in payload
        )
        if opts:
            options.append(f'<optgroup label="{html.escape(str(section))}">{opts}</optgroup>')
    data = json.dumps(payload, cls=PlotlyJSONEncoder, ensure_ascii=False)
    # As plotly does for its figures: no markup can close the script element the data sits in.
    data = data.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return (
        f'<select id="explorer-select" aria-label="target">{"".join(options)}</select>'
        '<div id="fig-explorer" class="plotly-graph-div" style="height:380px;width:100%"></div>'
        f'<script type="application/json" id="explorer-data">{data}</script>'
        "<script>" + EXPLORER_JS.replace("__FONT__", json.dumps(FONT)) + "</script>"
    )


def render(data: ReportData, *, docs_href: str = "dbt-docs/index.html") -> str:
    """The whole page as one HTML string (plotly.js inline)."""
    model = Model(data)
    latest = _ym(model.latest_month) if model.latest_month else "–"
    wide, narrow = [], []
    for target_id in model.district_targets():
        months = model.attainment.loc[model.attainment["target_id"] == target_id, "month"].nunique()
        div = f"<div>{_figure_div(district_heatmap(model, target_id), f'fig-district-{target_id}')}</div>"
        (wide if months > 3 else narrow).append(div)
    district_divs = "".join(wide) + (f'<div class="grid2">{"".join(narrow)}</div>' if narrow else "")
    generated = data.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        _kpi_cards(model),
        "<section><h2>未达标项及责任单位 · Breaches and their bureaus</h2>"
        '<p class="sub">每个目标在自身范围（全市、主城区或各区县）判定；每个未达标月份即一条告警，修订数据可将其消除。'
        " Judged at each target's own scope; every breached month is an alert until a revision clears it. "
        "Open = still breached in the latest month reported.</p>" + breach_table(model) + "</section>",
        "<section><h2>重点目标：实际与目标 · Headline targets: actual vs target</h2>"
        '<p class="sub">点的颜色表示当月状态；累计指标另画线性进度线。Marker colour is the month\'s status; '
        "cumulative targets also show the linear pace to the deadline.</p>"
        + _figure_div(headline_figure(model), "fig-headline") + "</section>",
        "<section><h2>疫苗接种：区县 × 疫苗 · Vaccination by district and vaccine</h2>"
        '<p class="sub">颜色为达成度（实际 ÷ 目标）；红框 ✕ 为未达标。Colour is attainment (actual ÷ target); '
        "outlined ✕ cells are breaches.</p>" + _figure_div(vaccination_heatmap(model), "fig-vaccination")
        + "</section>",
        "<section><h2>区县达成情况 · Attainment by district and month</h2>"
        '<p class="sub">按区县逐月达成度；红框 ✕ 为未达标（≤ 类目标取 目标 ÷ 实际）。'
        "Attainment per district and month; outlined ✕ cells are breaches "
        "(for ≤ targets the index is target ÷ actual).</p>"
        + (district_divs or '<p class="sub">暂无数据 No district figures yet.</p>') + "</section>",
        "<section><h2>均等化：区县差距 · Equalisation: how far apart the districts are</h2>"
        '<p class="sub">越低越均衡：变异系数 = 标准差 ÷ 均值；最高 ÷ 最低。Lower is more equal '
        "(marts.fct_district_equalisation).</p>" + _figure_div(equalisation_figure(model), "fig-equalisation")
        + "</section>",
        "<section><h2>各责任单位 · Targets by responsible bureau</h2>"
        '<p class="sub">各目标在最新月份的状态。Each target\'s status in its latest month.</p>'
        + _figure_div(bureau_figure(model), "fig-bureaus") + "</section>",
        "<section><h2>任一目标 · Any target: actual vs target</h2>"
        '<p class="sub">选择目标查看逐月实际值与目标值。Pick a target to see its figure against the target, '
        "month by month.</p>" + _explorer(model) + "</section>",
        "<section><h2>全部目标逐月状态 · Every target, month by month</h2>"
        '<p class="sub">在目标自身范围判定；多地区目标取最差状态。At each target\'s own scope; for targets judged '
        "in several places, the worst status.</p>" + _figure_div(status_grid(model), "fig-status-grid")
        + "</section>",
    ]
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="hzwh.report.dashboard">
<title>杭州市基本公共服务均等化监测 · Hangzhou public service equalisation dashboard</title>
<style>{CSS.replace("__FONT__", FONT)}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>杭州市2012年基本公共服务均等化 · 监测看板</h1>
<div class="en">Hangzhou 2012 basic public service equalisation plan — monitoring dashboard</div>
<div class="meta">数据截至 Data through <b>{latest}</b> · 生成于 Generated {generated} ·
仓库 Warehouse <code>{html.escape(data.source)}</code> (marts) ·
<a href="{html.escape(docs_href)}">数据字典 dbt docs</a></div>
</header>
<main>
{"".join(sections)}
</main>
<footer>来源 Source: marts.fct_target_attainment, fct_district_equalisation, dim_target, dim_bureau, dim_district,
dim_vaccine, ops.alerts. 阈值只来自目标目录 Thresholds come from the target catalogue only (dim_target).
</footer>
</body>
</html>
"""


def write_atomically(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def publish(path: Path | None = None, url: str | None = None) -> Path:
    """Read the marts and write the dashboard (default $DATA_DIR/reports/dashboard.html); returns its path."""
    from hzwh import db
    from hzwh.report.data import load

    with db.connect(url) as conn:
        data = load(conn)
    return write_atomically(Path(path) if path else dashboard_path(), render(data))
