#!/usr/bin/env bash
# Databases, owners and the read-only BI role of the stack (docker-compose.yml).
#
# The postgres image runs this once, from /docker-entrypoint-initdb.d, when its
# data volume is empty. It is idempotent, so it can be re-run at any time to
# apply changed passwords from .env (after `docker compose up -d postgres`, so
# the container has the new values):
#
#     docker compose exec postgres bash /docker-entrypoint-initdb.d/10-hzwh-databases.sh
#
#   database      owner      who else may connect
#   airflow       airflow    nobody (Airflow metadata + Celery results)
#   hz_warehouse  warehouse  BI_READONLY_ROLE (bi_reader): marts only, read-only
#   metabase      metabase   nobody (Metabase's own application database)
#
# Passwords come from the environment (see .env.example) and are passed to psql
# as variables, so no quoting in them can break or inject SQL.
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?}" "${WAREHOUSE_DB_PASSWORD:?}" "${METABASE_DB_PASSWORD:?}" "${BI_READER_PASSWORD:?}"
BI_READONLY_ROLE="${BI_READONLY_ROLE:-bi_reader}"

psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet
      --username "${POSTGRES_USER:-postgres}"
      -v airflow_pw="$AIRFLOW_DB_PASSWORD"
      -v warehouse_pw="$WAREHOUSE_DB_PASSWORD"
      -v metabase_pw="$METABASE_DB_PASSWORD"
      -v bi_role="$BI_READONLY_ROLE"
      -v bi_pw="$BI_READER_PASSWORD")

"${psql[@]}" --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
-- Login roles: created when missing, password (re)set every run.
select format('create role %I', r) from unnest(array['airflow', 'warehouse', 'metabase', :'bi_role']) as r
where not exists (select from pg_roles where rolname = r) \gexec
alter role airflow with login nosuperuser nocreatedb nocreaterole password :'airflow_pw';
alter role warehouse with login nosuperuser nocreatedb nocreaterole password :'warehouse_pw';
alter role metabase with login nosuperuser nocreatedb nocreaterole password :'metabase_pw';
alter role :"bi_role" with login nosuperuser nocreatedb nocreaterole password :'bi_pw';
-- BI sessions can never write, and a runaway question cannot hold the server.
alter role :"bi_role" set default_transaction_read_only = on;
alter role :"bi_role" set statement_timeout = '5min';

-- One database per purpose, each owned by its own user.
select format('create database %I owner %I', d, d) from unnest(array['airflow', 'metabase']) as d
where not exists (select from pg_database where datname = d) \gexec
select 'create database hz_warehouse owner warehouse'
where not exists (select from pg_database where datname = 'hz_warehouse') \gexec

revoke all on database airflow from public;
revoke all on database metabase from public;
revoke all on database hz_warehouse from public;
grant connect on database hz_warehouse to :"bi_role";
SQL

# Inside the warehouse: the marts schema exists before dbt's first run, owned by
# the warehouse user (who runs dbt and `python -m hzwh init`), and the BI role
# may read every table that user creates there. dbt's `grants` config and
# `python -m hzwh init` grant the same; this makes it hold from the start.
"${psql[@]}" --dbname hz_warehouse <<'SQL'
set client_min_messages to warning;
revoke create on schema public from public;
create schema if not exists marts authorization warehouse;
grant usage on schema marts to :"bi_role";
alter default privileges for role warehouse in schema marts grant select on tables to :"bi_role";
SQL

echo "hzwh: databases airflow, hz_warehouse, metabase and role ${BI_READONLY_ROLE} are ready"
