"The course's structure: every TensorFlow notebook is the twin of its PyTorch notebook, and every page has a title and a description."
import json
import re
from pathlib import Path

import pytest

NBS = Path(__file__).parent.parent / "nbs"
PYTORCH = sorted((NBS / "pytorch").glob("*.ipynb"))


def headings(path):
    "The markdown headings of a notebook, in order, as (level, text)."
    cells = json.loads(path.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return [(len(m.group(1)), m.group(2).strip()) for m in re.finditer(r"^(#{1,3}) (.+)$", text, re.M)]


def test_both_tracks_have_the_seven_lessons():
    names = ["00_config", "01_utils", "02_data", "03_model", "04_engine", "05_train", "06_inference"]
    assert [p.stem for p in PYTORCH] == names
    assert [p.stem for p in sorted((NBS / "tensorflow").glob("*.ipynb"))] == names


@pytest.mark.parametrize("pytorch_nb", PYTORCH, ids=lambda p: p.stem)
def test_tensorflow_twin_has_the_same_title_and_headings(pytorch_nb):
    assert headings(NBS / "tensorflow" / pytorch_nb.name) == headings(pytorch_nb)


@pytest.mark.parametrize("family", [p.name for p in NBS.iterdir() if (p / "pytorch.ipynb").exists()])
def test_every_model_family_has_twin_pages(family):
    "A family's folder holds one page per framework, titled after its framework, with the same headings."
    pages = sorted(p.name for p in (NBS / family).glob("*.ipynb"))
    assert pages == ["pytorch.ipynb", "tensorflow.ipynb"], pages
    (_, torch_title), *torch_headings = headings(NBS / family / "pytorch.ipynb")
    (_, keras_title), *keras_headings = headings(NBS / family / "tensorflow.ipynb")
    assert (torch_title.endswith(" in PyTorch"), keras_title.endswith(" in TensorFlow")) == (True, True)
    assert torch_title.removesuffix(" in PyTorch") == keras_title.removesuffix(" in TensorFlow")
    assert keras_headings == torch_headings


@pytest.mark.parametrize("nb", sorted(NBS.rglob("*.ipynb")), ids=lambda p: str(p.relative_to(NBS)))
def test_every_page_has_a_title_and_a_description(nb):
    first = "".join(json.loads(nb.read_text())["cells"][0]["source"])
    assert re.match(r"^# \S", first), f"{nb} does not open with a '# Title' cell"
    assert re.search(r"^> \S", first, re.M), f"{nb} has no '> description' line under its title"


def test_readme_says_what_the_home_page_says():
    "README.md is rendered from nbs/index.ipynb: every markdown cell of the home page appears in it word for word."
    readme = (NBS.parent / "README.md").read_text()
    cells = json.loads((NBS / "index.ipynb").read_text())["cells"]
    for cell in cells:
        text = "".join(cell["source"]).strip()
        if cell["cell_type"] == "markdown": assert text in readme, f"README.md lacks: {text[:80]}..."
