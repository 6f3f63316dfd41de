"""Stage 1: text -> statements. The Lark grammar in spec/netc.lark does the
work; this module shapes its tree into small dataclasses that remember where
every name and value was written."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from lark import Lark, Transformer, Token, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from netc.errors import NetcSyntaxError


@dataclass(frozen=True)
class Pos:
    line: int
    column: int


@dataclass(frozen=True)
class Call:
    """`log(1e-6, 1e-2)`: a function-like value (search ranges)."""
    name: str
    args: tuple


@dataclass
class Value:
    value: object          # int, float, str, bool-like word, tuple (dims), list, Call
    kind: str              # number, dims, word, string, list, call
    pos: Pos


@dataclass
class Option:
    key: str
    key_pos: Pos
    value: Value


@dataclass
class Command:
    name: str
    pos: Pos
    args: list[Value] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)


@dataclass
class Chain:
    commands: list[Command]


def _pos(token_or_meta) -> Pos:
    return Pos(token_or_meta.line, token_or_meta.column)


def _number(text: str):
    return float(text) if any(c in text for c in ".eE") else int(text)


def _plain(v: Value):
    """The bare Python value inside a Value, recursively."""
    if v.kind == "list":
        return [_plain(item) for item in v.value]
    return v.value


class _ToStatements(Transformer):
    """One line per tree node; positions come from the tokens."""

    def number(self, t):  return Value(_number(t[0]), "number", _pos(t[0]))
    def dims(self, t):    return Value(tuple(int(d) for d in t[0].split("x")), "dims", _pos(t[0]))
    def word(self, t):    return Value(str(t[0]), "word", _pos(t[0]))
    def string(self, t):  return Value(str(t[0])[1:-1], "string", _pos(t[0]))
    def option(self, t):  return Option(str(t[0]), _pos(t[0]), t[1])
    def chain(self, t):   return Chain(list(t))
    def start(self, t):   return list(t)

    @v_args(meta=True)
    def list(self, meta, items):
        return Value([i for i in items if i is not None], "list", _pos(meta))

    def call(self, t):
        args = tuple(_plain(v) for v in t[1:] if v is not None)
        return Value(Call(str(t[0]), args), "call", _pos(t[0]))

    def command(self, t):
        name, rest = t[0], t[1:]
        return Command(str(name), _pos(name),
                       [v for v in rest if isinstance(v, Value)],
                       [o for o in rest if isinstance(o, Option)])


@lru_cache(maxsize=1)
def parser() -> Lark:
    """Built once: LALR, so building it also proves the grammar conflict-free."""
    grammar = resources.files("netc.spec").joinpath("netc.lark").read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True,
                maybe_placeholders=True)


_TOKEN_WORDS = {
    "_NL": "end of line", "NAME": "a name", "NUMBER": "a number", "DIMS": "dimensions like 5x5",
    "STRING": 'a "string"', "EQUAL": "'='", "LSQB": "'['", "RSQB": "']'", "LPAR": "'('",
    "RPAR": "')'", "COMMA": "','", "_ARROW": "'->'", "$END": "end of file",
}


def _describe(expected) -> str:
    words = sorted({_TOKEN_WORDS.get(e, e) for e in expected})
    return ", ".join(words)


def _syntax_error(exc: UnexpectedInput, text: str) -> NetcSyntaxError:
    line, column = exc.line, exc.column
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        message = f"unexpected character {char!r}"
        hint = None
        if char == "-":
            hint = "chain layers with '->'; negative numbers are written like -0.5"
        elif char in "'":
            hint = 'strings use double quotes: path="data/train.npz"'
        return NetcSyntaxError(message, line=line, column=column, hint=hint)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return NetcSyntaxError("unexpected end of file", line=line, column=column,
                                   hint=f"expected {_describe(exc.expected)}")
        shown = "end of line" if token.type == "_NL" else repr(str(token))
        hint = f"expected {_describe(exc.expected)}"
        if token.type == "_ARROW":
            hint = "'->' must be followed by a layer, e.g. '-> relu'"
        elif token.type == "EQUAL":
            hint = "options are written key=value after the layer's name and positional value"
        elif token.type == "_NL" and "RSQB" in exc.expected:
            hint = "a list must close on the line where it opens"
        return NetcSyntaxError(f"unexpected {shown}", line=line, column=column, hint=hint)
    return NetcSyntaxError("unexpected end of file", line=line, column=column)


def parse_statements(text: str) -> list[Chain]:
    """Text -> chains of commands (a directive is a chain of one command)."""
    if not text.endswith("\n"):
        text += "\n"   # every statement ends with a line break; columns are unchanged
    try:
        tree = parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    return _ToStatements().transform(tree)


def comments(text: str) -> list[tuple[int, int, str]]:
    """(line, column, text) of every `#` comment, for the formatter."""
    found = []
    for token in parser().lex(text if text.endswith("\n") else text + "\n", dont_ignore=True):
        if token.type == "COMMENT":
            found.append((token.line, token.column, str(token).rstrip()))
        elif token.type == "_ARROW" and "#" in token:
            # comment lines swallowed by a continuation arrow
            for offset, piece in enumerate(str(token).split("\n")):
                if "#" in piece:
                    col = piece.index("#")
                    found.append((token.line + offset, col + 1, piece[col:].rstrip()))
    return found
