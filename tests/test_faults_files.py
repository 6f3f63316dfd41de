"""Issue 14 item 3: every file netc reads is checked, every file it writes is
atomic; a full disk, a read-only target or a missing folder is a NetcError."""
from __future__ import annotations

import errno
import io
import json
import os
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import tiny_spec
from netc.files import NetcWriteError, write_text_atomically
from netc.cli import cli
from netc.errors import NetcError
from netc.runtime.checkpoint import read_npz


def netc_(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def run(tmp_path, tiny_npz):
    """A one-epoch run folder of the tiny network, and its spec file."""
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    result = netc_("train", spec, "--out", tmp_path / "run", "-q", "--epochs", "1")
    assert result.exit_code == 0, result.output
    return tmp_path / "run", spec


def _refused(result, *words):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "error:" in result.output
    for word in words:
        assert word in result.output, result.output


def _rewrite_checkpoint(path, change):
    arrays = read_npz(path)
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _meta(arrays):
    return json.loads(str(arrays["meta"]))


def _set_meta(arrays, meta):
    arrays["meta"] = np.array(json.dumps(meta))


@pytest.mark.parametrize("content, words", [
    ("", ["spec.json", "not a readable JSON file"]),
    ("{not json", ["spec.json", "not a readable JSON file"]),
    ("[1, 2]", ["spec.json", "not a spec document"]),
])
def test_a_damaged_spec_json_is_named(run, content, words):
    folder, _ = run
    (folder / "spec.json").write_text(content)
    _refused(netc_("train", "--resume", folder, "-q", "--epochs", "2"), *words)


def _drop(key):
    def change(arrays):
        meta = _meta(arrays)
        del meta[key]
        _set_meta(arrays, meta)
    return change


def _optim(change_slots):
    def change(arrays):
        keys = sorted(k for k in arrays if k.startswith("optim/m."))
        change_slots(arrays, keys[0])
    return change


DAMAGES = {
    "metadata not an object": (lambda a: a.__setitem__("meta", np.array("[1, 2]")), "not a JSON object"),
    "metadata not JSON": (lambda a: a.__setitem__("meta", np.array("{oops")), "not valid JSON"),
    "no position": (_drop("position"), "training position"),
    "no records": (_drop("records"), "epoch records"),
    "no rng": (_drop("rng"), "random generator state"),
    "optimizer slot missing": (_optim(lambda a, k: a.pop(k)), "state entries missing"),
    "optimizer slot shape": (_optim(lambda a, k: a.__setitem__(k, np.zeros(3, np.float32))), "shape"),
    "optimizer slot dtype": (_optim(lambda a, k: a.__setitem__(k, np.array(["x"] * a[k].size)
                                                                .reshape(a[k].shape))), "not real numbers"),
    "no optimizer step": (lambda a: a.pop("optim/step"), "step count"),
    "NaN weights": (lambda a: a["param/0.conv.W"].fill(np.nan), "NaN"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_checkpoint_is_named_on_resume(run, damage):
    folder, _ = run
    change, words = DAMAGES[damage]
    _rewrite_checkpoint(folder / "checkpoint.npz", change)
    _refused(netc_("train", "--resume", folder, "-q", "--epochs", "2"), "checkpoint.npz", words)


def test_an_npy_given_as_weights_says_what_weights_are(run, tmp_path):
    _, spec = run
    np.save(tmp_path / "w.npy", np.zeros(3))
    _refused(netc_("eval", spec, "--weights", tmp_path / "w.npy"), "not an .npz file", "named arrays")


def test_a_header_declaring_1e11_floats_is_refused_before_reading(run, tmp_path):
    folder, spec = run
    path = tmp_path / "lying.npz"
    with zipfile.ZipFile(folder / "checkpoint.npz") as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "param/0.conv.W.npy":
                data = _lying_header()
            target.writestr(info, data)
    _refused(netc_("eval", spec, "--weights", path), "param/0.conv.W", "header declares")


def _lying_header() -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 11,)})
    return buffer.getvalue() + b"\0" * 64


