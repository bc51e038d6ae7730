"""Running the dbt project from Airflow (through astronomer-cosmos)."""
