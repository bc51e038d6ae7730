"""The short report a person reads after a run: what loaded, what was quarantined, what breached."""

from __future__ import annotations

import psycopg

from hzwh import db, settings


def _table(rows: list[tuple], headers: list[str]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join("  " + s for s in out)


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def render(max_breaches: int = 40) -> str:
    parts = settings.warehouse()
    out: list[str] = []
    with db.connect() as conn:
        loads = conn.execute(
            "select feed, count(*) filter (where status = 'loaded'), count(*) filter (where status = 'rejected'),"
            " count(*) filter (where status = 'duplicate'), coalesce(sum(rows_delivered) filter"
            " (where status <> 'duplicate'), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)"
            " from ops.file_loads group by feed order by feed"
        ).fetchall()
        out.append("Files and rows (ops.file_loads): loaded + quarantined = delivered for every file")
        out.append(_table(loads, ["feed", "files loaded", "rejected", "duplicates", "rows delivered",
                                  "rows loaded", "rows quarantined"]) if loads else "  (no files yet)")

        quarantine = conn.execute(
            "select file_name, coalesce(row_number::text, 'file'), left(reason, 160) from ops.quarantine"
            " order by load_id, row_number nulls first limit 12"
        ).fetchall()
        total_q = conn.execute("select count(*) from ops.quarantine").fetchone()[0]
        out.append(f"\nQuarantined ({total_q} entries; all in ops.quarantine):")
        out.extend(f"  - {name} [{row}]: {reason}" for name, row, reason in quarantine)

        if _exists(conn, "marts.fct_target_attainment"):
            statuses = conn.execute(
                "select target_id, count(*) filter (where status = 'met'), count(*) filter (where status = 'breached'),"
                " count(*) filter (where status = 'in_progress'), count(*) filter (where status = 'no_data')"
                " from marts.fct_target_attainment where is_scope_row group by target_id order by target_id"
            ).fetchall()
            out.append("\nAttainment at each target's own scope (marts.fct_target_attainment, is_scope_row):")
            out.append(_table(statuses, ["target_id", "met", "breached", "in_progress", "no_data"]))
            breaches = conn.execute(
                "select f.target_id, f.geo_code, coalesce(f.vaccine, ''), to_char(f.month, 'YYYY-MM'),"
                " round(f.actual_value, 4), f.comparator || ' ' || f.target_value::float8, t.responsible_bureau_zh"
                " from marts.fct_target_attainment as f join marts.dim_target as t using (target_id)"
                " where f.is_scope_row and f.status = 'breached' order by f.target_id, f.month, f.geo_code, 3"
            ).fetchall()
            out.append(f"\nBreaches ({len(breaches)}):")
            out.append(_table(breaches[:max_breaches], ["target_id", "geo", "vaccine", "month", "actual",
                                                        "target", "bureau"]) if breaches else "  none")
            if len(breaches) > max_breaches:
                out.append(f"  … and {len(breaches) - max_breaches} more")

        alerts = conn.execute(
            "select a.kind, a.audience, count(distinct a.alert_id), count(d.*) filter (where d.status = 'sent'),"
            " count(d.*) filter (where d.status <> 'sent') from ops.alerts as a"
            " left join ops.alert_deliveries as d using (alert_id) group by 1, 2 order by 1, 2"
        ).fetchall()
        out.append("\nAlerts recorded (ops.alerts; deliveries in ops.alert_deliveries):")
        out.append(_table(alerts, ["kind", "audience", "alerts", "deliveries sent", "pending/failed"])
                   if alerts else "  none")
        if not conn.execute("select exists (select 1 from ops.alert_deliveries)").fetchone()[0]:
            out.append("  No channel is configured (ALERT_WEBHOOK_URL, SMTP, Slack: docs/alerts.md): alerts are"
                       " recorded in ops.alerts only.")
        examples = conn.execute(
            "select distinct on (kind) message from ops.alerts order by kind, alert_id"
        ).fetchall()
        if examples:
            out.append("\nWhat an alert says (one of each kind):")
            for (message,) in examples:
                out.extend("  " + line for line in message.splitlines())

    out.append(
        "\nWhere to look next:\n"
        f"  psql {parts.url()}\n"
        "    select * from marts.fct_target_attainment where status = 'breached' and is_scope_row;\n"
        "    select * from ops.quarantine;   select message from ops.alerts;\n"
        "  marts for BI (read-only role " + settings.bi_role() + "): dim_district, dim_month, dim_target, dim_bureau,\n"
        "    dim_vaccine, fct_target_attainment, fct_district_equalisation, fct_social_security_enrollment,\n"
        "    fct_vaccination_coverage, fct_vegetable_supply, fct_plan_indicator_values\n"
        "  the catalogue of targets: dbt_project/seeds/target_catalogue.csv (docs/catalogue.md)"
    )
    return "\n".join(out)
