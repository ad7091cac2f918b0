"""The documentation as a reader sees it: build the static preview (`scripts/preview_docs.py`), open every page in
headless Chromium, and fail on a broken image, a link to a page or an anchor that does not exist, a formula or a
Markdown link left as raw text, or a page whose notebook has code but no saved outputs."""
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import nbformat
import pytest
from nbdev.process import extract_directives

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import preview_docs  # noqa: E402

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PAGES = [page for _, page in preview_docs.sidebar()]

# Runs in the page once MathJax has typeset it; returns what is wrong with images and formulas, and the links and ids.
INSPECT = r"""
const done = arguments[arguments.length - 1];
function inspect() {
  const problems = [];
  for (const img of document.images)
    if (!img.complete || img.naturalWidth === 0) problems.push('broken image: ' + (img.getAttribute('src') || '').slice(0, 100));
  for (const e of document.querySelectorAll('.noError, .MathJax_Error, merror, .merror'))
    problems.push('formula MathJax could not typeset: ' + e.textContent.slice(0, 100));
  const skip = 'code, pre, script, style, textarea, .MathJax, .MathJax_Display, .MathJax_Preview, .MathJax_SVG';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT,
    {acceptNode: n => n.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const tex = /\$\$[^]+?\$\$|\$[^\s$](?:[^$]*[^\s$])?\$(?!\d)|\\\(|\\\[/;
  const rawLink = /\]\([^)\s]*\)/;  // a Markdown link the renderer left as text, e.g. one nested in another
  for (let n; (n = walker.nextNode());) {
    const m = n.textContent.match(tex);
    if (m) problems.push('raw TeX: ' + n.textContent.slice(Math.max(0, m.index - 30), m.index + 60).trim());
    const l = n.textContent.match(rawLink);
    if (l) problems.push('raw Markdown link: ' + n.textContent.slice(Math.max(0, l.index - 30), l.index + 60).trim());
  }
  done({problems, hrefs: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
        ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.name)});
}
if (!window.MathJax || !MathJax.Hub) done({problems: ['MathJax did not load'], hrefs: [], ids: []});
else MathJax.Hub.Queue(inspect);  // runs once the startup typesetting is done
"""


@pytest.fixture(scope="session")
def preview():
    "The preview, built once per test session (processing is incremental: `_proc/` is reused where up to date)."
    preview_docs.build()
    return preview_docs.OUT


@pytest.fixture(scope="session")
def browser():
    "Headless Debian Chromium driven by Selenium through Debian's chromedriver."
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}); as root, bash scripts/setup.sh installs it")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@cache
def ids_in(file):
    "The ids (and anchor names) a preview file defines."
    found = re.findall(r'\sid="([^"]+)"|<a\s[^>]*\bname="([^"]+)"', Path(file).read_text(errors="replace"))
    return {i or name for i, name in found}


def page_problems(driver, file, out):
    "What is wrong with one HTML file of the preview `out`, as Chromium shows it."
    driver.get(file.as_uri())
    found = driver.execute_async_script(INSPECT)
    problems = list(dict.fromkeys(found["problems"]))
    for href in dict.fromkeys(found["hrefs"]):
        if re.match(r"^([a-z][a-z0-9+.-]*:|//)", href, re.I): continue
        path, _, anchor = unquote(href).partition("#")
        target = Path(os.path.normpath(file.parent / path)) if path else file
        if not target.is_relative_to(out) or not target.is_file():
            problems.append(f"link to a missing page: {href}")
        elif anchor and anchor not in (set(found["ids"]) if target == file else ids_in(target)):
            problems.append(f"link to a missing anchor: {href}")
    return problems


def code_without_outputs(nb):
    "The number of code cells the docs show, when none of the notebook's code cells has a saved output (else 0)."
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if any(c.get("outputs") for c in code): return 0
    return sum("hide" not in extract_directives(c, remove=False) for c in code)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page, browser, preview):
    "Every image loads, every internal link and anchor exists, every formula is typeset."
    problems = page_problems(browser, preview / preview_docs.page_url(page), preview)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_code_page_has_outputs(page):
    "A page that shows code shows what it does: its notebook keeps the outputs of its run."
    n = code_without_outputs(nbformat.read(preview_docs.NBS / page, as_version=4))
    assert not n, f"nbs/{page}: a code page with no outputs ({n} code cells shown, no saved output at all)"


@pytest.mark.parametrize("old, new", [("pytorch/checkpoints.html", "pytorch/model.html"),
                                      ("tensorflow/checkpoints.html", "tensorflow/model.html"),
                                      ("pytorch/distributed.html", "distributed/pytorch.html"),
                                      ("tensorflow/distributed.html", "distributed/tensorflow.html"),
                                      ("common/cli.html", "commands/train.html"),
                                      ("common/export.html", "commands/export.html"),
                                      ("common/serve.html", "commands/serve.html")])
def test_old_page_addresses_lead_to_the_pages_that_replaced_them(old, new, browser, preview):
    "A link to a page of an earlier layout (bookmarked, or on another site) still arrives: its page redirects."
    browser.get((preview / old).as_uri())
    assert Path(unquote(browser.current_url.removeprefix("file://"))) == preview / new


def test_checks_catch_a_broken_page(browser, preview, tmp_path):
    "The checks can fail: a page with a broken image, dead links, raw TeX and a raw link is reported for each."
    for child in preview.iterdir(): (tmp_path / child.name).symlink_to(child)
    html = (preview / "index.html").read_text().replace("</main>", """
      <p><img src="missing.png"> <a href="nowhere.html">x</a> <a href="index.html#no-such-anchor">y</a>
      <a href="#nor-here">z</a></p><p class="tex2jax_ignore">left raw: $x^2 + y^2$ and \\(a\\)</p>
      <p>does not parse: $\\frac{1}{$</p><p>[<a href="index.html"><code>train</code></a>](index.html)</p></main>""")
    (tmp_path / "broken.html").write_text(html)
    problems = "\n".join(page_problems(browser, tmp_path / "broken.html", tmp_path))
    for expected in ("broken image: missing.png", "missing page: nowhere.html", "missing anchor: index.html#no-such-anchor",
                     "missing anchor: #nor-here", "raw TeX: left raw: $x^2", "could not typeset",
                     "raw Markdown link: ](index.html)"):
        assert expected in problems, f"not caught: {expected}\n{problems}"


def test_no_outputs_check_can_fail():
    "A notebook with code and no outputs is caught; one output anywhere, or only hidden code, passes."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("1 + 1")])
    assert code_without_outputs(nb) == 1
    nb.cells[1].source = "#| hide\n1 + 1"
    assert code_without_outputs(nb) == 0
    nb.cells.append(nbformat.v4.new_code_cell("2", outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"})]))
    assert code_without_outputs(nb) == 0


def test_preview_builds_in_a_clone_under_a_hidden_folder(tmp_path):
    "A clone inside a folder whose name starts with a dot (`~/.cache/...`) builds every page of the preview."
    clone = tmp_path / ".cache" / "cnn_tutorial"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for name in files:  # the working tree as a clone of it would hold it, uncommitted changes included
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    done = subprocess.run([sys.executable, "scripts/preview_docs.py"], cwd=clone, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    built = {p.relative_to(clone / "_preview").as_posix() for p in (clone / "_preview").rglob("*.html")
             if "mathjax" not in p.parts and 'http-equiv="refresh"' not in p.read_text()}  # redirects from old addresses aside
    assert built == {preview_docs.page_url(page) for page in PAGES}, built
