"""Benchmark: what a director feels in a real browser when choosing a site in the sidebar.

`streamlit run dashboard.py` on the bundled 400-episode sample (or --db), driven
by headless Chromium through Playwright. For each page, a site is chosen in the
sidebar's Sites filter and the clock runs from the click until Streamlit reports
that the script has finished (the `data-test-script-state` attribute of the app
element back at "notRunning") and every chart is drawn (each stPlotlyChart holds a
drawn Plotly SVG and nothing in the main area has changed for QUIET_MS). The same
is measured for clearing the filter again. Every result is cached on the server
first (each site chosen once before timing), as in the issue's "server-side run
with cached data".

Per click it prints, besides the two wall times:
- the server's CPU (the Streamlit process, all threads) and the browser's CPU
  (every Chromium process of that browser), which move less with the load of a
  shared machine than the wall times;
- the bytes the server sent over the WebSocket, and the browser main thread's
  time in script, layout and style (Chrome's Performance metrics);
- peak RSS of the server and of the browser.

A/B: give --tree twice (two checkouts, e.g. a `git worktree` of the code before);
each gets its own server and browser, and the clicks alternate between them, so a
load that comes and goes affects both alike.

    .venv/bin/python benchmarks/bench_browser.py                       # every page, this tree
    .venv/bin/python benchmarks/bench_browser.py --page overview --clicks 20
    .venv/bin/python benchmarks/bench_browser.py --tree /tmp/before --tree . --clicks 10

Target (2 cores): at most 1 s from the click until the script has finished and every
chart is drawn, on the 400-episode sample. Nothing is asserted; figures are printed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# url path -> the page's heading (the sample's pages; a tree without one of them skips it)
PAGES = {
    "overview": "IOP outcomes overview",
    "retention": "Retention",
    "attendance": "Attendance and session completion",
    "therapy_mix": "Therapy mix",
    "outcomes": "Clinical outcomes",
    "access": "Access and early engagement",
    "qi": "QI meeting",
    "data": "Data",
}
SITES = ("Hillcrest", "Lakeview")  # two sites of the bundled sample, chosen in turn
QUIET_MS = 700  # nothing in the main area changed for this long: the page has settled
TIMEOUT_MS = 120_000

# Installed once per page: timestamps of the click, of each script-state change and of
# the last change in the main area.
# Before the app loads: the arrival time of every message from the server.
WEBSOCKET_HOOK = """
(() => {
  const Original = window.WebSocket;
  window.__messages = [];
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => window.__messages.push(performance.now()));
    }
  };
})();
"""
# Installed once per page: when the click came, each script-state change, the last change to the page.
OBSERVE = """
() => {
  window.__bench = {click: 0, last: performance.now(), states: []};
  document.addEventListener('click', () => { window.__bench.click = performance.now(); }, true);
  // On the whole document, so an element that React replaces is still seen.
  new MutationObserver(() => { window.__bench.last = performance.now(); })
    .observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  new MutationObserver(records => {
    const now = performance.now();
    for (const r of records) window.__bench.states.push([r.target.getAttribute(r.attributeName), now]);
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
}
"""
# Settled: the server answered the click, the app says the script is not running, nothing arrived
# or changed for a while, and every chart holds a drawn Plotly SVG. (A quick run can go from
# notRunning to running and back within one React render, so "running" may never show.)
SETTLED = """
(quiet) => {
  const b = window.__bench, now = performance.now();
  const answered = window.__messages.filter(t => t > b.click);
  return answered.length > 0
      && now - answered[answered.length - 1] > quiet && now - b.last > quiet
      && document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state') === 'notRunning'
      && Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).every(c => c.querySelector('.main-svg'));
}
"""
# (click, when the run was reported finished, the last change to the page) in page time: finished
# is the last switch to notRunning after the click, else the last message (the run's end).
TIMES = """
() => {
  const b = window.__bench;
  const done = b.states.filter(s => s[0] === 'notRunning' && s[1] > b.click).map(s => s[1]);
  const messages = window.__messages.filter(t => t > b.click);
  const finished = done.length ? done[done.length - 1] : messages[messages.length - 1];
  return [b.click, finished, Math.max(b.last, finished)];
}
"""

@dataclass
class Side:
    """One tree under test: its server, browser, page and the figures gathered."""

    label: str
    tree: Path
    store: Path
    env: dict = field(default_factory=dict)
    server: object = None
    browser: object = None
    browser_pids: set = field(default_factory=set)
    page: object = None
    cdp: object = None
    frames: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    threads: dict = field(default_factory=dict)
    peak_server_mb: float = 0.0
    peak_browser_mb: float = 0.0


def _label(tree: Path) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return f"{tree.name}@{rev}{'+' if dirty else ''}"
    except (subprocess.CalledProcessError, FileNotFoundError):
        return tree.name


def _chromium_pids(psutil) -> set[int]:
    me = psutil.Process()
    return {p.pid for p in me.children(recursive=True) if "chrom" in (p.name() or "").lower()}


def _process_kind(proc) -> str:
    """'renderer', 'gpu-process', 'utility', ... from Chromium's --type= flag; 'browser' without one."""
    for arg in proc.cmdline():
        if arg.startswith("--type="):
            return arg.split("=", 1)[1]
    return "browser"


def _cpu_by_kind(psutil, pids: set[int]) -> dict[str, float]:
    """CPU seconds so far of each process kind among pids."""
    out: dict[str, float] = {}
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            t = proc.cpu_times()
            kind = _process_kind(proc)
        except psutil.NoSuchProcess:
            continue
        out[kind] = out.get(kind, 0.0) + t.user + t.system
    return out


def _cpu_by_thread(pids: set[int]) -> dict[str, float]:
    """CPU seconds so far of each thread name (Linux /proc) among pids: where a browser spends it."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _cpu_seconds(psutil, pids: set[int]) -> float:
    return sum(_cpu_by_kind(psutil, pids).values())


def _rss_mb(psutil, pids: set[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def _metrics(side: Side) -> dict[str, float]:
    return {m["name"]: m["value"] for m in side.cdp.send("Performance.getMetrics")["metrics"]}


def start(side: Side, playwright, chromium: str, psutil) -> None:
    from analytics.report.packet import CHROMIUM_ARGS
    from tests.browser_support import DashboardServer

    side.server = DashboardServer(side.store, root=side.tree, env=side.env, log_path=side.store.with_suffix(".log"))
    side.server.start()
    before = _chromium_pids(psutil)
    side.browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
    context = side.browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(WEBSOCKET_HOOK)
    side.page = context.new_page()
    side.page.set_default_timeout(TIMEOUT_MS)
    side.browser_pids = _chromium_pids(psutil) - before
    side.cdp = context.new_cdp_session(side.page)
    side.cdp.send("Performance.enable")
    side.page.on("websocket", lambda ws: ws.on("framereceived", lambda f: side.frames.append(len(f))))


def open_page(side: Side, path: str) -> bool:
    from tests.browser_support import wait_for_app

    side.page.goto(f"{side.server.url}/{path}")
    try:
        wait_for_app(side.page, heading=PAGES.get(path, "Element costs"), timeout_ms=TIMEOUT_MS, charts=False)
    except Exception:  # noqa: BLE001 - a tree without this page: skip it, say so
        print(f"  {side.label}: /{path} did not open; skipped", flush=True)
        return False
    side.page.evaluate(OBSERVE)
    return True


def _sites_box(side: Side):
    return side.page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first


def choose(site: str):
    def act(side: Side) -> None:
        box = _sites_box(side)
        box.click()
        side.page.locator('[role="option"]').filter(has_text=site).first.click()
        side.page.keyboard.press("Escape")
    return act


def clear(side: Side) -> None:
    _sites_box(side).locator('[aria-label="Clear all"], svg[title="Clear all"]').first.click()


def timed(side: Side, act, what: str, psutil, record: bool = True) -> None:
    """Do act (a click), wait until the run has finished and the page settled; record the figures."""
    page = side.page
    page.evaluate("() => { window.__bench.states = []; }")
    frames = len(side.frames)
    server_pids = {side.server.proc.pid}
    cpu0 = _cpu_seconds(psutil, server_pids), _cpu_by_kind(psutil, side.browser_pids)
    m0 = _metrics(side)
    threads0 = _cpu_by_thread(side.browser_pids)
    act(side)
    page.wait_for_function(SETTLED, arg=QUIET_MS, timeout=TIMEOUT_MS, polling=50)
    click, finished, drawn = page.evaluate(TIMES)
    cpu1 = _cpu_seconds(psutil, server_pids), _cpu_by_kind(psutil, side.browser_pids)
    m1 = _metrics(side)
    threads1 = _cpu_by_thread(side.browser_pids)
    side.peak_server_mb = max(side.peak_server_mb, _rss_mb(psutil, server_pids))
    side.peak_browser_mb = max(side.peak_browser_mb, _rss_mb(psutil, side.browser_pids))
    if not record:
        return
    for name, seconds in threads1.items():
        side.threads[name] = side.threads.get(name, 0.0) + seconds - threads0.get(name, 0.0)
    row = {
        "what": what,
        "finished": finished - click,
        "drawn": drawn - click,
        "server_cpu": (cpu1[0] - cpu0[0]) * 1000,
        "browser_cpu": (sum(cpu1[1].values()) - sum(cpu0[1].values())) * 1000,
        "renderer_cpu": (cpu1[1].get("renderer", 0) - cpu0[1].get("renderer", 0)) * 1000,
        "gpu_cpu": (cpu1[1].get("gpu-process", 0) - cpu0[1].get("gpu-process", 0)) * 1000,
        "bytes": sum(side.frames[frames:]),
        "script": (m1["ScriptDuration"] - m0["ScriptDuration"]) * 1000,
        "layout": (m1["LayoutDuration"] - m0["LayoutDuration"] + m1["RecalcStyleDuration"]
                   - m0["RecalcStyleDuration"]) * 1000,
        "charts": page.locator('[data-testid="stPlotlyChart"]').count(),
        "elements": page.locator('[data-testid="stMain"] [data-testid="stElementContainer"]').count(),
    }
    side.rows.append(row)


COLUMNS = (("finished", "ms"), ("drawn", "ms"), ("server_cpu", "ms"), ("browser_cpu", "ms"),
           ("renderer_cpu", "ms"), ("gpu_cpu", "ms"), ("script", "ms"), ("layout", "ms"), ("bytes", "B"))


def report(path: str, sides: list[Side]) -> None:
    print(f"\n/{path}: median [min-max] per click (site chosen, then cleared)")
    for side in sides:
        rows = side.rows
        if not rows:
            continue
        cells = []
        for name, unit in COLUMNS:
            values = [r[name] for r in rows]
            cells.append(f"{name} {statistics.median(values):.0f} [{min(values):.0f}-{max(values):.0f}] {unit}")
        print(f"  {side.label} n={len(rows)} charts={rows[-1]['charts']} elements={rows[-1]['elements']}")
        print("    " + "; ".join(cells))
        busiest = sorted(side.threads.items(), key=lambda kv: -kv[1])[:6]
        print("    browser CPU by thread, per click: " + ", ".join(
            f"{name} {seconds * 1000 / len(rows):.0f} ms" for name, seconds in busiest))
        print(f"    peak RSS: server {side.peak_server_mb:.0f} MB, browser {side.peak_browser_mb:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", default=[], metavar="PATH[,NAME=VALUE...]",
                        help="a checkout to serve, with environment variables for its server "
                             "(give two for A/B); default: this repository")
    parser.add_argument("--db", type=Path, default=None, help="a store (copied per tree); default: the sample")
    parser.add_argument("--page", action="append", choices=list(PAGES), default=[],
                        help="page(s) to time (default: every page)")
    parser.add_argument("--clicks", type=int, default=6, help="site choices timed per page and tree")
    parser.add_argument("--elements", default=None, metavar="KIND,...",
                        help="instead of the dashboard, serve browser_elements_app.py with --count elements of "
                             "each kind (metric, caption, markdown, expander, dataframe, plotly, plotly-untheme; "
                             "KIND:VARIANT, e.g. plotly:static, plotly:nomodebar, times only --count of it)")
    parser.add_argument("--count", type=int, default=30, help="elements per kind with --elements")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    import psutil
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    trees = []
    if args.elements:
        # The element page as the main script of a tree of its own; each kind twice: none and --count.
        app = work / "elements"
        app.mkdir()
        shutil.copy(os.environ.get("BENCH_APP", REPO / "benchmarks" / "browser_elements_app.py"), app / "dashboard.py")
        shutil.copytree(REPO / ".streamlit", app / ".streamlit", ignore=shutil.ignore_patterns("secrets*"))
        for kind in args.elements.split(","):
            kind, _, variant = kind.partition(":")
            theme = "none" if kind.endswith("-untheme") else "streamlit"
            for count in ((0, args.count) if not variant else (args.count,)):
                trees.append((app, {"BENCH_KIND": kind.removesuffix("-untheme"), "BENCH_COUNT": str(count),
                                    "BENCH_THEME": theme, "BENCH_VARIANT": variant}))
        pages = [""]
    else:
        for spec in args.tree or [str(REPO)]:
            path, *pairs = spec.split(",")
            trees.append((Path(path).resolve(), dict(p.split("=", 1) for p in pairs)))
        pages = args.page or list(PAGES)
    try:
        if args.db is None:
            from analytics.ingest.sample_store import ensure_sample_store

            source = work / "sample.duckdb"
            ensure_sample_store(source)
        else:
            source = args.db
        sides = []
        for i, (tree, env) in enumerate(trees):
            store = work / f"store{i}.duckdb"
            shutil.copy(source, store)
            label = f"{i}:{_label(tree)}" + "".join(f",{k}={v}" for k, v in env.items())
            sides.append(Side(label=label, tree=tree, store=store, env=env))
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.clicks} clicks per page "
              f"and tree; store {args.db or 'the bundled sample'}", flush=True)
        with sync_playwright() as playwright:
            for side in sides:
                start(side, playwright, args.chromium, psutil)
            try:
                for path in pages:
                    live = [s for s in sides if open_page(s, path)]
                    for side in live:
                        side.rows, side.threads = [], {}
                        for site in SITES:  # every result cached on the server first
                            timed(side, choose(site), site, psutil, record=False)
                            timed(side, clear, "clear", psutil, record=False)
                    for n in range(args.clicks):
                        site = SITES[n % len(SITES)]
                        for side in (live if n % 2 == 0 else live[::-1]):
                            timed(side, choose(site), site, psutil)
                            timed(side, clear, "clear", psutil)
                    report(path, live)
            finally:
                for side in sides:
                    side.browser.close()
                    side.server.stop()
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
