-- Operational schemas the pipeline owns (dbt owns staging, intermediate and marts).
-- Idempotent: run by `python -m hzwh init` and at the start of every ingest.

create schema if not exists raw;
create schema if not exists ops;

comment on schema raw is 'Bureau feed rows exactly as delivered and accepted, one table per feed, append-only; every row names the file version (load_id) it came from.';
comment on schema ops is 'Pipeline bookkeeping: file loads and row accounting, quarantine, alerts and their deliveries.';

create table if not exists ops.file_loads (
    load_id bigserial primary key,
    feed text not null,
    file_name text not null,
    sha256 text not null,
    size_bytes bigint not null,
    file_period text,
    status text not null check (status in ('loaded', 'rejected', 'duplicate')),
    encoding text,
    rows_delivered integer not null default 0,
    rows_loaded integer not null default 0,
    rows_quarantined integer not null default 0,
    blank_lines integer not null default 0,
    extra_columns text[] not null default '{}',
    duplicate_of bigint references ops.file_loads (load_id),
    archive_path text,
    reason text,
    dag_run_id text,
    received_at timestamptz not null default clock_timestamp(),
    constraint rows_accounted check (
        status = 'duplicate' or rows_loaded + rows_quarantined = rows_delivered
    )
);
create unique index if not exists file_loads_one_version
on ops.file_loads (feed, sha256) where status in ('loaded', 'rejected');
comment on table ops.file_loads is 'One row per delivered file: loaded (rows_loaded + rows_quarantined = rows_delivered), rejected whole with a reason, or a duplicate delivery (a no-op).';

create table if not exists ops.quarantined_rows (
    load_id bigint not null references ops.file_loads (load_id),
    row_number integer not null,
    feed text not null,
    file_name text not null,
    reason text not null,
    issues jsonb not null,
    record jsonb not null,
    primary key (load_id, row_number)
);
comment on table ops.quarantined_rows is 'Input rows that failed validity, with the delivered values and every failed rule (column, value, rule).';

create or replace view ops.quarantine as
select
    q.feed,
    q.file_name,
    q.load_id,
    q.row_number,
    q.reason,
    q.record
from ops.quarantined_rows as q
union all
select
    f.feed,
    f.file_name,
    f.load_id,
    null::integer as row_number,
    'whole file rejected: ' || f.reason as reason,
    null::jsonb as record
from ops.file_loads as f
where f.status = 'rejected';
comment on view ops.quarantine is 'Everything quarantined, rows and whole files, with a reason a person can read.';

create table if not exists ops.alerts (
    alert_id bigserial primary key,
    alert_key text not null unique,
    kind text not null check (kind in ('breach', 'resolved', 'data_quality', 'late_feed')),
    audience text not null check (audience in ('bureau', 'data_engineers')),
    target_id text,
    geo_code text,
    month date,
    vaccine text,
    actual_value numeric,
    target_value numeric,
    comparator text,
    responsible_bureau text,
    load_id bigint references ops.file_loads (load_id),
    message text not null,
    payload jsonb not null,
    created_at timestamptz not null default clock_timestamp()
);
-- Added with routing and late feeds (docs/alerts.md); `add column if not exists` upgrades older warehouses.
alter table ops.alerts add column if not exists feed text;
alter table ops.alerts add column if not exists checked_on date;
alter table ops.alerts add column if not exists route text;
alter table ops.alerts add column if not exists route_note text;
comment on table ops.alerts is 'Every alert the warehouse raised, once per key (re-runs never repeat one), with the payload that was sent.';
comment on column ops.alerts.alert_key is 'breach|resolved: kind|target_id|geo_code|YYYY-MM|vaccine; data_quality|load|<load_id>; late_feed|<feed>|<YYYY-MM>|<reminder>.';
comment on column ops.alerts.route is 'Who the alert was routed to: bureau:<id>, data_engineers, or data_engineers (no route for bureau <id>).';
comment on column ops.alerts.route_note is 'Recipients that were not sent to and why (a channel not configured), or null.';
comment on column ops.alerts.checked_on is 'Late feeds: the day (logical date) of the check that raised the alert.';

create table if not exists ops.alert_deliveries (
    delivery_id bigserial primary key,
    alert_id bigint not null references ops.alerts (alert_id),
    channel text not null,
    recipient text not null,
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts integer not null default 0,
    last_error text,
    last_attempt_at timestamptz,
    sent_at timestamptz,
    unique (alert_id, channel, recipient)
);
alter table ops.alert_deliveries add column if not exists next_attempt_at timestamptz;
alter table ops.alert_deliveries add column if not exists created_at timestamptz not null default clock_timestamp();
create index if not exists alert_deliveries_unsent on ops.alert_deliveries (channel, recipient) where status <> 'sent';
comment on table ops.alert_deliveries is 'One row per alert x channel x recipient: pending (not tried yet), failed (retried at next_attempt_at) or sent; attempts, when it was sent, or the last error.';

create table if not exists ops.alert_delivery_attempts (
    delivery_id bigint not null references ops.alert_deliveries (delivery_id),
    attempt integer not null,
    attempted_at timestamptz not null default clock_timestamp(),
    ok boolean not null,
    error text,
    primary key (delivery_id, attempt)
);
comment on table ops.alert_delivery_attempts is 'Every delivery attempt, successful or not, with the reason it failed.';

create or replace view ops.alert_log as
select
    a.alert_id,
    a.alert_key,
    a.kind,
    a.audience,
    a.route,
    d.channel,
    coalesce(array_agg(d.recipient order by d.recipient) filter (where d.recipient is not null), '{}') as recipients,
    case
        when d.channel is null then 'recorded only'
        when bool_and(d.status = 'sent') then 'sent'
        when bool_or(d.status = 'failed') then 'failed'
        else 'pending'
    end as status,
    coalesce(max(d.attempts), 0) as attempts,
    case when bool_and(d.status = 'sent') then max(d.sent_at) end as sent_at,
    string_agg(d.recipient || ': ' || d.last_error, '; ' order by d.recipient) filter (
        where d.status <> 'sent'
    ) as last_error,
    min(d.next_attempt_at) filter (where d.status <> 'sent') as next_attempt_at,
    a.route_note,
    a.created_at
from ops.alerts as a
left join ops.alert_deliveries as d on a.alert_id = d.alert_id
group by a.alert_id, d.channel;
comment on view ops.alert_log is 'For every alert and channel: key, kind, recipients, attempts, and when it was sent or the last error; channel null = recorded only (no recipient configured).';
