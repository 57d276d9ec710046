"""QI targets from config/iop.toml [targets]: red/amber/green status and the lines drawn on charts.

A target is met (green) when `value op target` holds. A miss within
amber_margin of the target is amber; any other miss is red. Values that are
missing (None/NaN, or a suppressed cell) have no status.

>>> status("no_show_rate", 0.22)   # target < 0.20, amber margin 0.05
'amber'
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass

from analytics import config

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
# Plain words for the tiles and the packet.
_OP_WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below"}


@dataclass(frozen=True)
class Target:
    metric: str
    op: str
    value: float
    amber_margin: float

    @property
    def higher_is_better(self) -> bool:
        return self.op in (">=", ">")

    def describe(self, percent: bool = True) -> str:
        """'target: at least 80%'"""
        shown = f"{100 * self.value:.0f}%" if percent else f"{self.value:g}"
        return f"target: {_OP_WORDS[self.op]} {shown}"


def targets() -> dict[str, Target]:
    """Every target in the config, by metric name."""
    out: dict[str, Target] = {}
    for metric, spec in config.settings().get("targets", {}).items():
        op = spec.get("op", ">=")
        if op not in _OPS:
            raise ValueError(f"config [targets] {metric}: op must be one of {sorted(_OPS)}, not {op!r}")
        out[metric] = Target(metric, op, float(spec["value"]), float(spec.get("amber_margin", 0.0)))
    return out


def target_for(metric: str) -> Target | None:
    return targets().get(metric)


def status(metric: str, value: object) -> str | None:
    """'green', 'amber' or 'red' for a metric's value; None without a target or a number."""
    target = target_for(metric)
    if target is None or value is None or isinstance(value, str):
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if _OPS[target.op](value, target.value):
        return "green"
    gap = (target.value - value) if target.higher_is_better else (value - target.value)
    # a value exactly on a strict target ('< 0.20' with 0.20) misses by 0: amber
    return "amber" if gap <= target.amber_margin + 1e-12 else "red"


def dose_hours_target(programs: list[str] | tuple[str, ...]) -> float | None:
    """The weekly-hours target shared by these programs (ASAM 2.1: 9 adults, 6 adolescents),
    or None when they differ, so a mixed chart draws no misleading line."""
    hours = {config.dose_target_hours(p) for p in programs}
    return hours.pop() if len(hours) == 1 else None
