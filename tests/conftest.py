"""Fixtures shared by the tests (helpers.py holds the plain functions)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import SHARED_DATA, blobs, mlp_spec


@pytest.fixture
def shared_data(monkeypatch) -> Path:
    """The MNIST copy and the book's weights beside the repository."""
    shared_mnist()
    monkeypatch.setenv("NETC_DATA", str(SHARED_DATA))
    return SHARED_DATA


@pytest.fixture(name="shared_mnist")
def shared_mnist_fixture() -> Path:
    return shared_mnist()


def shared_mnist() -> Path:
    """The shared MNIST files; a test that needs them fails (never skips) without them."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.fail(f"the shared MNIST files are not at {SHARED_DATA / 'mnist'}: run the tests as the "
                    "README says (NETC_DATA=../shared/data from the repository root)", pytrace=False)
    return SHARED_DATA / "mnist"


@pytest.fixture
def tiny_npz(tmp_path) -> Path:
    """200 training and 60 test 1x8x8 images of 3 classes."""
    x, t = blobs(260, (1, 8, 8), 3)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x[:200], t_train=t[:200], x_test=x[200:], t_test=t[200:])
    return path


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="Run the fuzz tests (tests/test_fuzz.py) with ten times as many examples.")


@pytest.fixture
def poisoned_npz(tmp_path):
    """Test labels out of range: any evaluation of the test set raises, so a
    search that finishes has provably never looked at it."""
    x, t = blobs(300, (1, 8, 8), 3)
    path = tmp_path / "poisoned.npz"
    np.savez(path, x_train=x[:240], t_train=t[:240], x_test=x[240:], t_test=np.full(60, 99, np.int64))
    return path


@pytest.fixture
def mlp_file(tmp_path, poisoned_npz):
    path = tmp_path / "tinymlp.net"
    path.write_text(mlp_spec(poisoned_npz))
    return path
