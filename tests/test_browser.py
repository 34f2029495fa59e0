"""Open the built book in headless Chromium: title, figures, navigation, screenshots.

``make test`` builds the book before running pytest and installs Chromium when it is missing
(Debian package ``chromium``); where neither a build nor a browser is available the test is
skipped with the reason printed.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--allow-file-access-from-files"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Page:
    """A minimal Chrome DevTools Protocol client for one tab."""

    def __init__(self, ws_url: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=30)
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                state = self.eval("document.readyState")
                if state == "complete" and self.eval(
                        "Array.from(document.images).every(i => i.complete)"):
                    return
            except RuntimeError as e:  # the page is still being replaced: ask again
                if "navigated or closed" not in str(e):
                    raise
            time.sleep(0.2)
        raise TimeoutError(f"{url} did not finish loading")

    def eval(self, expr: str):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


@pytest.fixture(scope="module")
def page():
    if not (HTML / "index.html").is_file():
        pytest.skip(f"no built book at {HTML} (make test builds it first)")
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium is not installed and could not be installed here "
                    "(Debian: apt-get install chromium)")
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="cliprl-chromium-")
    proc = subprocess.Popen([exe, *FLAGS, f"--remote-debugging-port={port}",
                             f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, targets = time.time() + 30, None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
                    targets = [t for t in json.load(r) if t.get("type") == "page"]
                if targets:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert targets, "chromium did not open a page to drive"
        p = Page(targets[0]["webSocketDebuggerUrl"])
        p.call("Page.enable")
        yield p
        p.ws.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _check_nav_links(page: Page) -> list[str]:
    hrefs = page.eval("Array.from(document.querySelectorAll('nav.bd-links a, "
                      ".bd-sidebar-primary a.reference.internal')).map(a => a.href)")
    assert hrefs, "no navigation links found"
    missing = []
    for h in hrefs:
        u = urlparse(h)
        if u.scheme == "file" and not Path(unquote(u.path)).is_file():
            missing.append(h)
    return missing


def test_index_page_has_title_and_working_navigation(page):
    page.goto((HTML / "index.html").as_uri())  # a redirect to the root page
    deadline = time.time() + 15
    while "intro.html" not in (page.eval("location.href") or "") and time.time() < deadline:
        time.sleep(0.2)
    page.goto(page.eval("location.href"))
    assert "CLIP-RL" in page.eval("document.title")
    assert not _check_nav_links(page)
    page.screenshot(SHOTS / "index.png")
    assert (SHOTS / "index.png").stat().st_size > 10_000


def test_chapter_figures_are_loaded_images(page):
    chapter = HTML / "notebooks" / "01_environment.html"
    page.goto(chapter.as_uri())
    assert "goal grid world" in page.eval("document.title").lower()
    sizes = page.eval("Array.from(document.querySelectorAll('.cell_output img, "
                      ".output img')).map(i => [i.naturalWidth, i.naturalHeight])")
    assert len(sizes) >= 3, f"expected chapter figures, found {sizes}"
    assert all(w > 0 and h > 0 for w, h in sizes), sizes
    assert not _check_nav_links(page)
    page.eval("window.scrollTo(0, document.querySelector('.cell_output img')"
              ".getBoundingClientRect().top + window.scrollY - 100)")
    page.screenshot(SHOTS / "chapter-01.png")
    assert (SHOTS / "chapter-01.png").stat().st_size > 10_000
