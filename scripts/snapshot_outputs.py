"""Save every figure the project produces, so a refactoring can prove it changed none of them.

    .venv/bin/python scripts/snapshot_outputs.py OUT_DIR [--generated STORE]

Writes OUT_DIR/metrics.json (the metrics command for several filter sets),
OUT_DIR/packet.json (the packet's figure data and table cells) and
OUT_DIR/pages.json (each page's tiles, tables and chart data under AppTest).
Only the public ways in are used (the CLI and the page files), so the same
script runs before and after a change to the code's layout. Compare two
snapshots with `diff -r` or `python -m json.tool`.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGES = ("overview", "retention", "attendance", "therapy_mix", "qi", "data")
# (label, metrics arguments) per store
SAMPLE_VIEWS = (("whole", []), ("site", ["--site", "Northgate"]), ("as_of", ["--as-of", "2025-06-30"]),
                ("program_filter", ["--program", "Adult IOP", "--filter", "payer=Medicaid"]))
GENERATED_VIEWS = (("whole", []), ("site", ["--site", "Northgate"]), ("as_of", ["--as-of", "2024-06-30"]))


def _python(*args: str, env: dict | None = None) -> str:
    done = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=True)
    return done.stdout


def metrics(store: str | None, views) -> dict:
    out = {}
    for label, extra in views:
        args = ["-m", "analytics", "metrics", "--format", "json", *extra]
        if store:
            args += ["--db", store]
        out[label] = json.loads(_python(*args))
    return out


_NEWPLOT = re.compile(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{"displaylogo"', re.S)
_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)
_TAG = re.compile(r"<[^>]+>")


def packet(store: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "packet.html"
        _python("-m", "analytics", "report", "--db", store, "--out", str(out))
        text = out.read_text(encoding="utf-8")
    figures = [{"data": json.loads(d), "layout": json.loads(l)} for d, l in _NEWPLOT.findall(text)]
    for fig in figures:
        fig["layout"].pop("template", None)
    body = text[text.find("<body>"):]
    cells = [html.unescape(_TAG.sub("", c)).strip() for c in _CELL.findall(body)]
    # the generated-at line changes with every run
    cells = [c for c in cells if not re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", c)]
    notes = [html.unescape(_TAG.sub("", n)).strip() for n in re.findall(r"<li>(.*?)</li>", body.split(
        "Definitions</h2>")[0], re.S)]
    return {"figures": figures, "cells": cells, "notes": notes}


def pages(store: str) -> dict:
    from streamlit.testing.v1 import AppTest

    os.environ["IOP_DB"] = store
    sys.path.insert(0, str(REPO_ROOT))  # the pages import analytics and ui from the repository root
    os.chdir(REPO_ROOT)
    out = {}
    for page in PAGES:
        at = AppTest.from_file(str(REPO_ROOT / "pages" / f"{page}.py"), default_timeout=300).run()
        charts = []
        for c in at.get("plotly_chart"):
            spec = json.loads(c.proto.spec)
            spec.get("layout", {}).pop("template", None)
            charts.append({"data": spec.get("data"), "layout": spec.get("layout")})
        frames = []
        for d in list(at.dataframe) + list(at.table):
            df = d.value
            frames.append(json.loads(df.to_json(orient="split", date_format="iso", default_handler=str)))
        out[page] = {
            "exceptions": [e.value for e in at.exception],
            "metrics": [[m.label, m.value, getattr(m, "delta", None)] for m in at.metric],
            "frames": frames,
            "charts": charts,
            "text": [t.value for t in at.text],
        }
    return out


def _build_sample(path: str) -> None:
    """The bundled sample store at path, marked as the sample (so local mode opens it)."""
    code = ("import sys\n"
            "try:\n    from analytics.ingest.sample_store import ensure_sample_store\n"
            "except ImportError:\n    from analytics.ingest.sample_store import ensure_sample_store\n"
            "ensure_sample_store(sys.argv[1])\n")
    _python("-c", code, path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--generated", default=None, help="a store built from sample_data.generate")
    parser.add_argument("--sample", required=True, help="where to build (or find) the sample store")
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sample = str(Path(args.sample).resolve())
    if not Path(sample).exists():
        _build_sample(sample)
    result = {"sample": metrics(sample, SAMPLE_VIEWS)}
    if args.generated:
        result["generated"] = metrics(args.generated, GENERATED_VIEWS)
    (args.out / "metrics.json").write_text(json.dumps(result, indent=1, sort_keys=True))
    (args.out / "packet.json").write_text(json.dumps(packet(sample), indent=1, sort_keys=True))
    if not args.skip_pages:
        (args.out / "pages.json").write_text(json.dumps(pages(sample), indent=1, sort_keys=True, default=str))
    broken = {p: v["exceptions"] for p, v in (json.loads((args.out / "pages.json").read_text()).items()
                                              if not args.skip_pages else ()) if v["exceptions"]}
    if broken:
        print(f"pages raised: {broken}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
