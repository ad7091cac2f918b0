"Data integrity: files in each data set's real format, damaged in the ways files get damaged, and verified downloads."
import dataclasses
import gzip

import numpy as np
import pytest

from cnn_tutorial.common import data
from cnn_tutorial.common.data import CIFAR10_ARCHIVE, DATASETS, DataFile, download_verified, load_dataset, read_idx
from conftest import STEMS, write_cifar_archive, write_idx_dataset

@pytest.fixture
def isolated(tmp_path, monkeypatch):
    "No data set anywhere but where a test puts it."
    monkeypatch.setattr(data, "DEBIAN_DATASETS_DIR", tmp_path / "debian")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CNN_TUTORIAL_DATA", raising=False)
    return tmp_path


@pytest.fixture
def tiny_fashion(isolated, monkeypatch):
    "A complete, small Fashion-MNIST in the real format, registered with its own checksums and sizes."
    folder = isolated / "fashion"; folder.mkdir()
    arrays, files = write_idx_dataset(folder)
    monkeypatch.setitem(DATASETS, "fashion_mnist", dataclasses.replace(DATASETS["fashion_mnist"], files=files, train_size=20, test_size=10))
    return folder, arrays


def test_explicit_folder_is_read_and_verified(tiny_fashion):
    folder, arrays = tiny_fashion
    d = load_dataset("fashion_mnist", folder, download=False)
    np.testing.assert_array_equal(d["train_images"][..., 0], arrays[STEMS[0]])
    np.testing.assert_array_equal(d["test_labels"], arrays[STEMS[3]])


def test_uncompressed_files_are_accepted(tiny_fashion):
    folder, arrays = tiny_fashion
    f = folder / "t10k-labels-idx1-ubyte.gz"
    (folder / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(f.read_bytes())); f.unlink()
    np.testing.assert_array_equal(load_dataset("fashion_mnist", folder, download=False)["test_labels"], arrays[STEMS[3]])


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-100], "header promises"),
    (lambda raw: b"\x00\x00\x08\x02" + raw[4:], "bad IDX magic"),
    (lambda raw: raw[:100] + bytes([raw[100] ^ 1]) + raw[101:], "checksum mismatch"),
])
def test_damaged_files_are_refused_naming_the_file(tiny_fashion, damage, message):
    folder, _ = tiny_fashion
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(damage(gzip.decompress(path.read_bytes()))))
    with pytest.raises(ValueError) as e: load_dataset("fashion_mnist", folder, download=False)
    assert message in str(e.value) and "train-images-idx3-ubyte.gz" in str(e.value)


def test_wrong_counts_are_refused(tiny_fashion, monkeypatch):
    folder, _ = tiny_fashion
    monkeypatch.setitem(DATASETS, "fashion_mnist", dataclasses.replace(DATASETS["fashion_mnist"], train_size=60_000))
    with pytest.raises(ValueError, match=r"the train split holds images \(20, 28, 28, 1\).*expected \(60000, 28, 28, 1\)"):
        load_dataset("fashion_mnist", folder, download=False)


def test_truncated_gzip_is_refused(tiny_fashion):
    folder, _ = tiny_fashion
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="damaged gzip data"): read_idx(path)


def test_missing_data_without_download_names_the_places_searched(isolated):
    with pytest.raises(FileNotFoundError, match="fashion_mnist not found in"):
        data.locate_dataset("fashion_mnist", isolated / "nothing", download=False)


def test_download_is_verified_before_it_replaces_anything(tiny_fashion, tmp_path):
    folder, _ = tiny_fashion
    source = folder / "train-labels-idx1-ubyte.gz"
    dest = tmp_path / "out" / "train-labels-idx1-ubyte.gz"
    good = DATASETS["fashion_mnist"].files[1]
    assert download_verified(source.as_uri(), dest, good) == dest and dest.read_bytes() == source.read_bytes()
    dest.write_bytes(b"previous")
    with pytest.raises(ValueError, match="failed verification"):
        download_verified(source.as_uri(), dest, dataclasses.replace(good, archive_md5="0" * 32))
    assert dest.read_bytes() == b"previous"
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]  # no partial file left


