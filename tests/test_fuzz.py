"""Fuzzing the public compiler API: whatever the input, netc answers with a
plan or a NetcError (never another exception), and answers at once.

Inputs come from the grammar itself (spec/netc.lark through hypothesis's lark
strategy, with netc's own words and edge-case numbers), from byte mutations of
models/*.net, and from mutated spec documents: 2,000 examples in a default
run (the same ones every time), 20,000 fresh ones with `pytest --fuzz-long`.
Time is CPU time, so a busy machine does not fail the suite."""
from __future__ import annotations

import gc
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

import netc
from netc.compiler.lower import KNOWN_NAMES
from netc.compiler.syntax import parser

MODELS = sorted((Path(__file__).parent.parent / "models").glob("*.net"))
MODEL_BYTES = [path.read_bytes() for path in MODELS]
LIMIT_SECONDS = 2.0     # per input under 1 MB (issue 14)
MAX_BYTES = 1 << 20

OPTION_NAMES = ["units", "filters", "kernel", "stride", "pad", "window", "ratio", "lr", "momentum",
                "beta1", "beta2", "eps", "epochs", "batch", "eval", "shuffle", "limit", "validation",
                "path", "std", "type", "slope", "alpha", "init", "trials", "name", "seed",
                "weight_decay", "decay", "min", "same", "mnist", "npz", "idx", "he", "xavier",
                "sgd", "adam", "momentum", "log", "uniform", "choice", "layers.0.units", "x"]
NUMBERS = ["0", "1", "-1", "2", "3", "10", "100", "0.5", "1e-4", "1e400", "-1e400", "1e-400", "4294967297",
           "9" * 30, "9" * 5000, "0.0", "-0", "+7", ".5", "1.", "1e9", "999999999", "1000000008"]
DIMS = ["1x28x28", "3x3", "16x3x3", "0x0", "1x1x1", "2x2", "30x5x5", "1x1000000008x1", "1x1x1x1x1",
        "99999999999x2", "784x1", "0x5x5"]

# The grammar with netc's own words in it: mostly statements that reach the
# later stages (lowering, schema, shapes) instead of stopping at an unknown name.
_words = st.sampled_from(KNOWN_NAMES + OPTION_NAMES)
grammar_texts = st.one_of(
    from_lark(parser(), explicit={"NAME": _words, "NUMBER": st.sampled_from(NUMBERS),
                                  "DIMS": st.one_of(st.sampled_from(DIMS), st.from_regex(r"\d{1,4}(x\d{1,4}){1,3}",
                                                                                         fullmatch=True))}),
    from_lark(parser()),
)

INTERESTING = [b"->", b"\n", b"\r", b"\x00", b"#", b"=", b"(", b")", b"[", b"]", b",", b'"', b"x",
               b"1e400", b"-1", b"0", b"999999999999", b"\xff", b"\xef\xbb\xbf", b"\t", b"\f",
               b" -> affine 10", b"\n-> relu", b"log(", b"nan", b"inf", b"9" * 400]


@st.composite
def mutated_models(draw) -> bytes:
    """A models/*.net file with a few random edits: flips, inserts, cuts, repeats."""
    data = bytearray(draw(st.sampled_from(MODEL_BYTES)))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "token", "delete", "repeat", "truncate"]))
        if kind == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "token":
            data[where:where] = draw(st.sampled_from(INTERESTING))
        elif kind == "delete":
            del data[where:where + draw(st.integers(1, 40))]
        elif kind == "repeat":
            span = bytes(data[where:where + draw(st.integers(1, 60))])
            data[where:where] = span * draw(st.integers(1, 20))
        elif kind == "truncate":
            del data[where:]
    return bytes(data)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 2 ** 70), st.floats(),
              st.text(max_size=8), st.sampled_from(KNOWN_NAMES)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(OPTION_NAMES), st.text(max_size=5),
                                                      st.integers(0, 3), st.none()),
                                            inner, max_size=4)),
    max_leaves=12)


def _documents():
    documents = []
    for data in MODEL_BYTES:
        try:
            documents.append(netc.parse(data.decode("utf-8")))
        except netc.NetcError:
            pass
    return documents


DOCUMENTS = _documents()


@st.composite
def mutated_documents(draw) -> dict:
    """A models/*.net spec document with one value somewhere replaced."""
    import copy
    document = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    node = document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, (dict, list)) or not child or draw(st.booleans()):
            node[key] = draw(json_values)
            break
        node = child
    return document


class TooSlow(Exception):
    """An input kept the compiler busy past the hard stop (a hang, for the suite)."""


@contextmanager
def cpu_limit(seconds: float):
    """Raise TooSlow once this process has spent `seconds` more of CPU time, so
    a pathological input fails its example instead of hanging the suite."""
    def stop(signum, frame):
        raise TooSlow(f"still busy after {seconds:g} s of CPU")
    previous = signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@contextmanager
