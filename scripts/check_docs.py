"""Check the documentation without Quarto: process every notebook as the docs build does, then fail on a page without
a title and a description, a sidebar entry that points nowhere, a notebook missing from the sidebar, an exported
name without a docstring, or a name on one track's page linked to the other track's page."""
import importlib
import inspect
import json
import os
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"


def process_notebooks():
    """Run nbdev's docs processing (what `nbdev_proc_nbs` does, without installing Quarto); it raises on a broken page.
    The notebooks are named relative to `nbs/`: nbdev skips every path with a part that starts with a dot, and would
    otherwise skip them all in a clone under a hidden folder (`~/.cache/...`)."""
    from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
    from nbdev.serve import proc_nbs
    os.chdir(NBS)
    refresh_quarto_yml(); nbdev_sidebar.__wrapped__(); proc_nbs(path=".")


def notebooks():
    return sorted(p for p in NBS.rglob("*.ipynb") if not any(part.startswith(("_", ".")) for part in p.relative_to(NBS).parts))


def missing_titles():
    for nb in notebooks():
        first = "".join(json.loads(nb.read_text())["cells"][0]["source"])
        if not re.match(r"^# \S", first) or not re.search(r"^> \S", first, re.M):
            yield f"{nb.relative_to(ROOT)}: the first cell must hold a '# Title' and a '> description' line"


def sidebar_entries(node):
    if isinstance(node, str): yield node
    elif isinstance(node, list):
        for item in node: yield from sidebar_entries(item)
    elif isinstance(node, dict):
        for key in ("contents", "href"):
            if key in node: yield from sidebar_entries(node[key])


def sidebar_problems():
    entries = list(sidebar_entries(yaml.safe_load((NBS / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]))
    for e in entries:
        if not (NBS / e).is_file(): yield f"nbs/sidebar.yml: '{e}' points nowhere"
    listed = set(entries)
    for nb in notebooks():
        if str(nb.relative_to(NBS)) not in listed: yield f"{nb.relative_to(ROOT)} is missing from nbs/sidebar.yml"


def undocumented_exports():
    sys.path.insert(0, str(ROOT))
    from cnn_tutorial._modidx import d
    for module_name in sorted(d["syms"]):
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)): continue
            if not inspect.getdoc(obj): yield f"{module_name}.{name} has no docstring"
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and not attr.startswith("_") and not inspect.getdoc(member):
                        yield f"{module_name}.{name}.{attr} has no docstring"


def cross_track_links():
    "Links that nbdev made from a name on one track's page to the other track's page (names both tracks define)."
    from cnn_tutorial.common.doclinks import TRACKS, page_track
    for nb in sorted((NBS.parent / "_proc").rglob("*.ipynb")):
        track = page_track(nb.relative_to(NBS.parent / "_proc"))
        if not track: continue
        text = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown")
        for other in set(TRACKS) - {track}:
            for name, page in re.findall(rf"\[`([^`]+)`\]\((?:https?://[^)]*?)/{other}/(\w+)\.html", text):
                yield f"{nb.relative_to(NBS.parent / '_proc')}: `{name}` links to the {other} page {other}/{page}.html"


if __name__ == "__main__":
    process_notebooks()
    problems = [*missing_titles(), *sidebar_problems(), *undocumented_exports(), *cross_track_links()]
    for p in problems: print(f"docs check: {p}", file=sys.stderr)
    if problems: sys.exit(1)
    print(f"docs check: {len(notebooks())} pages processed; titles, sidebar, docstrings and links in order")
