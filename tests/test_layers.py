"""The package's layout is its architecture: the shared foundations (`common`) at the bottom, the two framework tracks
above them, the model families and the parity code above the tracks, the four commands on top. No import climbs from
a layer to a higher one, the tracks never import each other, and a module is imported by name in one place only."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cnn_tutorial"
LAYERS = {"common": 0, "pytorch": 1, "tensorflow": 1, "resnet": 2, "parity": 2, "commands": 3}
# The one climbing import: `python -m cnn_tutorial.<track>.train` runs the `cnn_train` command, imported when it runs.
ENTRY_POINTS = {(f"{track}/train.py", "cnn_tutorial.commands.train") for track in ("pytorch", "tensorflow")}
# Imports by name: `commands/core.py` picks a track; `common/registry.py` still picks a family's builder module by name.
BY_NAME = {"commands/core.py", "common/registry.py"}


def modules():
    "Every exported module of the package: (path relative to the package, its dotted name)."
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name == "_modidx.py": continue
        yield name, "cnn_tutorial." + name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def imported(name: str, dotted: str):
    "(imported module, whether at module level) for every `import` statement of the module `dotted`."
    tree = ast.parse((PACKAGE / name).read_text())
    package = dotted if name.endswith("__init__.py") else dotted.rsplit(".", 1)[0]
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names: yield alias.name, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            yield ".".join(p for p in (base, node.module or "") if p), id(node) in top


def layer(dotted: str):
    "The layer of a module of the package, or None for a module outside it."
    parts = dotted.split(".")
    return LAYERS.get(parts[1].removesuffix(".py")) if parts[0] == "cnn_tutorial" and len(parts) > 1 else None


def test_every_module_has_a_layer():
    assert {name.split("/")[0].removesuffix(".py") for name, _ in modules()} - {"__init__"} == set(LAYERS)


def test_no_import_climbs_and_the_tracks_never_meet():
    climbing, crossing = [], []
    for name, dotted in modules():
        here = layer(dotted)
        for target, at_top in imported(name, dotted):
            there = layer(target)
            if there is None or here is None: continue
            if there > here and (name, target) not in ENTRY_POINTS: climbing.append(f"{name} imports {target}")
            if there == here == 1 and target.split(".")[1] != dotted.split(".")[1]:
                crossing.append(f"{name} imports {target}")
            if (name, target) in ENTRY_POINTS: assert not at_top, f"{name} imports {target} at module level"
    assert climbing == [] and crossing == []


def test_modules_are_imported_by_name_in_one_place():
    by_name = set()
    for name, _ in modules():
        for node in ast.walk(ast.parse((PACKAGE / name).read_text())):
            called = node.func if isinstance(node, ast.Call) else None
            if isinstance(called, (ast.Attribute, ast.Name)) and getattr(called, "attr", getattr(called, "id", "")) in (
                    "import_module", "__import__"):
                by_name.add(name)
    assert by_name == BY_NAME
