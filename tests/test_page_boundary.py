"""The pages call analytics functions by reference through ui.data, and every result a page
shows has its small-cell suppression declared beside its function (or fails closed)."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pandas as pd
import pytest

from analytics.filters import Filters, Scope
from analytics.metrics import sessions, summary
from analytics.privacy.suppression import NoSuppressionRule, suppression_of
from analytics.qi import periods

REPO_ROOT = Path(__file__).resolve().parent.parent
ANALYST = Scope(suppressed_only=True, patient_level=False, actor="analyst@example.org", role="analyst")


def page_queries() -> list[tuple[str, str, str]]:
    """(page, module, function) for every data.query(ctx, module.function, ...) call in pages/."""
    found = []
    for page in sorted((REPO_ROOT / "pages").glob("*.py")):
        tree = ast.parse(page.read_text(encoding="utf-8"))
        modules = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analytics"):
                for alias in node.names:
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "query"
                    and getattr(node.func.value, "id", None) == "data"):
                fn = node.args[1]
                assert isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name), \
                    f"{page.name}: data.query takes an analytics function by reference"
                found.append((page.name, modules[fn.value.id], fn.attr))
    return found


def test_pages_query_by_reference():
    assert len(page_queries()) > 20


@pytest.mark.parametrize("page,module,name", page_queries())
def test_every_queried_result_declares_its_suppression(page, module, name):
    fn = getattr(importlib.import_module(module), name)
    assert suppression_of(fn) is not None, f"{page}: {module}.{name} declares no suppression"


def test_functions_typed_to_take_the_store_are_called_with_it():
    from ui.data import reads_store

    assert reads_store(periods.compare_months) and reads_store(summary.summary)
    assert not reads_store(sessions.rates_by)


def test_a_result_without_a_declaration_fails_closed_for_an_analyst(sample_store_path):
    from ui.data import call

    def undeclared(cur) -> pd.DataFrame:
        return cur.execute("SELECT site, count(*) AS episodes FROM main.selected_episodes() GROUP BY site").df()

    assert not call(sample_store_path, Filters(), Scope(), undeclared).empty  # a director sees it
    with pytest.raises(NoSuppressionRule):
        call(sample_store_path, Filters(), ANALYST, undeclared)


def test_a_table_without_a_declaration_has_no_download():
    from ui.widgets import table_spec

    with pytest.raises(NoSuppressionRule):
        table_spec(lambda cur: None)
    assert table_spec(sessions.rates_by, "month") is suppression_of(sessions.rates_by).spec
