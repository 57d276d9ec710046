"""What the fault tests share: generated exports, their row counts, and a store's figures to compare
before and after a fault."""
from __future__ import annotations

from pathlib import Path

from analytics.filters import Filters
from analytics.metrics.summary import summary
from analytics.store import Store


def generated_exports(out: Path, episodes: int, seed: int) -> Path:
    """out, holding the generator's enrollments.csv and sessions.csv for that many episodes."""
    from sample_data.generate import main

    assert main(["--episodes", str(episodes), "--seed", str(seed), "--out", str(out)]) == 0
    return out


def csv_rows(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle) - 1


def figures(target: str | Path) -> dict:
    store = Store(str(target))
    try:
        return summary(store, Filters()).to_dict()
    finally:
        store.close()
