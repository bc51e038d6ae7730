"""Township-level `plan_indicators` files for the scale benchmark: every catalogue target x ~200 townships x month.

`hzwh.demo.generate` reports plan indicators at the target's own scope (330100
or the districts); a warehouse at ten years of township data needs more. Here
each of the 13 districts of 2012 has `per_district` townships (16 by default:
208 in all). A township code is 9 digits: the 6-digit code of its district
valid at the month's end, then a 3-digit number unique in the city, so that a
township keeps its number when its district is renamed (富阳市 330183 became
富阳区 330111 in December 2014, 临安 330185 became 330112 in August 2017, and
in April 2021 下城 330103 went into 拱墅 330105 and 江干 330104 into 上城 330102)
and every code passes the feed's validity check in every month.

Values, per target and township, around the catalogue's threshold:
cumulative targets a year-to-date figure that rises through each year towards
the township's share of the target (a few fall short, so the city roll-up
breaches in some Decembers); level targets a level near the threshold, on the
wrong side for about one township in five. Deterministic for a seed.

    python bench/townships.py OUT_DIR [--first 2012-01] [--months 120] [--per-district 16]
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hzwh.feeds.reference import SEEDS

FEED = "plan_indicators"
DISTRICTS_2012 = ("330102", "330103", "330104", "330105", "330106", "330108", "330109", "330110", "330122",
                  "330127", "330182", "330183", "330185")
# (2012 code, successor, first month whose month-end falls under the successor)
RECODED = (("330183", "330111", "2014-12"), ("330185", "330112", "2017-08"),
           ("330103", "330105", "2021-04"), ("330104", "330102", "2021-04"))


@dataclass(frozen=True)
class Target:
    target_id: str
    comparator: str
    value: float
    measure_kind: str
    bureau: str


def plan_targets() -> list[Target]:
    with open(SEEDS / "target_catalogue.csv", encoding="utf-8", newline="") as fh:
        return [
            Target(r["target_id"], r["comparator"], float(r["target_value"]), r["measure_kind"],
                   r["responsible_bureau"])
            for r in csv.DictReader(fh)
            if r["feed"] == FEED
        ]


def district_at(code_2012: str, period: str) -> str:
    for old, new, since in RECODED:
        if code_2012 == old and period >= since:
            return new
    return code_2012


def township_codes(period: str, per_district: int) -> list[str]:
    codes = []
    number = 0
    for district in DISTRICTS_2012:
        prefix = district_at(district, period)
        for _ in range(per_district):
            number += 1
            codes.append(f"{prefix}{number:03d}")
    return codes


def periods(first: str, months: int) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    out = []
    for i in range(months):
        y, m = year + (month - 1 + i) // 12, (month - 1 + i) % 12 + 1
        out.append(f"{y}-{m:02d}")
    return out


class TownshipFeed:
    """Draws the whole series once per target x township, so any month's file can be written on its own."""

    def __init__(self, per_district: int = 16, seed: int = 2012) -> None:
        self.per_district = per_district
        self.targets = plan_targets()
        self.townships = len(DISTRICTS_2012) * per_district
        rng = np.random.default_rng(seed)
        shape = (len(self.targets), self.townships)
        # Each township's share of a cumulative target (sums to ~1.04 x the target; ~15 % of years fall short).
        self.share = rng.dirichlet(np.ones(self.townships), size=len(self.targets)) * 1.04
        self.pace = rng.uniform(0.85, 1.25, shape)
        # Level targets: a fixed offset from the threshold, negative (a miss) for about one in five.
        self.offset = rng.normal(0.03, 0.025, shape)
        self.seed = seed

    def rows(self, period: str) -> list[tuple[str, str, str, str, str]]:
        year, month = int(period[:4]), int(period[5:7])
        rng = np.random.default_rng([self.seed, year])  # the year's own draws: any month is reproducible alone
        shortfall = np.where(rng.random(len(self.targets)) < 0.15, rng.uniform(0.85, 0.97, len(self.targets)), 1.0)
        growth = 1 + 0.03 * (year - 2012)
        noise = rng.normal(0, 0.01, (12, len(self.targets), self.townships))[month - 1]
        codes = township_codes(period, self.per_district)
        out = []
        for i, target in enumerate(self.targets):
            if target.measure_kind == "cumulative":
                ytd = target.value * growth * shortfall[i] * self.share[i] * (month / 12) ** self.pace[i]
                values = np.round(ytd, 2)
            elif target.comparator == "==":
                values = np.where(self.offset[i] < -0.01, target.value + 1, target.value)
            else:
                sign = 1 if target.comparator == ">=" else -1
                base = target.value if target.value else 1.0
                values = target.value + sign * base * (self.offset[i] + noise[i] * 0.2)
                if target.value <= 1 and target.comparator == ">=":
                    values = np.minimum(values, 1.0)
                values = np.round(np.maximum(values, 0), 6)
            out.extend(
                (period, target.target_id, code, _text(v), target.bureau)
                for code, v in zip(codes, values.tolist(), strict=True)
            )
        return out

    def write(self, folder: Path, period: str, suffix: str | None = None, rows=None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{FEED}_{period.replace('-', '')}{'_' + suffix if suffix else ''}.csv"
        path = folder / name
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write("period,target_id,geo_code,value,reported_by\n")
            fh.writelines(",".join(r) + "\n" for r in (rows if rows is not None else self.rows(period)))
        return path

    def revision(self, period: str, share: float = 0.05, seed: int = 1) -> list[tuple[str, str, str, str, str]]:
        """A later file for a past month: `share` of its keys again, their values raised by 3 %."""
        rng = np.random.default_rng(seed)
        rows = self.rows(period)
        picked = np.flatnonzero(rng.random(len(rows)) < share)
        return [(p, t, g, _text(round(float(v) * 1.03, 6)), b) for p, t, g, v, b in (rows[i] for i in picked)]


def _text(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--first", default="2012-01")
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--per-district", type=int, default=16)
    args = parser.parse_args()
    feed = TownshipFeed(args.per_district)
    for period in periods(args.first, args.months):
        print(feed.write(args.out / FEED, period))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
