"""The lint step of CI: ruff with the project's settings; nbdev's own `__all__` statement is all it passes over."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import lint  # noqa: E402

NAMES = ", ".join(f"'name_{i:02d}'" for i in range(14))  # 125 characters of names: nbdev's line runs past 120


def test_a_long_line_fails_and_only_nbdevs_all_is_passed_over(tmp_path):
    module = tmp_path / "module.py"
    long_message = "x" * 110
    module.write_text(f'"""A module."""\n\n# %% auto #0\n__all__ = [{NAMES}]\n\n'
                      f'def f():\n    "A function."\n    return "{long_message}"\n')
    assert len(module.read_text().splitlines()[3]) > 120
    assert [(f["code"], f["location"]["row"]) for f in lint.findings(tmp_path)] == [("E501", 8)]
    assert lint.nbdev_all_lines(module) == {4}


def test_an_all_written_by_hand_is_linted(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(f'"""A module."""\n__all__ = [{NAMES}]\n')
    assert [f["location"]["row"] for f in lint.findings(tmp_path)] == [2]
