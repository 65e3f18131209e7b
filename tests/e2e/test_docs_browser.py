"""`/docs` in a real headless Chromium: Swagger UI renders from this server's own assets (every
request the page makes goes to Twelve, none to a CDN) and offers the Authorize button.

Needs Chromium (`apt-get install chromium`) and the `playwright` package; without them the test
says so and skips — `tests/app/test_openapi.py` still checks the page and its assets over HTTP.
"""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest

from tests.e2e.server import TwelveServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_swagger_ui_renders_offline(server: TwelveServer) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    hosts: set[str] = set()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
            page.goto(f"{server.base_url}/docs", wait_until="networkidle")
            page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
            authorize = page.locator("button.authorize").count()
            operations = page.locator(".opblock-summary-path").all_inner_texts()
        finally:
            browser.close()
    assert authorize == 1  # bearer auth declared: Swagger UI offers to set the keys
    assert hosts == {urlsplit(server.base_url).netloc}, hosts
    assert any("/v1/chat/completions" in op for op in operations), operations
    assert any("/admin/v1/keys" in op for op in operations), operations
