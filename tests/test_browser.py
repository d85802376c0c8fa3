"""The built book in a real browser: every page of _toc.yml loads offline and renders.

The book in _build/html (from `bash tools/build.sh`) is served on 127.0.0.1 and each page is opened in
headless Chromium (Debian's /usr/bin/chromium, driven by playwright). Per page: no request leaves the local
server, none fails or gets an HTTP error, no console error or uncaught exception; MathJax typeset every
formula and no raw TeX is left; every image decoded; on notebook pages the launch buttons point at the
repository of _config.yml; animations advance when their buttons are clicked.
Layout at 1280×900 (test_page_layout): no code block, input or output, scrolls sideways (and none hidden in a
dropdown has a line over 76 characters, what fits the column); no code block shows a `glue(` line (bookkeeping
cells are tagged remove-cell); no image is shown below 0.75 of its natural width (figures are drawn at the
size they are shown).
A full-page screenshot of each page is saved in _build/screenshots/.

Without a built book (or without Chromium) these tests skip, unless OPTIMLAB_REQUIRE_BOOK=1 (as in
tools/test.sh), in which case they fail.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import sys
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import book_toc  # noqa: E402
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("OPTIMLAB_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("OPTIMLAB_REQUIRE_BOOK") == "1"
# Flags that work as root, without a GPU and without a network (no update checks, no sync, no QUIC probing),
# and in containers with a small /dev/shm. playwright adds --headless and a fresh temporary --user-data-dir.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def toc_docs() -> list[str]:
    return book_toc.toc_docs(ROOT)


PAGES = toc_docs()


def _unavailable() -> str | None:
    if not (HTML / "index.html").exists():
        return "the book is not built (run `bash tools/build.sh`)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (`apt-get install chromium`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (`pip install -r requirements.txt`)"
    return None


@pytest.fixture(scope="module")
def server():
    reason = _unavailable()
    if reason:
        if REQUIRE:
            pytest.fail(f"OPTIMLAB_REQUIRE_BOOK=1 but {reason}")
        pytest.skip(reason)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(HTML)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser(server, bare_browser):
    # One playwright per module: a second sync_playwright() while the first runs fails
    # ("Sync API inside the asyncio loop").
    return bare_browser


@pytest.fixture(scope="module", autouse=True)
def _fresh_screenshots():
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    yield


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


# Text nodes outside code, scripts and typeset math: TeX delimiters left there are math MathJax did not typeset.
VISIBLE_TEXT_JS = """() => {
  const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'MJX-CONTAINER', 'MJX-ASSISTIVE-MML']);
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let el = node.parentElement, hidden = false;
    while (el) { if (skip.has(el.tagName)) { hidden = true; break; } el = el.parentElement; }
    if (!hidden) parts.push(node.textContent);
  }
  return parts.join(' ');
}"""

# $...$ with TeX inside (a backslash, ^, _ or a brace): inline math that was never parsed as math.
INLINE_TEX = re.compile(r"\$[^$\n]{0,200}?[\\^_{}][^$\n]{0,200}?\$")

IMAGES_JS = """async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null :
      new Promise(resolve => { img.addEventListener('load', resolve); img.addEventListener('error', resolve); })));
  return images.map(img => ({src: (img.getAttribute('src') || '').slice(0, 80), width: img.naturalWidth}));
}"""


@pytest.mark.parametrize("doc", PAGES)
def test_page_renders(browser, server, doc):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    failed, console_errors = [], []
    page.on("request", lambda r: r.url.startswith(("http:", "https:")) and not r.url.startswith(server)
            and failed.append(f"{r.url} (outside the book: the page must work offline)"))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url} (HTTP {r.status})"))
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.on("pageerror", lambda e: console_errors.append(f"uncaught: {e}"))
    try:
        page.goto(f"{server}/{doc}.html", wait_until="load")
        # Sphinx loads MathJax only on pages with math (the bibliography has none).
        if page.evaluate("() => !!document.querySelector('script[src*=\"mathjax\" i]')"):
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=30_000)
            page.evaluate("() => MathJax.startup.promise")
        images = page.evaluate(IMAGES_JS)
        page.wait_for_load_state("networkidle")
        page.evaluate("async () => { await document.fonts.ready; window.scrollTo(0, 0); }")
        page.wait_for_timeout(300)  # let the theme's transitions settle before the full-page capture
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{Path(doc).name}.png"), full_page=True)

        problems = []
        problems += [f"request failed: {f}" for f in failed]
        problems += [f"console error: {e}" for e in console_errors]

        # Math: Sphinx wraps every formula in an element of class "math"; MathJax puts an mjx-container in each.
        math = page.locator("main .math").count()
        untypeset = page.evaluate(
            "() => [...document.querySelectorAll('main .math')].filter(el => !el.querySelector('mjx-container'))"
            ".map(el => el.textContent.slice(0, 60))")
        problems += [f"formula not typeset: {t!r}" for t in untypeset]
        if math:
            assert page.locator("main mjx-container").count() >= math
        problems += [f"MathJax error: {t!r}" for t in page.locator("mjx-merror").all_text_contents()]
        text = page.evaluate(VISIBLE_TEXT_JS)
        for delimiter in ("$$", "\\(", "\\)", "\\[", "\\]", "\\begin{", "\\frac"):
            if delimiter in text:
                at = text.index(delimiter)
                problems.append(f"raw TeX {delimiter!r} in the page: ...{text[max(0, at - 40):at + 40]!r}...")
        for m in INLINE_TEX.finditer(text):
            problems.append(f"raw TeX in the page: {m.group(0)!r}")

        problems += [f"image did not load: {img['src']!r}" for img in images if not img["width"]]
        if "google.colab" in page.inner_text("main"):
            problems.append("the Colab install cell is visible; tag it remove-cell")
        if "<Figure size" in page.inner_text("main"):
            problems.append("a figure was dropped ('<Figure size ...>' on the page)")

        if (ROOT / f"{doc}.ipynb").exists():
            problems += _launch_button_problems(page, doc)
        problems += _animation_problems(page)
        assert not problems, f"{doc}:\n  " + "\n  ".join(problems)
    finally:
        context.close()


def _launch_button_problems(page, doc: str) -> list[str]:
    """The Colab and Binder links and the .ipynb download of a notebook page point at the right places."""
    config = _config()
    owner_repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["repository"].get("branch", "main")
    expected = {
        "Colab": f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{doc}.ipynb",
        "Binder": f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=tree/{doc}.ipynb",
    }
    links = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    problems = [f"no {name} launch link {url}" for name, url in expected.items() if url not in links]
    if not any(link.endswith(f"_sources/{doc}.ipynb") for link in links):
        problems.append("no .ipynb download link")
    repository = config["repository"]["url"]
    if not any(link.rstrip("/") == repository for link in links):
        problems.append(f"no repository button linking {repository}")
    return problems


def _animation_problems(page) -> list[str]:
    """Every matplotlib jshtml player shows a frame and moves on when 'Next frame' or 'Play' is clicked."""
    problems = []
    players = page.locator("div.animation")
    for i in range(players.count()):
        player = players.nth(i)
        player.scroll_into_view_if_needed()
        img = player.locator("img").first
        first = img.get_attribute("src") or ""
        if not first.startswith("data:image") or img.evaluate("el => el.naturalWidth") == 0:
            problems.append(f"animation {i}: no frame shown")
            continue
        player.locator("button[title='Next frame']").click()
        page.wait_for_timeout(100)
        second = img.get_attribute("src")
        if second == first:
            problems.append(f"animation {i}: 'Next frame' did not change the frame")
        player.locator("button[title='First frame']").click()
        player.locator("button[title='Play']").click()
        try:
            page.wait_for_function("([el, src]) => el.src !== src", arg=[img.element_handle(), first],
                                   timeout=5_000)
        except Exception:
            problems.append(f"animation {i}: 'Play' did not advance the frame")
        player.locator("button[title='Pause']").click()
        icons = player.locator(".anim-buttons button").evaluate_all(
            "bs => bs.filter(b => { const icon = b.querySelector('svg, i');"
            " return !icon || icon.getBoundingClientRect().width < 1; }).length")
        if icons:
            problems.append(f"animation {i}: {icons} player buttons have no visible icon")
    return problems


# Measures taken in the page as a reader sees it. A `pre` that is laid out scrolls sideways when its content is
# wider than its box; one that is not laid out (a closed dropdown) is measured in characters per line.
LAYOUT_JS = """() => {
  const main = document.querySelector('main') || document.body;
  const longest = text => text.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '');
  const wide = [], glued = [], shrunk = [];
  for (const pre of main.querySelectorAll('pre')) {
    const text = pre.textContent;
    if (pre.getClientRects().length) {
      if (pre.scrollWidth > pre.clientWidth + 1) {
        wide.push(`${pre.scrollWidth} px in ${pre.clientWidth} px: ${longest(text).slice(0, 90)}`);
      }
    } else if (longest(text).length > MAX_CHARS) {
      wide.push(`a hidden line of ${longest(text).length} characters: ${longest(text).slice(0, 90)}`);
    }
    for (const line of text.split('\\n')) {
      if (line.includes('glue(')) glued.push(line.trim().slice(0, 90));
    }
  }
  for (const img of main.querySelectorAll('img')) {
    if (!img.getClientRects().length || !img.naturalWidth) continue;
    if (img.clientWidth < MIN_SCALE * img.naturalWidth) {
      shrunk.push(`${(img.getAttribute('src') || '').slice(0, 60)}: shown ${img.clientWidth} px of ` +
                  `${img.naturalWidth} px`);
    }
  }
  return {wide, glued, shrunk};
}"""
MAX_CHARS = 76      # characters of 14 px monospace that fit the 688 px output column
MIN_SCALE = 0.75    # an image shown smaller than this has its labels shrunk below the body text


def layout_problems(page) -> list[str]:
    """What makes a page hard to read at 1280×900: code that scrolls sideways, glue lines, shrunk images."""
    found = page.evaluate(LAYOUT_JS.replace("MAX_CHARS", str(MAX_CHARS)).replace("MIN_SCALE", str(MIN_SCALE)))
    return ([f"code block scrolls sideways ({w})" for w in found["wide"]]
            + [f"bookkeeping shown to readers (tag the cell remove-cell): {g!r}" for g in found["glued"]]
            + [f"image shown below {MIN_SCALE} of its width: {s}" for s in found["shrunk"]])


@pytest.mark.parametrize("doc", PAGES)
def test_page_layout(browser, server, doc):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{server}/{doc}.html", wait_until="load")
        page.evaluate(IMAGES_JS)
        page.evaluate("async () => { await document.fonts.ready; }")
        problems = layout_problems(page)
        assert not problems, f"{doc}:\n  " + "\n  ".join(problems)
    finally:
        context.close()


@pytest.fixture(scope="module")
def bare_browser():
    """Chromium alone, for checks on synthetic pages (no built book needed)."""
    if not Path(CHROMIUM).exists():
        (pytest.fail if REQUIRE else pytest.skip)(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        (pytest.fail if REQUIRE else pytest.skip)("the playwright package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# A page laid out like the book's: a 688 px output column, 14 px monospace code.
SYNTHETIC = """<html><head><style>
main {{ width: 688px; font: 16px sans-serif; }}
pre {{ font: 14px monospace; overflow-x: auto; margin: 0; }}
</style></head><body><main>{body}</main></body></html>"""
# a 4 × 4 px PNG (the image check compares its shown width with this natural width)
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM8wYAA"
         "TAxEcQAo3ADQQD5s4QAAAABJRU5ErkJggg==")


@pytest.mark.parametrize("body, expected", [
    ("<pre>" + "x" * 70 + "</pre>", []),
    ("<pre>" + "x" * 120 + "</pre>", ["scrolls sideways"]),
    ("<details><summary>s</summary><pre>" + "y" * 90 + "</pre></details>", ["scrolls sideways"]),
    ("<pre>glue(\"gap\", float(gap), display=False)</pre>", ["bookkeeping shown"]),
    (f'<img src="{PIXEL}" style="width: 4px">', []),
    (f'<img src="{PIXEL}" style="width: 2px">', ["below 0.75"]),
])
def test_layout_checks_catch_what_they_must(bare_browser, body, expected):
    page = bare_browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_content(SYNTHETIC.format(body=body))
        problems = layout_problems(page)
        assert len(problems) == len(expected), problems
        for problem, words in zip(problems, expected):
            assert words in problem
    finally:
        page.close()
