"""Render the documentation to static HTML in `_preview/`, without Quarto: process the notebooks as the docs build does
(`check_docs.process_notebooks`, into `_proc/`), then convert each page of `nbs/sidebar.yml` with nbconvert, with the
sidebar on every page, links and heading ids as on the real site, images, and formulas typeset by a local MathJax.

`python scripts/preview_docs.py` builds it; `--no-proc` reuses `_proc/` as it is. Open `_preview/index.html`."""
import argparse
import functools
import html
import os
import re
import shutil
import sys
import time
from pathlib import Path, PurePosixPath

import nbformat
import yaml
from bs4 import BeautifulSoup
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbdev.config import get_config
from nbdev.doclinks import _nbpath2html
from nbdev.process import extract_directives
from traitlets.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_docs import NBS, ROOT, process_notebooks  # noqa: E402

PROC, OUT = ROOT / "_proc", ROOT / "_preview"
MATHJAX = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"

TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock -%}
{%- block html_head_js_mermaidjs -%}{%- endblock -%}
{%- block jupyter_widgets -%}{%- endblock -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
            processEscapes: true, processEnvironments: true},
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null, linebreaks: {automatic: true}},
  displayAlign: "center", messageStyle: "none"
});
</script>
<script src="{{ resources.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
{%- block html_head_css -%}
<style>
body.jp-Notebook { margin: 0; padding: 0; overflow: visible; }
nav.preview-nav { position: fixed; inset: 0 auto 0 0; width: 17rem; overflow-y: auto; box-sizing: border-box;
  padding: 1.2rem 1rem; background: #f7f7f9; border-right: 1px solid #e3e3e3; font: 14px/1.45 system-ui, sans-serif; }
nav.preview-nav a { color: #333; text-decoration: none; display: block; padding: .15rem .4rem; border-radius: 4px; }
nav.preview-nav a:hover { background: #e9ecef; }
nav.preview-nav a.active { background: #2780e3; color: #fff; }
nav.preview-nav .site { font-size: 1.2rem; font-weight: 600; margin-bottom: .8rem; }
nav.preview-nav ul { list-style: none; margin: 0; padding: 0; }
nav.preview-nav li.section > span { display: block; margin: .9rem 0 .2rem; padding: 0 .4rem; font-weight: 600;
  color: #666; text-transform: uppercase; font-size: 12px; letter-spacing: .04em; }
main { margin-left: 17rem; padding: 1.5rem 2.5rem 4rem; max-width: 58rem; }
.celltag_preview-title h1 { margin-top: 0; }
.celltag_preview-title p { font-style: italic; font-size: 1.2rem; opacity: .7; }
.jp-RenderedMarkdown pre { font-family: var(--jp-code-font-family); background: #f5f5f5; padding: .6rem .8rem; border-radius: 4px; overflow-x: auto; white-space: pre; }
.jp-InputArea-editor .highlight pre, .jp-OutputArea-output pre { overflow-x: auto; }
@media (max-width: 800px) { nav.preview-nav { position: static; width: auto; } main { margin-left: 0; } }
</style>
{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.preview_nav }}
<main>
{%- endblock body_header -%}
"""


def sidebar(node=None, section=None):
    "(section title or None, notebook path relative to `nbs/`) for each page of `nbs/sidebar.yml`, in its order."
    if node is None: node = yaml.safe_load((NBS / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]
    if isinstance(node, str): yield section, node
    elif isinstance(node, list):
        for item in node: yield from sidebar(item, section)
    elif isinstance(node, dict):
        if "href" in node: yield section, node["href"]
        if "contents" in node: yield from sidebar(node["contents"], node.get("section", section))


def page_url(nb):
    "The site's URL for a notebook path relative to `nbs/`, as nbdev names it: `pytorch/00_config.ipynb` → `pytorch/config.html`."
    return _nbpath2html(PurePosixPath(nb)).as_posix()


def front_matter(nb):
    "The front matter (title, description, ...) nbdev wrote into the processed notebook, and the notebook without it."
    fm = {}
    for cell in [c for c in nb.cells if c.cell_type == "raw" and c.source.startswith("---")]:
        fm.update(yaml.safe_load(re.match(r"---\s*\n(.*?)\n---", cell.source, re.S).group(1)) or {})
        nb.cells.remove(cell)
    return fm


def heading_id(text):
    "Pandoc's (and so Quarto's) automatic identifier for a heading: what nbdev's `#anchor` links point at."
    text = "".join(c for c in text.lower() if c.isalnum() or c in "_-. \t\n")
    text = re.sub(r"^[^a-z]+", "", "-".join(text.split()))
    return text or "section"


def pandoc_links(md):
    "Markdown links with Pandoc attributes, `[x](url){target=...}` as nbdev's show_doc writes them, as HTML links."
    return re.sub(r'\[([^\]]+)\]\(([^)\s]+)\)\{((?:\s*[\w-]+="[^"]*")+)\s*\}', r'<a href="\2" \3>\1</a>', md)


def prepare(nb, fm):
    "Apply what Quarto does with cell options (`echo`, `output`, `include`) and Pandoc link attributes."
    cells = [nbformat.v4.new_markdown_cell(f"# {fm.get('title', '')}\n\n{fm.get('description', '')}",
                                           metadata={"tags": ["preview-title"]})]
    for cell in nb.cells:
        cell.pop("has_sd", None)  # nbdev's mark on show_doc cells, not part of the notebook format
        if cell.cell_type == "markdown": cell.source = pandoc_links(cell.source)
        if cell.cell_type == "code":
            opts = {k.rstrip(":"): (v or [""])[0] for k, v in extract_directives(cell).items()}
            if opts.get("include") == "false": continue
            cell.source = re.sub(r"^(\s*#\|.*(\n|$))+", "", cell.source)
            tags = cell.metadata.setdefault("tags", [])
            if opts.get("echo") == "false" or not cell.source.strip(): tags.append("remove_input")
            if opts.get("output") == "false": cell.outputs = []
            for out in cell.outputs:
                if "text/markdown" in out.get("data", {}): out.data["text/markdown"] = pandoc_links(out.data["text/markdown"])
        cells.append(cell)
    nb.cells = cells
    return nb


def nav_html(current):
    "The sidebar's navigation, with links relative to page `current` (a notebook path relative to `nbs/`)."
    here = PurePosixPath(page_url(current)).parent
    def link(nb):
        cls = ' class="active"' if nb == current else ""
        return f'<li><a href="{os.path.relpath(page_url(nb), here)}"{cls}>{html.escape(title(nb))}</a></li>'
    items, open_section = [], None
    for section, nb in sidebar():
        if section != open_section:
            if open_section: items.append("</ul></li>")
            if section: items.append(f'<li class="section"><span>{html.escape(section)}</span><ul>')
            open_section = section
        items.append(link(nb))
    if open_section: items.append("</ul></li>")
    site = get_config().title
    return (f'<nav class="preview-nav"><a class="site" href="{os.path.relpath("index.html", here)}">{site}</a>'
            f'<ul>{"".join(items)}</ul></nav>')


@functools.cache
def title(nb):
    "A page's title: its first cell's `# Title`."
    first = nbformat.read(NBS / nb, as_version=4).cells[0].source
    m = re.search(r"^# (.+)$", first, re.M)
    return m.group(1).strip() if m else nb


def fix_html(page, source):
    """Give headings Pandoc's ids, rewrite links to notebooks and to the site as relative `.html` links, and copy the
    images that markdown refers to by a relative path. Only `<main>` is parsed: the head is nbconvert's CSS."""
    head, rest = source.split("<main>", 1)
    main, tail = rest.rsplit("</main>", 1)
    soup = BeautifulSoup(main, "html.parser")
    here, src_dir = PurePosixPath(page_url(page)).parent, (NBS / page).parent
    seen = set()
    for h in soup.find_all(re.compile(r"^h[1-6]$")):
        text = h.get_text()
        m = re.search(r"\{#([\w.:-]+)[^}]*\}\s*$", text)
        new = m.group(1) if m else heading_id(text)
        base, n = new, 0
        while new in seen: n += 1; new = f"{base}-{n}"
        seen.add(new); h["id"] = new
    cfg = get_config()
    site = f"{cfg.doc_host.rstrip('/')}{cfg.doc_baseurl.rstrip('/')}/"
    for a in soup.find_all("a", href=True):
        path, _, frag = a["href"].partition("#")
        if path.startswith(site): path = os.path.relpath(path[len(site):] or "index.html", here)
        elif path.endswith(".ipynb") and not re.match(r"^[a-z]+:", path):
            target = (src_dir / path).resolve()
            if target.is_relative_to(NBS):
                path = os.path.relpath(page_url(target.relative_to(NBS).as_posix()), here)
        a["href"] = path + (f"#{frag}" if frag else "")
    for img in soup.find_all("img", src=True):
        src = img["src"]
        if re.match(r"^([a-z]+:|/)", src): continue
        file = (src_dir / src).resolve()
        if not file.is_file(): continue
        dest = OUT / file.relative_to(NBS) if file.is_relative_to(NBS) else OUT / "_files" / file.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(file, dest)
        img["src"] = os.path.relpath(dest.relative_to(OUT).as_posix(), here)
    return f"{head}<main>{soup}</main>{tail}"


@functools.cache
def _exporter():
    "nbconvert's JupyterLab HTML exporter with the preview's template, no prompts, and `echo: false` inputs removed."
    return HTMLExporter(template_name="lab", template_file="preview.html.j2", extra_loaders=[DictLoader({"preview.html.j2": TEMPLATE})],
                        exclude_anchor_links=True, exclude_input_prompt=True, exclude_output_prompt=True,
                        config=Config(TagRemovePreprocessor={"remove_input_tags": {"remove_input"}}))


def convert(page):
    "Convert one processed notebook (a path relative to `nbs/`) to `_preview/`, returning the file written."
    nb = nbformat.read(PROC / page, as_version=4)
    fm = front_matter(nb)
    nb = prepare(nb, fm)
    url = PurePosixPath(page_url(page))
    exporter = _exporter()
    exporter.mathjax_url = "../" * len(url.parent.parts) + MATHJAX
    resources = {"metadata": {"name": title(page), "path": str((NBS / page).parent)}, "preview_nav": nav_html(page)}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    dest = OUT / url
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(fix_html(page, body))
    for alias in fm.get("aliases", []): write_redirect(url, alias)
    return dest


def write_redirect(url, alias):
    "A page at `alias` (relative to the folder of `url`) that sends its reader on to `url`, as Quarto's `aliases` do."
    old = PurePosixPath(os.path.normpath((url.parent / alias).as_posix()))
    target = os.path.relpath(url.as_posix(), old.parent.as_posix())
    (OUT / old).parent.mkdir(parents=True, exist_ok=True)
    (OUT / old).write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Redirect</title>'
                           f'<meta http-equiv="refresh" content="0; url={target}"><link rel="canonical" href="{target}">'
                           f'</head><body><a href="{target}">This page has moved: {target}</a></body></html>\n')


def build(process=True):
    "Process the notebooks (unless `process` is false), then write every sidebar page and MathJax into `_preview/`."
    if process:
        cwd = os.getcwd()
        try: process_notebooks()
        finally: os.chdir(cwd)
    shutil.rmtree(OUT, ignore_errors=True)
    import jupyter_server_mathjax
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", OUT / "mathjax")
    return [convert(page) for _, page in sidebar()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-proc", action="store_true", help="reuse _proc/ instead of processing the notebooks again")
    args = parser.parse_args()
    start = time.time()
    pages = build(process=not args.no_proc)
    print(f"preview: {len(pages)} pages in {OUT.relative_to(ROOT)}/ ({time.time() - start:.0f} s); open {OUT.relative_to(ROOT)}/index.html")
