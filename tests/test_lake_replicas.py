"""Two dashboard replicas on one DuckLake, behind the example nginx proxy, in headless Chromium.

deploy/nginx.conf is used as shipped, with only its three addresses replaced by
free ports. The page must render through the proxy (Streamlit's WebSocket
passes the upgrade headers) and each replica must serve it through the proxy:
with ip_hash every request from 127.0.0.1 goes to one replica, so the test
stops one replica at a time and checks the proxy fails over to the other.
"""
from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser_support import launch_chromium, wait_for_app
from tests.browser_support import DashboardServer, is_healthy
from tests.support import REPO_ROOT, free_port, import_sample

pytestmark = [pytest.mark.lake, pytest.mark.browser, pytest.mark.nginx, pytest.mark.slow]


def nginx_config(ports: tuple[int, int], listen: int, prefix: Path) -> Path:
    """deploy/nginx.conf with its example addresses replaced (each must occur exactly once)."""
    text = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (("server 127.0.0.1:8501;", f"server 127.0.0.1:{ports[0]};"),
                     ("server 127.0.0.1:8502;", f"server 127.0.0.1:{ports[1]};"),
                     ("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{listen};")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    for word in ("ip_hash", "proxy_set_header Upgrade $http_upgrade", "proxy_read_timeout"):
        assert word in text
    path = prefix / "nginx.conf"
    path.write_text(text)
    return path


def test_two_replicas_serve_the_dashboard_through_the_example_proxy(lake_target, nginx, chromium, tmp_path):
    import_sample(lake_target)

    ports = (free_port(), free_port())
    listen = free_port()
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    config = nginx_config(ports, listen, prefix)
    replicas = [DashboardServer(lake_target, port=p, env={"IOP_ALLOW_ANONYMOUS": "1"},
                                log_path=tmp_path / f"replica{i}.log", startup_timeout=120)
                for i, p in enumerate(ports)]
    proxy = None
    try:
        for r in replicas:
            r.start()
        proxy = subprocess.Popen(
            [nginx, "-c", str(config), "-p", str(prefix), "-e", str(prefix / "logs" / "error.log"),
             "-g", f"daemon off; pid {prefix / 'nginx.pid'};"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{listen}"
        deadline = time.monotonic() + 30
        while not is_healthy(url):
            assert proxy.poll() is None, proxy.stdout.read().decode()
            assert time.monotonic() < deadline, "the proxy did not answer"
            time.sleep(0.2)

        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = launch_chromium(pw, chromium)
            try:
                def load_through_proxy() -> None:
                    page = browser.new_context().new_page()
                    page.goto(url + "/", wait_until="domcontentloaded")
                    wait_for_app(page, timeout_ms=120_000, charts=True)
                    assert page.locator('[data-testid="stException"]').count() == 0
                    assert page.locator(".js-plotly-plot .main-svg").count() > 0
                    page.context.close()

                load_through_proxy()          # whichever replica 127.0.0.1 hashes to
                replicas[1].stop()
                load_through_proxy()          # only replica 0 is left
                replicas[1].start()
                replicas[0].stop()
                load_through_proxy()          # only replica 1 is left
            finally:
                browser.close()
        with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as response:
            assert response.status == 200
    finally:
        if proxy is not None:
            proxy.send_signal(signal.SIGQUIT)  # nginx's graceful stop, to the master's PID
            try:
                proxy.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proxy.kill()
                proxy.wait(timeout=5)
        for r in replicas:
            r.stop()
