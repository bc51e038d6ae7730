"""expectations/ holds the generated suites as JSON; they must match what the code builds from the catalogue."""

from __future__ import annotations

import json

from hzwh.validation.export import EXPECTATIONS_DIR, rendered_suites


def test_exported_suites_are_current():
    for relative, text in rendered_suites().items():
        path = EXPECTATIONS_DIR / relative
        assert path.exists(), f"{path} missing: run `python -m hzwh export-suites`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `python -m hzwh export-suites`"


def test_attainment_suite_has_one_expectation_per_catalogue_target():
    suite = json.loads((EXPECTATIONS_DIR / "attainment" / "target_attainment.json").read_text(encoding="utf-8"))
    ids = [e["meta"]["target_id"] for e in suite["expectations"]]
    assert len(ids) == len(set(ids)) >= 100
    medical = next(e for e in suite["expectations"] if e["meta"]["target_id"] == "ss_resident_medical_enrollment_rate")
    assert medical["kwargs"]["min_value"] == 0.95
