"""dbt docs: every mart and mart column is described, the dashboard is an exposure, the static site is published."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hzwh import settings
from hzwh.report import docs, paths

MARTS = settings.DBT_PROJECT_DIR / "models" / "marts"


def _marts_yml() -> list[dict]:
    documents = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(MARTS.glob("*.yml"))]
    return [d for d in documents if d]


def _described_models() -> dict[str, dict]:
    return {m["name"]: m for d in _marts_yml() for m in d.get("models") or []}


def test_every_mart_and_every_mart_column_has_a_description():
    models = _described_models()
    sql_models = sorted(p.stem for p in MARTS.glob("*.sql"))
    assert sql_models, "no marts found"
    missing_models = [m for m in sql_models if m not in models]
    assert not missing_models, f"marts without a yml entry: {missing_models}"
    undescribed = []
    for name in sql_models:
        model = models[name]
        if not str(model.get("description") or "").strip():
            undescribed.append(name)
        columns = model.get("columns") or []
        assert columns, f"{name} lists no columns"
        undescribed += [f"{name}.{c['name']}" for c in columns if not str(c.get("description") or "").strip()]
    assert not undescribed, f"marts or columns without a description: {undescribed}"


def test_the_dashboard_is_an_exposure_on_the_marts_it_reads():
    exposures = {e["name"]: e for d in _marts_yml() for e in d.get("exposures") or []}
    dashboard = exposures["monitoring_dashboard"]
    assert dashboard["type"] == "dashboard"
    assert dashboard["owner"]["name"].lower() == "data engineering"
    assert "dashboard.html" in dashboard["url"] and dashboard["description"].strip()
    refs = {r.split("'")[1] for r in dashboard["depends_on"]}
    read_by_the_page = {"fct_target_attainment", "fct_district_equalisation", "dim_target", "dim_bureau",
                        "dim_district", "dim_vaccine"}
    assert refs == read_by_the_page
    assert refs <= {p.stem for p in MARTS.glob("*.sql")}
    source = (Path(__file__).resolve().parents[2] / "include/hzwh/report/data.py").read_text(encoding="utf-8")
    for model in read_by_the_page:
        assert f"marts.{model}" in source, f"the exposure names {model} but the dashboard does not read it"


def test_the_static_site_is_published_as_one_file_with_its_artefacts(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "static_index.html").write_text("<html>docs</html>", encoding="utf-8")
    (target / "manifest.json").write_text("{}", encoding="utf-8")
    (target / "catalog.json").write_text("{}", encoding="utf-8")
    out = tmp_path / "reports" / "dbt-docs"
    index = docs.publish_target(target, out)
    assert index == out / "index.html" and index.read_text(encoding="utf-8") == "<html>docs</html>"
    assert sorted(p.name for p in out.iterdir()) == ["catalog.json", "index.html", "manifest.json"]


def test_the_cosmos_callback_publishes_from_the_project_it_ran_in(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    project = tmp_path / "tmp_project"
    (project / "target").mkdir(parents=True)
    (project / "target" / "static_index.html").write_text("site", encoding="utf-8")
    index = docs.publish_dbt_docs(str(project), context={"ti": None})
    assert index == tmp_path / "data" / "reports" / "dbt-docs" / "index.html" == paths.docs_index()


def test_a_missing_static_site_is_an_error_naming_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="--static"):
        docs.publish_target(tmp_path)


def test_where_to_look_names_both_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    text = paths.where_to_look()
    assert f"{(tmp_path / 'reports' / 'dashboard.html').as_uri()}  (not written yet" in text
    paths.dashboard_path().parent.mkdir(parents=True)
    paths.dashboard_path().write_text("x", encoding="utf-8")
    lines = paths.where_to_look().splitlines()
    assert lines[0] == f"Dashboard 监测看板: {(tmp_path / 'reports' / 'dashboard.html').as_uri()}"
    assert lines[1].startswith("dbt docs 数据字典: file://") and "not written yet" in lines[1]
