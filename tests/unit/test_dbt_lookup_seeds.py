"""The dbt lookup seeds that map feed values to targets agree with the feed contracts and the catalogue.

No database: these read the seed CSVs and the contracts only. A vaccine the
contract accepts but the seed lacks would break dim_vaccine's relationships; a
self-sufficiency series mapped to a missing or wrong target would silently
vanish from the attainment mart.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hzwh.feeds.contracts import VACCINES, get_contract

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"

# FEEDS.md §4: the fixed ids and the (area, product) series that measure them.
FIXED_SUPPLY_TARGETS = {
    "sup_main_urban_vegetable_self_sufficiency": ("main_urban", "vegetables", "main_urban", "main_urban_area"),
    "sup_main_urban_leafy_vegetable_self_sufficiency": (
        "main_urban",
        "leafy_vegetables",
        "main_urban",
        "main_urban_area",
    ),
    "sup_livestock_poultry_self_sufficiency": ("city", "livestock_poultry", "330100", "city"),
    "sup_aquatic_self_sufficiency": ("city", "aquatic", "330100", "city"),
}


def _rows(name: str) -> list[dict[str, str]]:
    with open(SEEDS / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_vaccines_seed_lists_exactly_the_contract_vaccines():
    rows = _rows("vaccines")
    assert [r["code"] for r in rows] == list(VACCINES)
    assert all(r["name_zh"].strip() and r["name_en"].strip() for r in rows)


def test_self_sufficiency_seed_maps_the_fixed_targets():
    rows = _rows("self_sufficiency_targets")
    mapping = {r["target_id"]: (r["area"], r["product"], r["geo_code"], r["geo_level"]) for r in rows}
    assert len(mapping) == len(rows)
    assert mapping == FIXED_SUPPLY_TARGETS


def test_self_sufficiency_seed_uses_contract_values_and_catalogue_targets():
    contract = get_contract("vegetable_supply")
    catalogue = {r["target_id"]: r for r in _rows("target_catalogue")}
    for r in _rows("self_sufficiency_targets"):
        assert r["area"] in contract.column("area").allowed
        assert r["product"] in contract.column("product").allowed
        target = catalogue[r["target_id"]]
        assert target["feed"] == "vegetable_supply"
        assert target["scope"] == ("main_urban_area" if r["geo_code"] == "main_urban" else "city")
