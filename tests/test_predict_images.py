"""Issue 14 item 6 and issue 13 item 4: `netc predict` reads every image format
the same way (scaled to 0-1), reports each bad file clearly and goes on."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from helpers import tiny_spec
from netc.cli import cli
from netc.errors import NetcDataError
from netc.images import read_images


def netc_(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


PIXELS = (np.arange(64, dtype=np.uint8) * 4).reshape(8, 8)
EXPECTED = (PIXELS.astype(np.float32) / 255).reshape(1, 1, 8, 8)


def _pgm(path, comment=b"# CREATOR: GIMP PNM Filter Version 1.1\n"):
    path.write_bytes(b"P5\n" + comment + b"8 8\n255\n" + PIXELS.tobytes())
    return path


@pytest.mark.parametrize("make", ["npy_uint8", "npy_float", "pgm_comment", "pgm_plain", "png", "png_rgb", "jpeg"])
def test_every_format_reaches_the_network_scaled_to_0_1(tmp_path, make):
    if make == "npy_uint8":
        np.save(path := tmp_path / "a.npy", PIXELS)
    elif make == "npy_float":
        np.save(path := tmp_path / "a.npy", PIXELS / 255)
    elif make == "pgm_comment":
        path = _pgm(tmp_path / "a.pgm")
    elif make == "pgm_plain":
        path = tmp_path / "a.pgm"
        path.write_bytes(b"P2\n# a comment\n8 8\n255\n" + " ".join(map(str, PIXELS.ravel())).encode() + b"\n")
    elif make == "png":
        Image.fromarray(PIXELS).save(path := tmp_path / "a.png")
    elif make == "png_rgb":
        Image.fromarray(np.stack([PIXELS] * 3, axis=2)).save(path := tmp_path / "a.png")
    else:
        Image.fromarray(PIXELS).save(path := tmp_path / "a.jpg", quality=100)
    array = read_images(path, (1, 8, 8))
    tolerance = 0.02 if make == "jpeg" else 1e-6
    assert array.dtype == np.float32 and np.abs(array - EXPECTED).max() <= tolerance


def _png_bytes():
    import io
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, size=(8, 8), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    Image.fromarray(noise).save(buffer, format="PNG")
    return buffer.getvalue()


BAD = {
    "truncated.png": (lambda p: p.write_bytes(_png_bytes()[:-200]), "damaged or truncated"),
    "text.png": (lambda p: p.write_text("this is not a picture\n"), "not a picture"),
    "empty.npy": (lambda p: np.save(p, np.zeros(0, np.float32)), "empty array"),
    "strings.npy": (lambda p: np.save(p, np.array(["a", "b"])), "holds text"),
    "bool.npy": (lambda p: np.save(p, np.ones(64, bool)), "true/false"),
    "complex.npy": (lambda p: np.save(p, np.ones(64, complex)), "complex"),
    "nan.npy": (lambda p: np.save(p, np.full(64, np.nan)), "NaN"),
    "objects.npy": (lambda p: np.save(p, np.array([{}, 1], dtype=object)), "never unpickles"),
    "zero-bytes.npy": (lambda p: p.write_bytes(b""), "not a readable .npy"),
    "cut.npy": (lambda p: p.write_bytes(_npy_bytes()[:200]), "truncated"),
    "cut-header.npy": (lambda p: p.write_bytes(_npy_bytes()[:100]), "not a readable .npy"),
    "wide.npy": (lambda p: np.save(p, np.full(300, 1000)), "0-255"),
    "bad-header.pgm": (lambda p: p.write_bytes(b"P5\n8 x\n255\n"), "PGM header"),
    "short.pgm": (lambda p: p.write_bytes(b"P5\n8 8\n255\n" + bytes(10)), "truncated"),
}


def _npy_bytes():
    import io
    buffer = io.BytesIO()
    np.save(buffer, np.ones(64, np.float32))
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_image_is_a_clear_error_for_that_file(tmp_path, name):
    make, words = BAD[name]
    path = tmp_path / name
    make(path)
    with pytest.raises(NetcDataError) as caught:
        read_images(path, (1, 8, 8))
    assert str(path) in str(caught.value) and words in str(caught.value), str(caught.value)


def test_a_wrong_size_says_the_size_expected(tmp_path):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(path := tmp_path / "big.png")
    with pytest.raises(NetcDataError) as caught:
        read_images(path, (1, 8, 8))
    assert "28x28 (784 values), but the network's input is 1x8x8 (64 values)" in str(caught.value)
    assert "give a 8x8 picture" in str(caught.value)


@pytest.fixture
def trained(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    assert netc_("train", spec, "--out", tmp_path / "run", "-q", "--epochs", "1").exit_code == 0
    return spec, tmp_path / "run", np.load(tiny_npz)


def test_a_batch_npy_and_a_bad_file_among_good_ones(tmp_path, trained):
    spec, run, data = trained
    np.save(batch := tmp_path / "batch.npy", data["x_test"][:3])
    np.save(one := tmp_path / "one.npy", data["x_test"][3])
    (fake := tmp_path / "fake.png").write_text("not a png")
    result = CliRunner().invoke(cli, ["predict", str(spec), "--weights", str(run), "--json",
                                                      str(batch), str(fake), str(one)])
    assert result.exit_code == 1
    assert "fake.png: not a picture" in result.stderr and "Traceback" not in result.stderr
    predictions = json.loads(result.stdout)
    assert [p["file"] for p in predictions] == [f"{batch}[0]", f"{batch}[1]", f"{batch}[2]", str(fake), str(one)]
    assert "error" in predictions[3] and "class" not in predictions[3]
    singles = json.loads(netc_("predict", spec, "--weights", run, "--json", one).output)
    assert singles[0]["probabilities"] == predictions[4]["probabilities"]
    assert all(abs(sum(p["probabilities"]) - 1) < 1e-5 for p in predictions if "class" in p)
