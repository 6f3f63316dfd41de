"""Tests of runtime/data: IDX files, the dataset table, lookup order, npz,
truth tables, the Dataset (limit, validation split, shapes, batches) and the
real MNIST copy in shared/data."""

import gzip
import socket
from pathlib import Path

import numpy as np
import pytest

import helpers

from netc.runtime.data import (
    DATASETS, DataError, Dataset, adapt_shape, cache_dir, info, list_datasets,
    load_dataset, read_idx, split_indices, write_idx,
)
from netc.runtime.data.idxset import read_set
from netc.runtime.data.locate import locate
from netc.runtime.data.registry import IDX_STEMS

SHARED_DATA = helpers.SHARED_DATA
needs_mnist = pytest.mark.usefixtures("shared_mnist")   # fails, never skips, without the files


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test sees the user's cache, NETC_DATA or mirror override."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("NETC_DATA", raising=False)
    monkeypatch.delenv("NETC_MIRROR", raising=False)


def closed_port_url():
    # A port nothing listens on: connections are refused at once, so the
    # "download" step fails fast and offline-like.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def write_image_set(folder, n_train=12, n_test=5, hw=(4, 4), gz=True):
    """A small, valid IDX image set; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *hw), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 3).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *hw), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 3).astype(np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), array)
    return arrays


def placeholders(folder):
    """Empty files with the four names: enough for lookup, which only checks presence."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in IDX_STEMS:
        (folder / f"{stem}.gz").touch()
    return folder


# --- IDX files -------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    back = read_idx(write_idx(tmp_path / name, array))
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_gzip_is_recognised_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    path = write_idx(tmp_path / "labels-idx1-ubyte", array, compress=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(path), array)


def test_idx_header_bytes_match_the_format(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((3, 2, 2), np.uint8))
    assert path.read_bytes()[:16] == bytes.fromhex("00000803" "00000003" "00000002" "00000002")


def corrupt(tmp_path, data, name="bad-idx1-ubyte"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


GOOD = bytes.fromhex("00000801 00000004") + bytes([1, 2, 3, 4])


@pytest.mark.parametrize("data, words", [
    (GOOD[:-1], "truncated"),
    (GOOD + b"\x00", "trailing bytes"),
    (GOOD[:6], "truncated header"),
    (b"\x00\x00", "too short"),
    (b"\x00\x00\x07\x01" + GOOD[4:], "wrong magic number"),
    (b"\x12\x34" + GOOD[2:], "wrong magic number"),
    (bytes.fromhex("00000800"), "0 dimensions"),
    (bytes.fromhex("00000802 00000004 00000002") + bytes(4), "header says 4x2"),
])
def test_bad_idx_raises_data_error_naming_the_file(tmp_path, data, words):
    path = corrupt(tmp_path, data)
    with pytest.raises(DataError, match=words) as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_truncated_and_corrupt_gzip(tmp_path):
    packed = gzip.compress(GOOD)
    with pytest.raises(DataError, match="truncated or corrupt gzip"):
        read_idx(corrupt(tmp_path, packed[:-6], "cut.gz"))
    with pytest.raises(DataError, match="truncated or corrupt gzip"):
        read_idx(corrupt(tmp_path, packed[:10] + b"garbage" * 3, "junk.gz"))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "nothing")


def test_image_set_with_wrong_dims_or_counts(tmp_path):
    write_image_set(tmp_path / "dims")
    write_idx(tmp_path / "dims" / "train-labels-idx1-ubyte.gz", np.zeros((12, 2), np.uint8))
    with pytest.raises(DataError, match="labels must have 1 dimension"):
        read_set(tmp_path / "dims")
    write_image_set(tmp_path / "count")
    write_idx(tmp_path / "count" / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="5 t10k images but 4 labels"):
        read_set(tmp_path / "count")


def test_registered_checksums_and_shapes_are_checked(tmp_path):
    # Valid IDX, wrong content: MNIST's checksum catches it; Fashion-MNIST,
    # with no checksum recorded, still checks the registered dimensions.
    folder = placeholders(tmp_path / "set")
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="checksum mismatch for train-labels-idx1-ubyte"):
        read_set(folder, DATASETS["mnist"])
    with pytest.raises(DataError, match="wrong dimensions .*: 5, expected 60000"):
        read_set(folder, DATASETS["fashion-mnist"])


# --- the table -----------------------------------------------------------

