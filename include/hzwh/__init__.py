"""Hangzhou basic public service equalisation warehouse.

The Python package behind the Airflow DAGs: feed contracts, reading and
normalising bureau files, loading them into PostgreSQL with COPY, validity and
attainment checks with Great Expectations, and alerting. Everything here is
importable and testable without a running Airflow.
"""
