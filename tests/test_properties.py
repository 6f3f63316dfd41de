"""Property tests: documents survive format -> parse; formatting is
idempotent; no input, however broken, raises anything but NetcError."""
from __future__ import annotations


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netc
from netc.compiler.lower import TOP_LEVEL_KEYS
from netc.compiler.validate import validate

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

posint = st.integers(1, 10**6)
count = st.integers(0, 10**6)
unit = st.floats(0, 1, exclude_max=True) | st.just(0)
positive = st.floats(1e-12, 1e12) | st.integers(1, 1000)
number = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**9, 10**9)
pair = posint | st.lists(posint, min_size=2, max_size=2)
padding = count | st.lists(count, min_size=2, max_size=2) | st.just("same")
# What the schema's "text" allows: no double quote, no C0 control or DEL.
text = st.text(st.characters(blacklist_categories=("Cs",),
                             blacklist_characters='"\x7f' + "".join(map(chr, range(32)))), min_size=1)
literal = st.recursive(st.lists(number, max_size=4), lambda inner: st.lists(inner, max_size=3), max_leaves=12)
init = (st.builds(lambda s: {"type": "std", "std": s}, positive)
        | st.sampled_from(["xavier", "xavier_uniform", "he"]).map(lambda t: {"type": t}))


def layer(type_, required=None, **optional):
    """A layer dict: required fields always, each optional field or not."""
    return st.fixed_dictionaries({"type": st.just(type_), **(required or {})}, optional=optional)


weights = {"init": init, "weights": literal, "bias": literal}
layers = st.one_of(
    layer("conv", {"filters": posint, "kernel": st.lists(posint, min_size=2, max_size=2)},
          stride=pair, pad=padding, **weights),
    *[layer(t, {"window": st.lists(posint, min_size=2, max_size=2)}, stride=pair, pad=padding)
      for t in ("pool", "maxpool", "avgpool")],
    layer("affine", {"units": posint}, **weights),
    *[layer(t) for t in ("flatten", "relu", "sigmoid", "tanh", "step", "softmax", "identity")],
    layer("leaky_relu", alpha=st.floats(0, 10) | st.just(0)),
    layer("elu", alpha=st.floats(0, 10)),
    layer("prelu", init=number),
    layer("batchnorm", momentum=unit, eps=positive),
    layer("dropout", {"ratio": unit}, inverted=st.booleans()),
)
data = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(["mnist", "fashion-mnist", "and", "or", "nand", "xor"])},
                          optional={"validation": unit, "limit": posint, "path": text}),
    st.fixed_dictionaries({"name": st.sampled_from(["idx", "npz"]), "path": text},
                          optional={"validation": unit, "limit": posint}),
)
optimizer = st.one_of(
    st.fixed_dictionaries({"type": st.just("sgd")}, optional={"lr": positive}),
    st.fixed_dictionaries({"type": st.sampled_from(["momentum", "nesterov"])}, optional={"lr": positive, "momentum": unit}),
    st.fixed_dictionaries({"type": st.just("adagrad")}, optional={"lr": positive, "eps": positive}),
    st.fixed_dictionaries({"type": st.just("rmsprop")}, optional={"lr": positive, "decay": unit, "eps": positive}),
    st.fixed_dictionaries({"type": st.just("adam")},
                          optional={"lr": positive, "beta1": unit, "beta2": unit, "eps": positive}),
)
train = st.fixed_dictionaries({}, optional={"epochs": posint, "batch": posint, "eval": posint, "shuffle": st.booleans()})
documents = st.fixed_dictionaries(
    {"input": st.lists(posint, min_size=1, max_size=1) | st.lists(posint, min_size=3, max_size=3),
     "layers": st.lists(layers, max_size=8)},
    optional={"name": text, "data": data | st.none(), "init": init | st.none(),
              "optimizer": optimizer | st.none(), "train": train | st.none(),
              "weight_decay": st.floats(0, 10) | st.integers(0, 10) | st.none(),
              "seed": st.integers(0, 2**32 - 1) | st.none()})


def normal(document: dict) -> dict:
    """Every top-level key present, layers without their source positions."""
    out = {key: None for key in TOP_LEVEL_KEYS} | {"name": "network"} | document
    out["layers"] = [{k: v for k, v in l.items() if k not in ("line", "column")} for l in out["layers"]]
    return out


@SETTINGS
@given(documents)
def test_documents_survive_format_then_parse(document):
    validate(document)                      # the strategy only makes what the schema accepts
    assert normal(netc.parse(netc.format(document))) == normal(document)


@st.composite
def relaid(draw, document):
    """The same statements in a messy layout: split or joined chains, comments,
    blank lines, odd spacing, CRLF."""
    out = []
    for line in netc.format(document).split("\n")[:-1]:
        if not line.startswith(("network", "data")):     # strings may hold ' -> '
            line = line.replace(" -> ", draw(st.sampled_from([" -> ", "->", "\t->  ", "\n-> ", "\n# c -> d\n  -> "])))
            line = line.replace("  -> ", draw(st.sampled_from(["  -> ", "->", "\n\n\t -> "])))
        out.append(draw(st.sampled_from(["", " ", "\t"])) + line)
        out += draw(st.lists(st.sampled_from(["", "# note", "   # indented -> note"]), max_size=2))
        if draw(st.booleans()):
            out[-1] += "  # trailing"
    return draw(st.sampled_from(["\n", "\r\n"])).join(out)


@SETTINGS
@given(st.data())
def test_format_is_idempotent_and_keeps_meaning(data):
    document = data.draw(documents)
    messy = data.draw(relaid(document))
    tidy = netc.format(messy)
    assert netc.format(tidy) == tidy
    assert normal(netc.parse(tidy)) == normal(netc.parse(messy)) == normal(document)


WORDS = ["input", "784", "1x28x28", "28x28", "conv", "30x5x5", "->", " -> ", "\n", "\r\n", " ", "\t",
         "=", "[", "]", ",", "pad", "same", "stride", "#", '"', "affine", "10", "softmax", "relu", "pool",
         "2", "-", "(", ")", "train", "epochs", "0", "-1", "1.5", "1e999", "true", "data", "mnist", "seed",
         "optimizer", "adam", "lr", "weights", "bias", "dropout", "batchnorm", "identity", "x", "\x00",
         "\ufeff", "\u2028", "\x0c", "init", "he", "std", "network", "'", "step", "flatten", "9" * 40]
near_valid = st.lists(st.sampled_from(WORDS), max_size=40).map("".join)


def only_netc_errors(call, source):
    try:
        call(source)
    except netc.NetcError as error:
        str(error)                          # rendering must not fail either


@SETTINGS
@given(st.text() | near_valid)
def test_text_raises_only_netc_errors(source):
    for call in (netc.parse, netc.compile, netc.format):
        only_netc_errors(call, source)


@SETTINGS
@given(st.binary())
def test_bytes_raise_only_netc_errors(raw):
    only_netc_errors(netc.compile, raw)
    for call in (netc.parse, netc.compile):
        only_netc_errors(call, raw.decode("utf-8", errors="replace"))


@SETTINGS
@given(near_valid)
def test_formatting_valid_text_keeps_its_document(source):
    try:
        before = netc.parse(source)
    except netc.NetcError:
        return
    tidy = netc.format(source)
    assert netc.format(tidy) == tidy
    assert normal(netc.parse(tidy)) == normal(before)
