"""Open every page of the built book in headless Chromium through Selenium and the system
chromedriver: figures load, math is typeset by the MathJax served with the site, internal
links resolve, exercises render, and a screenshot of each page lands in _build/screenshots/.

``make test`` builds the book before running pytest and installs Chromium and chromedriver
(Debian packages ``chromium``, ``chromium-driver``) when they are missing; where neither a
build nor a browser is available the test is skipped with the reason printed.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--allow-file-access-from-files"]


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


PAGES = _toc_pages()


def _which(*names: str) -> str | None:
    for name in names:
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    if not (HTML / "index.html").is_file():
        pytest.skip(f"no built book at {HTML} (make test builds it first)")
    chromium = _which("chromium", "chromium-browser")
    driver_exe = _which("chromedriver") or (
        "/usr/lib/chromium/chromedriver" if Path("/usr/lib/chromium/chromedriver").is_file()
        else None)
    if chromium is None or driver_exe is None:
        pytest.skip("chromium and chromedriver are needed (Debian: apt-get install chromium "
                    "chromium-driver); make test installs them where it can")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cliprl-chromium-")
    options = Options()
    options.binary_location = chromium
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    # an explicit driver path: Selenium Manager never tries to download one
    driver = webdriver.Chrome(service=Service(executable_path=driver_exe), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _load(driver, page: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get((HTML / f"{page}.html").as_uri())
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && "
        "Array.from(document.images).every(i => i.complete)"))


def _typeset(driver) -> str:
    """Wait for MathJax to finish; returns 'none' on a page without math."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        if (!document.querySelector('.math')) { done('none'); return; }
        const wait = (n) => {
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            MathJax.startup.promise.then(() => done('typeset'), e => done('error ' + e));
          } else if (n > 0) { setTimeout(() => wait(n - 1), 100); }
          else { done('MathJax never loaded'); }
        };
        wait(200);""")


def _broken_links(driver, page: str) -> list[str]:
    """Links to files of the site that do not exist, or to anchors their page lacks."""
    hrefs = driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    here = (HTML / f"{page}.html").resolve()
    ids = {here: set(driver.execute_script(
        "return Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))}
    broken = []
    for href in hrefs:
        u = urlparse(href)
        if u.scheme != "file":
            continue
        target = Path(unquote(u.path)).resolve()
        if not target.is_file():
            broken.append(href)
        elif u.fragment and target.suffix == ".html":
            if target not in ids:
                ids[target] = set(re.findall(r'id="([^"]+)"', target.read_text()))
            if unquote(u.fragment) not in ids[target]:
                broken.append(href)
    return broken


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_figures_math_and_working_links(browser, page):
    _load(browser, page)
    assert "CLIP-RL" in browser.title, f"{page}: title {browser.title!r}"
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('main img')).map(i => "
        "[i.getAttribute('src'), i.naturalWidth, i.naturalHeight])")
    assert all(w > 0 and h > 0 for _, w, h in images), f"{page}: images not loaded {images}"
    state = _typeset(browser)
    assert state in ("none", "typeset"), f"{page}: {state}"
    if state == "typeset":
        untyped = browser.execute_script(
            "return Array.from(document.querySelectorAll('.math'))"
            ".filter(e => !e.querySelector('mjx-container')).length")
        assert untyped == 0, f"{page}: {untyped} formulas left as TeX"
        src = browser.execute_script(
            "return Array.from(document.scripts).map(s => s.src).find(s => /mathjax/i.test(s))")
        assert src and src.startswith("file:"), f"{page}: MathJax not served locally ({src})"
    text = browser.execute_script("return document.querySelector('main').innerText")
    assert "$$" not in text, f"{page}: raw $$ math in the page"
    broken = _broken_links(browser, page)
    assert not broken, f"{page}: broken links {broken}"
    if page.startswith("notebooks/"):
        n_ex = browser.execute_script("return document.querySelectorAll('.exercise').length")
        n_sol = browser.execute_script(
            "return document.querySelectorAll('.solution.dropdown').length")
        assert 2 <= n_ex == n_sol, f"{page}: {n_ex} exercises, {n_sol} folded solutions"
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{Path(page).name}.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_chapter_figures_are_shown(browser):
    _load(browser, "notebooks/01_environment")
    sizes = browser.execute_script("return Array.from(document.querySelectorAll("
                                   "'.cell_output img')).map(i => [i.naturalWidth, "
                                   "i.naturalHeight])")
    assert len(sizes) >= 3, f"expected chapter figures, found {sizes}"
    browser.execute_script("document.querySelector('.cell_output img').scrollIntoView()")
    browser.save_screenshot(str(SHOTS / "01_environment-figure.png"))


def test_index_redirects_to_the_first_page(browser):
    browser.get((HTML / "index.html").as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 15).until(lambda d: "intro.html" in d.current_url)


def test_the_first_page_gives_the_verdict_and_the_robustness_table_with_their_sources(browser):
    _load(browser, "book/intro")
    text = browser.execute_script("return document.querySelector('main').innerText")
    assert "deciding bound:" in text  # every claim label says the bound that decided it
    assert "published results/headline.csv" in text and "30 trials" in text
    assert "specifications of the published robustness study" in text
    rows = browser.execute_script(
        "const t = Array.from(document.querySelectorAll('main table'))"
        ".find(t => t.innerText.includes('native kernels'));"
        "return t ? Array.from(t.querySelectorAll('tbody tr')).map(r => r.innerText) : null")
    assert rows and rows[0].startswith("book's defaults"), rows
    from cliprl_helpers.robustness import CHOICES

    # the defaults, each alternative alone, native kernels
    assert len(rows) == 1 + sum(map(len, CHOICES.values())) + 1
    browser.execute_script("Array.from(document.querySelectorAll('main table'))"
                           ".find(t => t.innerText.includes('native kernels')).scrollIntoView()")
    browser.save_screenshot(str(SHOTS / "intro-robustness-table.png"))
