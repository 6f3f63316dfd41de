"""Tests of downloading and fetching datasets: a local http.server on
127.0.0.1 plays the mirror (NETC_MIRROR), folders play `--from DIR`."""

import functools
import hashlib
import http.server
import threading

import numpy as np
import pytest

import helpers

from netc.runtime.data import DATASETS, DataError, cache_dir, fetch, load_dataset, write_idx
from netc.runtime.data.registry import IDX_STEMS, Entry, IdxFile

SHARED_MNIST = helpers.SHARED_DATA / "mnist"
needs_mnist = pytest.mark.usefixtures("shared_mnist")   # fails, never skips, without the files

SHAPES = {"train-images-idx3-ubyte": (8, 4, 4), "train-labels-idx1-ubyte": (8,),
          "t10k-images-idx3-ubyte": (3, 4, 4), "t10k-labels-idx1-ubyte": (3,)}


def tiny_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {stem: rng.integers(0, 10 if "labels" in stem else 256, shape, dtype=np.uint8)
            for stem, shape in SHAPES.items()}


def write_tiny(folder, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in tiny_arrays(seed).items():
        write_idx(folder / f"{stem}.gz", array)
    return folder


@pytest.fixture(autouse=True)
def tiny(tmp_path, monkeypatch):
    """A registered dataset "tiny" whose checksums are those of seed 0's arrays;
    and no test sees the user's cache or environment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("NETC_DATA", raising=False)
    monkeypatch.delenv("NETC_MIRROR", raising=False)
    files = tuple(
        IdxFile(stem, SHAPES[stem], hashlib.sha256(
            bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
            + array.tobytes()).hexdigest())
        for stem, array in tiny_arrays().items())
    monkeypatch.setitem(DATASETS, "tiny", Entry("tiny", "remote", "test set", files,
                                                ("https://unused.invalid/",)))


@pytest.fixture
def mirror(monkeypatch):
    """Start a quiet HTTP server on a free port serving a folder; yields a
    function (folder -> base URL) and stops every server afterwards."""
    servers = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    def serve(folder):
        handler = functools.partial(Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A short poll interval so shutdown() returns at once.
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def spec(name):
    return {"name": name, "validation": None, "limit": None, "path": None}


def test_download_verifies_and_installs(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("NETC_MIRROR", mirror(write_tiny(tmp_path / "served")))
    data = load_dataset(spec("tiny"), [16], 0)
    cache = cache_dir("tiny")
    assert data.location == str(cache) and data.verified is True
    assert data.x_train.shape == (8, 16)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{s}.gz" for s in IDX_STEMS)
    # The second load finds the cache and downloads nothing.
    monkeypatch.setenv("NETC_MIRROR", "http://127.0.0.1:9/")
    assert load_dataset(spec("tiny"), [16], 0).location == str(cache)


def test_bad_checksum_is_never_installed(tmp_path, mirror, monkeypatch):
    served = write_tiny(tmp_path / "served", seed=1)  # valid IDX, other bytes
    url = mirror(served)
    monkeypatch.setenv("NETC_MIRROR", url)
    with pytest.raises(DataError) as error:
        load_dataset(spec("tiny"), [16], 0)
    message = str(error.value)
    assert f"{url}train-labels-idx1-ubyte.gz: " in message and "checksum mismatch" in message
    cache = cache_dir("tiny")
    assert not cache.exists() or not any(cache.iterdir())  # neither final file nor .part


def test_falls_back_to_the_next_mirror(tmp_path, mirror, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    first, second = mirror(empty), mirror(write_tiny(tmp_path / "served"))
    monkeypatch.setenv("NETC_MIRROR", f"{first} {second}")
    assert load_dataset(spec("tiny"), [16], 0).verified is True
    path = fetch("tiny")
    assert path == cache_dir("tiny")


def test_missing_everywhere_reports_http_errors(tmp_path, mirror, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    url = mirror(empty)
    monkeypatch.setenv("NETC_MIRROR", url)
    with pytest.raises(DataError, match=f"{url}train-labels-idx1-ubyte.gz: HTTP 404"):
        fetch("tiny")


@needs_mnist
def test_mnist_download_from_a_local_mirror(mirror, monkeypatch):
    # The real files and checksums, end to end, with the shared copy as mirror.
    monkeypatch.setenv("NETC_MIRROR", mirror(SHARED_MNIST))
    path = fetch("mnist")
    assert path == cache_dir("mnist")
    assert {p.name for p in path.iterdir()} == {f"{s}.gz" for s in IDX_STEMS}


def test_fetch_from_a_folder(tmp_path):
    source = write_tiny(tmp_path / "parent" / "tiny")
    assert fetch("tiny", source_dir=tmp_path / "parent") == cache_dir("tiny")
    target = fetch("tiny", source_dir=source, data_dir=tmp_path / "data")
    assert target == tmp_path / "data" / "tiny"
    assert load_dataset(spec("tiny"), [1, 4, 4], 0, data_dir=tmp_path / "data").verified


def test_fetch_from_a_folder_rejects_bad_files(tmp_path):
    source = write_tiny(tmp_path / "bad", seed=2)
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch("tiny", source_dir=source)
    assert not any(p.name.endswith((".part", ".gz")) for p in cache_dir("tiny").iterdir())
    with pytest.raises(DataError, match="missing"):
        fetch("tiny", source_dir=tmp_path)


def test_fetch_rejects_local_kinds():
    with pytest.raises(DataError, match="built in"):
        fetch("xor")
    with pytest.raises(DataError, match="path="):
        fetch("npz")


@needs_mnist
def test_fetch_mnist_from_the_shared_copy(tmp_path):
    target = fetch("mnist", source_dir=SHARED_MNIST.parent, data_dir=tmp_path / "data")
    assert target == tmp_path / "data" / "mnist"
    assert (target / "train-images-idx3-ubyte.gz").stat().st_size == \
        (SHARED_MNIST / "train-images-idx3-ubyte.gz").stat().st_size
