"""Browser tests of the web console: a real `pendamping run` on the demo data (SQLite),
driven by Playwright in Debian's Chromium.

The browser is found at ``CHROMIUM_PATH`` or ``/usr/bin/chromium``; without one the
tests skip with the reason, unless ``REQUIRE_BROWSER_TESTS`` is set (as `.ci/run`
does, after installing it), when they fail. Screenshots at 360 px go to
``var/test-artifacts/screens``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_inbox_crash import PENDAMPING, free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "var" / "test-artifacts" / "screens"
LINK = re.compile(r"https?://\S+/masuk/[A-Za-z0-9_-]+")
PHONE_WIDTH = 360


def chromium() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Site:
    """A running `pendamping run` with the console (and the simulator) on the demo data."""

    base_url: str
    env: dict[str, str]
    folder: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def cli(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [str(PENDAMPING), *args], input=stdin.encode(), env=self.env,
            capture_output=True, timeout=120, check=False,
        )
        output = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, output
        return output

    def chat(self, who: str, *lines: str) -> str:
        """What the terminal chat printed for ``lines`` sent as staff member ``who``."""
        return self.cli("chat", "--as", who, stdin="\n".join(lines) + "\n")

    def link_from_chat(self, who: str) -> str:
        """A login link as a staff member gets it: /web in their chat."""
        found = LINK.search(self.chat(who, "/web"))
        assert found, "no link in the chat's answer"
        return found.group(0)

    def link_from_cli(self, who: str) -> str:
        found = LINK.search(self.cli("web-login", who))
        assert found
        return found.group(0)


def _wait_healthy(site: Site) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert site.process is not None and site.process.poll() is None, (
            (site.folder / "run.log").read_text()
        )
        try:
            if httpx.get(f"{site.base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the console did not start")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A fresh demo database and a `pendamping run` serving it, for one test module."""
    folder = tmp_path_factory.mktemp("console")
    port = free_port()
    env = {
        **os.environ,
        "PENDAMPING_CONFIG": "",
        "PENDAMPING_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'pendamping.db'}",
        "PENDAMPING_WEB_PORT": str(port),
        "PENDAMPING_WEB_SIMULATOR": "true",
        "PENDAMPING_WEB_SESSION_SECRET_FILE": str(folder / "web_secret"),
        "PENDAMPING_MEDIA_FOLDER": str(folder / "media"),
    }
    site = Site(f"http://127.0.0.1:{port}", env, folder)
    site.cli("init", "--demo")
    with (folder / "run.log").open("wb") as log:
        site.process = subprocess.Popen(
            [str(PENDAMPING), "run"], env=env, stdout=log, stderr=log, cwd=folder
        )
    try:
        _wait_healthy(site)
        yield site
    finally:
        site.process.terminate()
        try:
            site.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            site.process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one module's tests: Playwright's sync API runs an event loop of its
    own in this thread while it is started, so it is stopped at the module's end, before
    the asyncio tests of other folders run."""
    executable = chromium()
    if executable is None:
        if os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail("no Chromium found, and REQUIRE_BROWSER_TESTS is set")
        pytest.skip("no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def phone(browser: object) -> Iterator[object]:
    """A fresh browser context (no cookies) at a phone's width."""
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(
        viewport={"width": PHONE_WIDTH, "height": 780}, locale="id-ID", device_scale_factor=1
    )
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(page: object, name: str) -> Path:
    """A full-page screenshot kept as a test artifact."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_violations(page: object) -> list[str]:
    """What axe-core finds serious or critical on the page, one line per rule."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s)"
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


def sign_in(page: object, link: str) -> None:
    """Open a login link and confirm it, as a person does."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto(link)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/dasbor")