def session_heap_frozen():
    """As in a fresh `netc check`, the garbage collector does not walk what the
    test session holds already: frozen, it traverses only what the compiler
    allocates (late in a session, walking the session's heap made one input
    take 2-3x the CPU)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def answer(source) -> None:
    """Compile (and, for text, format) one input; only a NetcError may come back."""
    with session_heap_frozen(), cpu_limit(3 * LIMIT_SECONDS):
        _answer(source)


def _answer(source) -> None:
    """Each answer on its own (what `netc check` and `netc fmt` each do) within the limit."""
    size = len(source) if not isinstance(source, dict) else 0
    started = time.process_time()
    try:
        netc.compile(source).to_json()
    except netc.NetcError as error:
        str(error)                      # the diagnostic itself must render
    spent = time.process_time() - started
    assert size >= MAX_BYTES or spent < LIMIT_SECONDS, f"compile: {spent:.2f} s of CPU for {size:,} bytes"
    if not isinstance(source, dict):
        started = time.process_time()
        try:
            netc.format(source if isinstance(source, str) else source.decode("utf-8"))
        except (netc.NetcError, UnicodeDecodeError):
            pass
        spent = time.process_time() - started
        assert size >= MAX_BYTES or spent < LIMIT_SECONDS, f"format: {spent:.2f} s of CPU for {size:,} bytes"


def _settings(request, examples: int):
    long_run = request.config.getoption("--fuzz-long")
    return settings(max_examples=examples * (10 if long_run else 1), deadline=None, derandomize=not long_run,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# 500 + 1,200 + 300 examples by default; --fuzz-long makes it 20,000.
def test_grammar_generated_text(request):
    settings_ = _settings(request, 500)
    settings_(given(grammar_texts)(answer))()


def test_mutated_model_files(request):
    settings_ = _settings(request, 1200)
    settings_(given(mutated_models())(answer))()


def test_mutated_documents(request):
    settings_ = _settings(request, 300)
    settings_(given(mutated_documents())(answer))()


LARGE_INPUTS = {
    "errors on one long line": "input 784\naffine 10" + " -> affine 10 10" * 4_000 + " -> softmax\n",
    "a list nested deep": "input 784\naffine 10 -> softmax\ndata " + "[" * 500_000 + "\n",
    "a call nested deep": "input 784\naffine 10 -> softmax\ndata " + "e(" * 300_000 + "\n",
    "one long name": "input 784\n" + "a" * 1_000_000 + "\n",
    "one long comment": "input 784\naffine 10 -> softmax\n#" + "x" * 1_000_000 + "\n",
    "many blank lines": "input 784\n" + "\n" * 1_000_000 + "affine 10 -> softmax\n",
    "a huge number": "input 784\naffine " + "9" * 1_000_000 + " -> softmax\n",
    "a long stride search": "input 1x1000000008x1\nconv 1x1x1 stride=999999999\n",
}


@pytest.mark.parametrize("name", sorted(LARGE_INPUTS))
def test_large_inputs_are_answered_at_once(name):
    text = LARGE_INPUTS[name][:MAX_BYTES - 1]
    try:
        answer(text)
    except (TooSlow, AssertionError) as error:
        # Without the traceback: pytest would print frames holding the megabyte of text.
        pytest.fail(f"{name} ({len(text.encode()):,} bytes): {error}", pytrace=False)


# A network of tens of thousands of layers is compiled in time linear in its
# length (issue 14: "fine, but keep it linear"), within this budget per layer.
LAYER_BUDGET = 100e-6     # seconds of CPU; it was 150 us before issue 14
LONG_NETWORKS = {
    "a long chain": ("input 784\naffine 10" + " -> relu -> affine 10" * 20_000 + " -> softmax\n", 40_002),
    "errors on one long line": ("input 784\naffine 10" + " -> affine 10 10" * 60_000 + " -> softmax\n", 60_002),
}


@pytest.mark.parametrize("name", sorted(LONG_NETWORKS))
def test_long_networks_compile_in_linear_time(name):
    text, layers = LONG_NETWORKS[name]
    with session_heap_frozen():
        started = time.process_time()
        try:
            netc.compile(text).to_json()
        except netc.NetcError as error:
            str(error)
        spent = time.process_time() - started
    assert spent < layers * LAYER_BUDGET, f"{name}: {spent:.2f} s of CPU for {layers:,} layers"


# Inputs that once crashed the compiler with something other than a NetcError
# (issue 14 and the fuzzer's finds), kept so that each stays fixed.
CRASHED_ONCE = {
    "dims in a call (format)": "input 784\naffine affine(1x28x28)\n",
    "a list as data": "input 784\naffine 10 -> softmax\ndata [1]\n",
    "a call as data": "input 784\naffine 10 -> softmax\ndata e()\n",
    "format of a call with dims": "y m(9x9)\n",
    "a bound too large for a float": "input 784\naffine 10 -> softmax\ndata mnist validation=0.2\n"
                                     "search lr=log(1e-4, 1e400)\n",
    "a key that is a number": {"input": [784], "layers": [{"type": "affine", "units": 10}],
                               "init": {"units": None, 0: None}},
    "a document key that is None": {"input": [784], "layers": [{"type": "softmax"}], None: 1},
    "an integer of 5,000 digits": {"input": [784], "layers": [{"type": "affine", "units": 10 ** 5000}]},
    "a list nested 100,000 deep": "NESTED",
}


@pytest.mark.parametrize("name", sorted(CRASHED_ONCE))
def test_inputs_that_crashed_once(name):
    source = CRASHED_ONCE[name]
    if source == "NESTED":
        source = {"input": [784], "layers": [{"type": "affine", "units": 10}], "train": nested(100_000)}
    answer(source)
    if isinstance(source, str) and "search" in source:
        # A bound that is no float must not come back from fmt as the word inf.
        try:
            assert "inf" not in netc.format(source)
        except netc.NetcError:
            pass


def nested(depth: int) -> list:
    node: list = []
    for _ in range(depth):
        node = [node]
    return node