def test_list_datasets_names_every_kind():
    names = [name for name, _ in list_datasets()]
    assert names == ["mnist", "fashion-mnist", "idx", "npz", "and", "or", "nand", "xor"]
    assert all(description for _, description in list_datasets())


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(DataError, match="unknown dataset 'cifar'.*mnist, fashion-mnist"):
        load_dataset({"name": "cifar"}, [784], 0)


@pytest.mark.parametrize("name, outputs", [
    ("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("nand", [1, 1, 1, 0]), ("xor", [0, 1, 1, 0]),
])
def test_truth_tables(name, outputs):
    data = load_dataset({"name": name, "validation": None, "limit": None, "path": None}, [2], 0)
    np.testing.assert_array_equal(data.x_train, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(data.t_train, np.array(outputs, np.float32)[:, None])
    assert data.x_train.dtype == data.t_train.dtype == np.float32
    np.testing.assert_array_equal(data.x_test, data.x_train)
    assert data.x_val is None and data.num_classes is None
    assert data.batch(data.x_train, [3]).tolist() == [[1.0, 1.0]]


def test_truth_table_rejects_a_path_and_a_wrong_input():
    with pytest.raises(DataError, match="takes no path"):
        load_dataset({"name": "xor", "path": "x"}, [2], 0)
    with pytest.raises(DataError, match="shape 2 .* input is 3"):
        load_dataset({"name": "xor"}, [3], 0)


# --- npz and idx folders ---------------------------------------------------

def test_npz(tmp_path):
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(1)
    np.savez(path, x_train=rng.integers(0, 256, (20, 8, 8), dtype=np.uint8),
             t_train=np.arange(20, dtype=np.int32) % 4,
             x_test=rng.integers(0, 256, (6, 8, 8), dtype=np.uint8),
             t_test=np.arange(6, dtype=np.uint8) % 4)
    data = load_dataset({"name": "npz", "path": str(path)}, [1, 8, 8], 0)
    assert data.x_train.shape == (20, 1, 8, 8) and data.x_test.shape == (6, 1, 8, 8)
    assert data.t_train.dtype == data.t_test.dtype == np.int64
    assert data.num_classes == 4 and data.location == str(path)
    assert info("npz", path=path)["train"] == 20


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "short.npz", x_train=np.zeros((2, 2)), t_train=np.zeros(2))
    with pytest.raises(DataError, match="missing array.*x_test, t_test"):
        load_dataset({"name": "npz", "path": str(tmp_path / "short.npz")}, [2], 0)
    objects = np.array([{}, {}], dtype=object)
    np.savez(tmp_path / "pickle.npz", x_train=objects, t_train=objects, x_test=objects,
             t_test=objects)
    with pytest.raises(DataError, match="cannot read as .npz"):
        load_dataset({"name": "npz", "path": str(tmp_path / "pickle.npz")}, [2], 0)
    with pytest.raises(DataError, match="needs path=FILE"):
        load_dataset({"name": "npz"}, [2], 0)


def test_idx_folder(tmp_path):
    arrays = write_image_set(tmp_path / "set", gz=False)
    data = load_dataset({"name": "idx", "path": str(tmp_path / "set")}, [16], 0)
    assert data.x_train.shape == (12, 16) and data.verified is None
    np.testing.assert_array_equal(data.x_test, arrays["t10k-images-idx3-ubyte"].reshape(5, 16))
    with pytest.raises(DataError, match="no such folder"):
        load_dataset({"name": "idx", "path": str(tmp_path / "nope")}, [16], 0)


# --- Dataset: shapes, limit, split, batches --------------------------------

@pytest.fixture
def small(tmp_path):
    write_image_set(tmp_path / "set", n_train=40)
    return {"name": "idx", "path": str(tmp_path / "set"), "validation": None, "limit": None}


@pytest.mark.parametrize("stored, wanted, ok", [
    ((1, 28, 28), (784,), True), ((1, 28, 28), (1, 28, 28), True), ((28, 28), (1, 28, 28), True),
    ((784,), (784,), True), ((1, 28, 28), (3, 32, 32), False), ((1, 28, 28), (28, 28, 1), False),
    ((1, 28, 28), (783,), False),
])
def test_adapt_shape(stored, wanted, ok):
    if ok:
        assert adapt_shape("d", stored, wanted) == wanted
    else:
        with pytest.raises(DataError, match="gives samples of shape"):
            adapt_shape("d", stored, wanted)


def test_flattening_is_a_view_and_arrays_are_read_only(small):
    image = load_dataset(small, [1, 4, 4], 0)
    flat = load_dataset(small, [16], 0)
    assert image.x_train.shape == (40, 1, 4, 4) and flat.x_train.shape == (40, 16)
    assert flat.x_train.dtype == np.uint8 and flat.x_train.base is not None
    np.testing.assert_array_equal(flat.x_train, image.x_train.reshape(40, 16))
    assert not flat.x_train.flags.writeable and not flat.t_test.flags.writeable


def test_batch_converts_only_the_batch(small):
    data = load_dataset(small, [16], 0)
    batch = data.batch(data.x_train, np.array([3, 1]))
    assert batch.dtype == np.float32 and batch.shape == (2, 16)
    np.testing.assert_allclose(batch, data.x_train[[3, 1]] / 255.0, rtol=1e-6)
    assert batch.flags.writeable and data.x_train.dtype == np.uint8
    assert Dataset.batch(np.array([[255]], np.uint8), slice(None)).item() == 1.0


def test_validation_split_is_reproducible_and_disjoint(small):
    small["validation"] = 0.25
    a, b = load_dataset(small, [16], 7), load_dataset(small, [16], 7)
    assert len(a.x_train) == 30 and len(a.x_val) == 10 and len(a.x_test) == 5
    np.testing.assert_array_equal(a.x_val, b.x_val)
    train, val = split_indices(40, 0.25, 7)
    assert not set(train) & set(val) and sorted([*train, *val]) == list(range(40))
    other_train, other_val = split_indices(40, 0.25, 8)
    assert not np.array_equal(val, other_val)


def test_limit_comes_before_the_split(small):
    small.update(limit=20, validation=0.5)
    data = load_dataset(small, [16], 0)
    assert len(data.x_train) == 10 and len(data.x_val) == 10
    everything = load_dataset({**small, "validation": None}, [16], 0)
    # Both halves come from the first 20 samples, never from the rest or the test set.
    rows = {bytes(r) for r in everything.x_train[:20]}
    assert {bytes(r) for r in np.concatenate([data.x_train, data.x_val])} == rows


@pytest.mark.parametrize("change, words", [
    ({"validation": 1.5}, "fraction in"), ({"validation": 0.001}, "holds out 0"),
    ({"limit": 0}, "at least 1"),
])
def test_bad_limit_or_validation(small, change, words):
    with pytest.raises(DataError, match=words):
        load_dataset({**small, **change}, [16], 0)


# --- lookup order ------------------------------------------------------------

def test_lookup_order(tmp_path, monkeypatch):
    entry = DATASETS["mnist"]
    explicit = placeholders(tmp_path / "explicit")
    parent = tmp_path / "parent"
    placeholders(parent / "mnist")
    env = placeholders(tmp_path / "env" / "mnist")
    cache = placeholders(cache_dir("mnist"))
    monkeypatch.setenv("NETC_MIRROR", closed_port_url())
    assert cache == tmp_path / "xdg-cache" / "netc" / "mnist"
    assert locate(entry) == cache
    monkeypatch.setenv("NETC_DATA", str(tmp_path / "env"))
    assert locate(entry) == env
    assert locate(entry, [(explicit, "--data-dir")]) == explicit
    assert locate(entry, [(parent, "--data-dir")]) == parent / "mnist"
    # An explicit folder without the files falls through to the next place.
    assert locate(entry, [(tmp_path / "empty", "--data-dir")]) == env


def test_cache_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir("mnist") == tmp_path / ".cache" / "netc" / "mnist"


def test_offline_error_lists_every_place_and_url(tmp_path, monkeypatch):
    mirror = closed_port_url()
    monkeypatch.setenv("NETC_MIRROR", mirror)
    monkeypatch.setenv("NETC_DATA", str(tmp_path / "env"))
    partial = tmp_path / "dd"
    partial.mkdir()
    (partial / "train-images-idx3-ubyte.gz").touch()
    with pytest.raises(DataError) as error:
        load_dataset({"name": "mnist"}, [784], 0, data_dir=partial)
    message = str(error.value)
    for text in [f"{partial} (--data-dir): missing train-labels-idx1-ubyte[.gz]",
                 f"{partial / 'mnist'} (--data-dir): no such folder",
                 f"{tmp_path / 'env' / 'mnist'} ($NETC_DATA)",
                 f"{cache_dir('mnist')} (cache)",
                 f"{mirror}train-labels-idx1-ubyte.gz: ", "refused",
                 "netc data fetch mnist --from DIR", "NETC_DATA=DIR"]:
        assert text in message
    assert not cache_dir("mnist").exists()  # a failed download leaves nothing behind


def test_info_when_missing_does_not_download(tmp_path, monkeypatch):
    monkeypatch.setenv("NETC_MIRROR", closed_port_url())
    result = info("fashion-mnist")
    assert result["found"] is False and any("(cache)" in line for line in result["tried"])


# --- the real MNIST in shared/data -----------------------------------------

@pytest.fixture(scope="module")
def mnist():
    # Loaded once for the module: decompressing and hashing takes ~0.5 s.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NETC_DATA", str(SHARED_DATA))
        patch.setenv("NETC_MIRROR", closed_port_url())
        return load_dataset({"name": "mnist", "validation": None, "limit": None, "path": None},
                            [1, 28, 28], 0)


@needs_mnist
def test_mnist_shapes_and_checksums(mnist):
    assert mnist.location == str(SHARED_DATA / "mnist") and mnist.verified is True
    assert mnist.x_train.shape == (60000, 1, 28, 28) and mnist.x_test.shape == (10000, 1, 28, 28)
    assert mnist.x_train.dtype == np.uint8 and mnist.t_train.dtype == np.int64
    assert mnist.num_classes == 10 and np.bincount(mnist.t_test).tolist()[:2] == [980, 1135]
    assert mnist.x_train.max() == 255


@needs_mnist
def test_mnist_batch(mnist):
    batch = mnist.batch(mnist.x_train.reshape(60000, 784), np.arange(0, 60000, 6000))
    assert batch.shape == (10, 784) and batch.dtype == np.float32
    assert 0.0 == batch.min() and batch.max() == 1.0


@needs_mnist
def test_mnist_info(monkeypatch):
    monkeypatch.setenv("NETC_DATA", str(SHARED_DATA))
    result = info("mnist")
    assert result["found"] and result["verified"] is True
    assert (result["train"], result["test"], result["sample_shape"]) == (60000, 10000, [1, 28, 28])
    assert {Path(f["file"]).name for f in result["files"]} == {f"{s}.gz" for s in IDX_STEMS}


@needs_mnist
def test_mnist_into_a_wrong_input(monkeypatch):
    monkeypatch.setenv("NETC_DATA", str(SHARED_DATA))
    with pytest.raises(DataError, match=r"1x28x28 \(784 values\).*3x32x32 \(3072 values\)"):
        load_dataset({"name": "mnist"}, [3, 32, 32], 0)


def test_netc_data_may_name_the_data_sets_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("NETC_MIRROR", closed_port_url())
    env = placeholders(tmp_path / "env" / "mnist")
    monkeypatch.setenv("NETC_DATA", str(env))             # DIR/mnist, as --data-dir DIR/mnist
    assert locate(DATASETS["mnist"]) == env
    # ... but that folder does not answer for fashion-mnist, whose files have the same names
    with pytest.raises(DataError) as error:
        locate(DATASETS["fashion-mnist"], allow_download=False)
    assert f"{env / 'fashion-mnist'} ($NETC_DATA): no such folder" in str(error.value)


def test_data_list_says_where_each_set_is(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from netc.cli import cli
    placeholders(tmp_path / "env" / "mnist")
    monkeypatch.setenv("NETC_DATA", str(tmp_path / "env"))
    lines = CliRunner().invoke(cli, ["data", "list"]).output.splitlines()
    where = {lines[i].split()[0]: lines[i + 1].strip() for i in range(0, len(lines), 2)}
    assert where["mnist"] == f"{tmp_path / 'env' / 'mnist'} ($NETC_DATA)"
    assert where["fashion-mnist"].startswith("not here: 'netc data fetch fashion-mnist' downloads it")
    assert where["xor"] == "built in" and where["npz"] == "your own files: data npz path=FILE"


def test_data_info_text_has_no_python_reprs(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from netc.cli import cli
    write_image_set(tmp_path / "env" / "fashion-mnist", n_train=12, n_test=5, hw=(28, 28))
    monkeypatch.setenv("NETC_DATA", str(tmp_path / "env"))
    text = CliRunner().invoke(cli, ["data", "info", "fashion-mnist"]).output
    assert "{" not in text and "[" not in text and "True" not in text and "None" not in text
    assert f"  location   {tmp_path / 'env' / 'fashion-mnist'}" in text
    assert "  samples    12 train, 5 test; each 1x28x28 uint8, targets int64" in text
    missing = CliRunner().invoke(cli, ["data", "info", "mnist"]).output
    assert "not found; looked in:" in missing and "get it with: netc data fetch mnist" in missing
