"The wheel pip builds: its licence, its modules and its console scripts, and a copy installed from it that works away from the repository."
import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from cnn_tutorial.common.data import load_splits

ROOT = Path(__file__).resolve().parent.parent
BUILD_INPUTS = ("setup.py", "settings.ini", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in")
SCRIPTS = {"cnn_train": "cnn_tutorial.commands.train:train_main",
           "cnn_predict": "cnn_tutorial.commands.predict:predict_main"}


def pip(*args, cwd=None):
    "Run this Python's pip offline, checking that it succeeds."
    proc = subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps", "--no-index", "--disable-pip-version-check"],
                          cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    "The wheel pip builds from a copy of the repository's package and build files."
    work = tmp_path_factory.mktemp("wheel")
    for name in BUILD_INPUTS: shutil.copy2(ROOT / name, work / name)
    shutil.copytree(ROOT / "cnn_tutorial", work / "cnn_tutorial", ignore=shutil.ignore_patterns("__pycache__"))
    pip("wheel", "--no-build-isolation", "-w", "dist", ".", cwd=work)
    (found,) = (work / "dist").glob("cnn_tutorial-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    "The wheel installed (not editable) into a folder of its own: (that folder, the environment that puts it first)."
    target = tmp_path_factory.mktemp("installed")
    pip("install", "--target", str(target), str(wheel))
    env = {**os.environ, "PYTHONPATH": str(target), "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return target, env


def members(wheel):
    "The names of the files in `wheel`."
    with zipfile.ZipFile(wheel) as z: return z.namelist()


def read(wheel, name):
    "The text of the file `name` in `wheel`."
    with zipfile.ZipFile(wheel) as z: return z.read(name).decode()


def settings():
    "The package settings of settings.ini."
    config = configparser.ConfigParser(delimiters=["="])
    config.read(ROOT / "settings.ini")
    return config["DEFAULT"]


def test_licence_is_the_apache_license_of_the_copyright_holder():
    text = (ROOT / "LICENSE").read_text()
    assert settings()["license"] == "apache2"
    assert text.split("\n")[1:3] == [" " * 33 + "Apache License", " " * 27 + "Version 2.0, January 2004"]
    assert "   END OF TERMS AND CONDITIONS\n" in text and len(text.splitlines()) == 202
    assert f"   Copyright {settings()['copyright']}\n" in text


def test_wheel_carries_the_licence(wheel):
    (licence,) = [n for n in members(wheel) if n.endswith("/LICENSE")]
    assert licence.startswith("cnn_tutorial-0.1.0.dist-info/")
    assert read(wheel, licence) == (ROOT / "LICENSE").read_text()
    metadata = read(wheel, "cnn_tutorial-0.1.0.dist-info/METADATA").splitlines()
    assert "License-File: LICENSE" in metadata
    assert "Classifier: License :: OSI Approved :: Apache Software License" in metadata


def test_wheel_holds_every_module(wheel):
    in_repo = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "cnn_tutorial").rglob("*.py"))
    in_wheel = sorted(n for n in members(wheel) if n.endswith(".py"))
    assert in_wheel == in_repo
    assert {"cnn_tutorial/commands/train.py", "cnn_tutorial/commands/serve.py", "cnn_tutorial/common/onnx.py",
            "cnn_tutorial/pytorch/train.py", "cnn_tutorial/tensorflow/train.py"} <= set(in_wheel)


def test_wheel_declares_the_console_scripts(wheel):
    entry_points = configparser.ConfigParser(delimiters=["="])
    entry_points.read_string(read(wheel, "cnn_tutorial-0.1.0.dist-info/entry_points.txt"))
    declared = dict(entry_points["console_scripts"])
    assert declared == dict(s.split("=") for s in settings()["console_scripts"].split())
    assert SCRIPTS.items() <= declared.items()


def test_installed_copy_runs_both_scripts_away_from_the_repository(installed, tmp_path):
    target, env = installed
    run = lambda *args: subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    where = run(sys.executable, "-c", "import cnn_tutorial.commands.train as train; print(train.__file__)")
    assert Path(where.stdout.strip()) == target / "cnn_tutorial" / "commands" / "train.py", where.stderr
    for script, function in SCRIPTS.items():
        module, name = function.split(":")
        assert f"from {module} import {name}" in (target / "bin" / script).read_text()
    help_text = run(str(target / "bin" / "cnn_train"), "--help")
    assert help_text.returncode == 0 and help_text.stdout.startswith("usage: cnn_train") and "--artifacts-dir" in help_text.stdout
    images, labels = load_splits(max_images=1, val_size=256)["test"]
    Image.fromarray(images[0, ..., 0]).save(tmp_path / "boot.png")
    assert labels[0] == 9
    proc = run(str(target / "bin" / "cnn_predict"), str(ROOT / "artifacts" / "pytorch_cnn"), "boot.png")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "boot.png\t9\tAnkle boot\n"
