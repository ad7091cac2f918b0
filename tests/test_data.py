"Data integrity: files in the real IDX format, damaged in the ways files get damaged, and verified downloads."
import gzip
import hashlib
import struct

import numpy as np
import pytest

from cnn_tutorial.common import data
from cnn_tutorial.common.data import FASHION_MNIST_FILES, download_verified, load_fashion_mnist, read_idx


def idx(a):
    return struct.pack(">HBB", 0, 8, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape) + a.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_dataset(tmp_path, monkeypatch):
    "A complete, small data set in the real format, with checksums registered for its files."
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28)), "train-labels-idx1-ubyte": np.arange(20) % 10,
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28)), "t10k-labels-idx1-ubyte": np.arange(10) % 10}
    sums = {}
    for stem, a in arrays.items():
        raw = idx(a)
        (tmp_path / f"{stem}.gz").write_bytes(gzip.compress(raw))
        sums[stem] = hashlib.sha256(raw).hexdigest()
    monkeypatch.setattr(data, "FASHION_MNIST_FILES", sums)
    return tmp_path, arrays


def test_explicit_folder_is_read_and_verified(tiny_dataset):
    folder, arrays = tiny_dataset
    d = load_fashion_mnist(folder, download=False)
    np.testing.assert_array_equal(d["train_images"], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(d["test_labels"], arrays["t10k-labels-idx1-ubyte"])


def test_uncompressed_files_are_accepted(tiny_dataset):
    folder, arrays = tiny_dataset
    f = folder / "t10k-labels-idx1-ubyte.gz"
    (folder / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(f.read_bytes())); f.unlink()
    np.testing.assert_array_equal(load_fashion_mnist(folder, download=False)["test_labels"], arrays["t10k-labels-idx1-ubyte"])


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-100], "header promises"),
    (lambda raw: b"\x00\x00\x08\x02" + raw[4:], "bad IDX magic"),
    (lambda raw: raw[:100] + bytes([raw[100] ^ 1]) + raw[101:], "checksum mismatch"),
])
def test_damaged_files_are_refused_naming_the_file(tiny_dataset, damage, message):
    folder, _ = tiny_dataset
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(damage(gzip.decompress(path.read_bytes()))))
    with pytest.raises(ValueError) as e: read_idx(path, data.FASHION_MNIST_FILES["train-images-idx3-ubyte"])
    assert message in str(e.value) and "train-images-idx3-ubyte.gz" in str(e.value)


def test_truncated_gzip_is_refused(tiny_dataset):
    folder, _ = tiny_dataset
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="damaged gzip data"): read_idx(path)


def test_missing_data_without_download_names_the_places_searched(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DATA_DIR", tmp_path / "debian")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CNN_TUTORIAL_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="not found in"): data.locate_fashion_mnist(tmp_path / "nothing", download=False)


def test_download_is_verified_before_it_replaces_anything(tiny_dataset, tmp_path):
    folder, _ = tiny_dataset
    source = folder / "train-labels-idx1-ubyte.gz"
    dest = tmp_path / "out" / "train-labels-idx1-ubyte.gz"
    good = data.FASHION_MNIST_FILES["train-labels-idx1-ubyte"]
    assert download_verified(source.as_uri(), dest, good) == dest and dest.read_bytes() == source.read_bytes()
    dest.write_bytes(b"previous")
    with pytest.raises(ValueError, match="failed verification"): download_verified(source.as_uri(), dest, "0" * 64)
    assert dest.read_bytes() == b"previous"
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]  # no partial file left


def test_download_goes_to_the_named_folder_when_nothing_is_found(tiny_dataset, tmp_path, monkeypatch):
    folder, arrays = tiny_dataset
    monkeypatch.setattr(data, "FASHION_MNIST_URL", folder.as_uri() + "/")
    monkeypatch.setattr(data, "DEBIAN_DATA_DIR", tmp_path / "debian")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CNN_TUTORIAL_DATA", raising=False)
    target = tmp_path / "mydata"
    assert data.locate_fashion_mnist(target) == target
    np.testing.assert_array_equal(load_fashion_mnist(target, download=False)["train_labels"], arrays["train-labels-idx1-ubyte"])


def test_the_real_fashion_mnist_matches_its_checksums():
    d = load_fashion_mnist(download=False)
    assert {k: v.shape for k, v in d.items()} == {"train_images": (60000, 28, 28), "train_labels": (60000,),
                                                  "test_images": (10000, 28, 28), "test_labels": (10000,)}
    assert set(FASHION_MNIST_FILES) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
