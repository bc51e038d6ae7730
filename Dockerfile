# syntax=docker/dockerfile:1
#
# One image for every Airflow component of docker-compose.yml (api-server,
# scheduler, dag-processor, triggerer, Celery workers, flower) and for
# airflow-init; Celery workers on other machines run the very same image.
#
# Every dependency is installed here, at build time, from requirements.lock
# (exact pins, same as `make venv`): nothing is installed when a container
# starts. Rebuild after changing the lock, the package, the DAGs or the dbt
# project: `docker compose build`.
FROM python:3.11.14-slim-bookworm

ARG UV_VERSION=0.13.8
# The image's own user; compose runs it as AIRFLOW_UID:0 (any uid works: group 0 owns the writable paths).
ARG AIRFLOW_UID=50000

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    HOME=/home/airflow \
    GX_ANALYTICS_ENABLED=false \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DO_NOT_TRACK=1

# curl: the compose health checks; tini: PID 1 that forwards SIGTERM to the Celery
# worker alone, so it finishes running tasks (warm shutdown) before stopping.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /home/airflow --create-home --shell /bin/bash airflow

WORKDIR /opt/hzwh

# Dependencies first, from the lock alone, so code changes reuse this layer.
COPY requirements.lock ./
RUN pip install "uv==${UV_VERSION}" \
    && uv venv --python /usr/local/bin/python3.11 "${VIRTUAL_ENV}" \
    && uv pip sync --python "${VIRTUAL_ENV}/bin/python" --compile-bytecode requirements.lock

# The project (see .dockerignore): the hzwh package, DAGs, dbt project, plan text, docker/ scripts.
# Editable, as in `make venv`: hzwh finds dbt_project/ and docs/plan/ next to include/.
COPY . .
RUN uv pip install --python "${VIRTUAL_ENV}/bin/python" --no-deps --compile-bytecode -e . \
    && airflow version \
    && mkdir -p /opt/airflow/logs /opt/airflow/auth /opt/airflow/cosmos /opt/hzwh/data/landing /opt/hzwh/data/archive \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow /opt/hzwh/data /opt/hzwh/dbt_project /home/airflow \
    && chmod -R g+rwX /opt/airflow /opt/hzwh/data /opt/hzwh/dbt_project /home/airflow

USER ${AIRFLOW_UID}:0
WORKDIR /opt/airflow
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
