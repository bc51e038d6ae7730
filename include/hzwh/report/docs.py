"""dbt docs as a static site: `dbt docs generate --static`, published to $DATA_DIR/reports/dbt-docs/.

In the pipeline, cosmos' DbtDocsLocalOperator (dags/publish_reports.py) runs
the command with the profile of the `warehouse` connection and calls
`publish_dbt_docs` with the temporary project it ran in. `generate_dbt_docs`
does the same without Airflow (dbt's Python API and dbt_project/profiles.yml
with the libpq variables of WAREHOUSE_URL), for a person or a test.

The site is one file, `index.html` (dbt's static_index.html: manifest and
catalog inline, so it opens from disk without a web server); manifest.json
and catalog.json are kept beside it for tools.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hzwh import settings
from hzwh.report.paths import docs_dir

log = logging.getLogger(__name__)

ARTEFACTS = ("manifest.json", "catalog.json")


def _copy_atomically(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def publish_target(target_dir: Path, out_dir: Path | None = None) -> Path:
    """Copy a `dbt docs generate --static` target folder's site into out_dir; returns the index.html path."""
    target_dir = Path(target_dir)
    static = target_dir / "static_index.html"
    if not static.is_file():
        raise FileNotFoundError(f"{static} is missing: was `dbt docs generate --static` run?")
    out = Path(out_dir) if out_dir else docs_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name in ARTEFACTS:
        if (target_dir / name).is_file():
            _copy_atomically(target_dir / name, out / name)
    index = out / "index.html"
    _copy_atomically(static, index)
    log.info("dbt docs published to %s", index)
    return index


def publish_dbt_docs(project_dir: str, **kwargs) -> Path:
    """Cosmos callback of the docs task: called with the (temporary) project folder dbt ran in."""
    return publish_target(Path(project_dir) / "target")


@contextmanager
def _libpq_env() -> Iterator[None]:
    """PG* variables from WAREHOUSE_URL for dbt_project/profiles.yml, restored afterwards."""
    parts = settings.warehouse()
    values = {"PGHOST": parts.host, "PGPORT": str(parts.port), "PGUSER": parts.user, "PGDATABASE": parts.dbname,
              "PGPASSWORD": parts.password or "unused"}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def generate_dbt_docs(out_dir: Path | None = None) -> Path:
    """`dbt docs generate --static` against WAREHOUSE_URL (dbt's Python API), published to out_dir."""
    from dbt.cli.main import dbtRunner

    project = str(settings.DBT_PROJECT_DIR)
    with tempfile.TemporaryDirectory(prefix="hzwh-dbt-docs-") as tmp, _libpq_env():
        target = Path(tmp) / "target"
        result = dbtRunner().invoke([
            "docs", "generate", "--static", "--project-dir", project, "--profiles-dir", project,
            "--target-path", str(target), "--log-path", str(Path(tmp) / "logs"), "--quiet",
        ])
        if not result.success:
            raise RuntimeError(f"dbt docs generate failed: {result.exception or 'see the dbt log above'}")
        return publish_target(target, out_dir)
