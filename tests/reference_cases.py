"""What the reference tests share: the pandas figures run over the hand-worked cases in
tests/fixtures/<kind>/, with dates both as datetime64 and as date objects, and compared figure by
figure."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fixture_cases import load_case

from analytics.metrics.breakdowns import UnknownColumnError

ERRORS = {"UnknownColumnError": UnknownColumnError}


def assert_figures_equal(got, expected, where="") -> None:
    """Same keys, same counts, None where None, floats to 1e-12."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected), where
        for k in expected:
            assert_figures_equal(got[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_figures_equal(g, e, f"{where}[{i}]")
    elif expected is None:
        assert got is None, where
    elif isinstance(expected, int) and not isinstance(expected, bool):
        assert got == expected and isinstance(got, int) and not isinstance(got, bool), where
    else:
        assert isinstance(got, float), where
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), where


def with_date_objects(frame: pd.DataFrame) -> pd.DataFrame:
    """The same frame with its date columns as Python date objects (or None)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = pd.Series([None if pd.isna(v) else v.date() for v in out[col]], dtype=object,
                                 index=out.index)
    return out


def frames_with_dates(case, dates: str) -> dict[str, pd.DataFrame]:
    """The case's frames, their dates as datetime64 (dates="datetime64") or as date objects ("date")."""
    frames = dict(case.frames)
    if dates == "date":
        frames = {k: with_date_objects(v) for k, v in frames.items()}
    return frames


def each_case(paths: list[Path]) -> Callable:
    """Runs a test (arguments path, dates) once per case file and per representation of dates."""
    def parametrized(test: Callable) -> Callable:
        test = pytest.mark.parametrize("path", paths, ids=[p.stem for p in paths])(test)
        return pytest.mark.parametrize("dates", ["datetime64", "date"])(test)
    return parametrized


def check_hand_worked_case(path: Path, compute: Callable[[Any], dict], check_shape: Callable[[Any, dict], None]) -> None:
    """The case at path: compute(case) raises the error it expects, or gives figures of the shape
    check_shape asserts and equal to its expected ones."""
    case = load_case(path)
    if case.expected_error:
        with pytest.raises(ERRORS[case.expected_error]):
            compute(case)
        return
    got = compute(case)
    check_shape(case, got)
    assert_figures_equal(got, dict(case.expected), case.name)
