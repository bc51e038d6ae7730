"""Cosmos configuration for the dbt project: one `dbt build` per run, profile from the `warehouse` connection.

The Airflow connection `warehouse` (AIRFLOW_CONN_WAREHOUSE) is derived from
WAREHOUSE_URL by `hzwh.runtime`; cosmos turns it into a dbt profile, so no
secret is written into the project.
"""

from __future__ import annotations

from cosmos import ProfileConfig
from cosmos.profiles import PostgresUserPasswordProfileMapping

from hzwh import settings

WAREHOUSE_CONN_ID = "warehouse"


def profile_config() -> ProfileConfig:
    return ProfileConfig(
        profile_name="hz_warehouse",
        target_name="airflow",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=WAREHOUSE_CONN_ID,
            profile_args={"schema": settings.dbt_target_schema(), "threads": 2},
        ),
    )


def project_dir() -> str:
    return str(settings.DBT_PROJECT_DIR)