def test_weights_read_only_the_arrays_needed(run, tmp_path):
    """A small .npz holding a 400 MB zero array the network does not need."""
    folder, spec = run
    arrays = read_npz(folder / "checkpoint.npz")
    path = tmp_path / "padded.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, array in arrays.items():
            with target.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, array)
        with target.open("unused.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                                     "shape": (100_000_000,)})
            zeros = bytes(1 << 24)
            for _ in range(400_000_000 // len(zeros)):
                f.write(zeros)
    assert path.stat().st_size < 5_000_000
    tracemalloc.start()
    result = netc_("eval", spec, "--weights", path, "--json")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert peak < 50_000_000


@pytest.mark.parametrize("make", ["fifo", "dev_zero", "folder"])
def test_a_fifo_or_device_is_refused(run, tmp_path, make):
    _, spec = run
    if make == "fifo":
        path = tmp_path / "pipe.npz"
        os.mkfifo(path)
    elif make == "dev_zero":
        path = "/dev/zero"
    else:
        path = tmp_path / "folder.npz"
        path.mkdir()
    result = netc_("eval", spec, "--weights", path)
    _refused(result, str(path))


def _fail_fsync(monkeypatch, code):
    def fsync(fd):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr("netc.files.os.fsync", fsync)


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"), (errno.EROFS, "read-only")])
def test_fmt_write_on_a_failing_disk_leaves_the_file_whole(tmp_path, monkeypatch, code, words):
    path = tmp_path / "messy.net"
    messy = "input 784\n" + "".join(f"affine   {n}  ->relu\n" for n in range(10, 40)) + "affine 10 -> softmax\n"
    path.write_text(messy)
    _fail_fsync(monkeypatch, code)
    _refused(netc_("fmt", "--write", path), words, str(path))
    assert path.read_text() == messy
    assert os.listdir(tmp_path) == ["messy.net"]


def test_compile_output_into_a_missing_folder(tmp_path):
    from helpers import MODELS
    _refused(netc_("compile", MODELS / "mlp.net", "-o", tmp_path / "nowhere" / "plan.json"),
             "the folder does not exist")


def test_a_failed_checkpoint_write_keeps_the_previous_one(run, monkeypatch):
    folder, _ = run
    before = (folder / "checkpoint.npz").read_bytes()
    _fail_fsync(monkeypatch, errno.ENOSPC)
    _refused(netc_("train", "--resume", folder, "-q", "--epochs", "2"), "no space left")
    assert (folder / "checkpoint.npz").read_bytes() == before
    assert not list(folder.glob(".*.tmp"))


def test_stale_temporaries_are_removed_on_the_next_run(run):
    folder, _ = run
    stale = folder / ".checkpoint.npz.k1ll3d.tmp"
    stale.write_bytes(b"\0" * 1000)
    assert netc_("train", "--resume", folder, "-q", "--epochs", "2").exit_code == 0
    assert not stale.exists()


def test_checkpoints_get_the_mode_of_the_other_run_files(run):
    folder, _ = run
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert len(set(modes.values())) == 1, modes


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_text_atomically(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_write_errors_are_netc_errors(tmp_path):
    with pytest.raises(NetcWriteError, match="the folder does not exist"):
        write_text_atomically(tmp_path / "missing" / "f.txt", "x")
    assert issubclass(NetcWriteError, NetcError)


def test_metrics_write_null_for_nan(tmp_path):
    from netc.training import RunFolder
    folder = RunFolder(tmp_path)
    folder.write_metrics([{"epoch": 1, "train_loss": float("nan"), "test_acc": float("inf"), "val_acc": None}])
    line = (tmp_path / "metrics.jsonl").read_text()
    assert json.loads(line) == {"epoch": 1, "train_loss": None, "test_acc": None, "val_acc": None}
    assert "NaN" not in line and "Infinity" not in line


@pytest.mark.parametrize("verb", ["check", "fmt", "train"])
def test_a_net_file_that_is_a_fifo_or_device_is_refused(tmp_path, verb):
    fifo = tmp_path / "pipe.net"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        _refused(netc_(verb, path), "not a regular file")