def test_download_goes_to_the_named_folder_when_nothing_is_found(tiny_fashion, isolated, monkeypatch):
    folder, arrays = tiny_fashion
    monkeypatch.setitem(DATASETS, "fashion_mnist", dataclasses.replace(DATASETS["fashion_mnist"], url=folder.as_uri() + "/"))
    target = isolated / "mydata"
    assert data.locate_dataset("fashion_mnist", target) == target
    np.testing.assert_array_equal(load_dataset("fashion_mnist", target, download=False)["train_labels"], arrays[STEMS[1]])


def test_mnist_in_its_real_format(isolated, monkeypatch):
    folder = isolated / "mnist"; folder.mkdir()
    arrays, files = write_idx_dataset(folder, seed=1)
    # MNIST's publisher gives the MD5 of each gzipped file: keep only that, as the real description does.
    files = tuple(DataFile(f.name, archive_md5=f.archive_md5) for f in files)
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], files=files, train_size=20, test_size=10))
    d = load_dataset("mnist", folder, download=False)
    np.testing.assert_array_equal(d["test_images"][..., 0], arrays[STEMS[2]])
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), mtime=1))  # recompressed: the MD5 no longer matches
    with pytest.raises(ValueError, match="checksum mismatch: not the published"): load_dataset("mnist", folder, download=False)


def test_cifar10_from_its_binary_archive(isolated, monkeypatch):
    folder = isolated / "cifar"; folder.mkdir()
    images, labels, files = write_cifar_archive(folder)
    monkeypatch.setitem(DATASETS, "cifar10", dataclasses.replace(DATASETS["cifar10"], files=files, train_size=20, test_size=4))
    d = load_dataset("cifar10", folder, download=False)
    np.testing.assert_array_equal(d["train_images"], images[:20])
    np.testing.assert_array_equal(d["test_labels"], labels[20:])
    assert d["test_images"].shape == (4, 32, 32, 3)


def test_cifar10_damaged_archive_is_refused(isolated, monkeypatch):
    folder = isolated / "cifar"; folder.mkdir()
    _, _, files = write_cifar_archive(folder)
    monkeypatch.setitem(DATASETS, "cifar10", dataclasses.replace(DATASETS["cifar10"], files=files, train_size=20, test_size=4))
    archive = folder / CIFAR10_ARCHIVE
    archive.write_bytes(archive.read_bytes()[:-50])
    with pytest.raises(ValueError, match="checksum mismatch"): load_dataset("cifar10", folder, download=False)
    monkeypatch.setitem(DATASETS, "cifar10", dataclasses.replace(DATASETS["cifar10"], files=(DataFile(CIFAR10_ARCHIVE),), train_size=20, test_size=4))
    with pytest.raises(ValueError, match="damaged archive"): load_dataset("cifar10", folder, download=False)


def test_the_real_fashion_mnist_matches_its_checksums():
    d = load_dataset("fashion_mnist", download=False)
    assert {k: v.shape for k, v in d.items()} == {"train_images": (60000, 28, 28, 1), "train_labels": (60000,),
                                                  "test_images": (10000, 28, 28, 1), "test_labels": (10000,)}


def test_the_environment_variable_keeps_data_sets_apart(tiny_fashion, isolated, monkeypatch):
    folder, arrays = tiny_fashion
    monkeypatch.setenv("CNN_TUTORIAL_DATA", str(folder))
    assert data.find_dataset_dir(dataset="fashion_mnist") == folder  # the variable's folder itself
    # MNIST's files have the same names: they are looked for, and downloaded, in the mnist sub-folder only
    assert data.candidate_dirs(dataset="mnist")[0] == folder / "mnist"
    assert data.find_dataset_dir(dataset="mnist") is None

