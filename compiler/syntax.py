"""Stage 1: text -> statements. The Lark grammar in spec/netc.lark does the
work; this module shapes its tree into small dataclasses that remember where
every name and value was written."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

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
    name: str | None = None        # `NAME = chain`: the name of the chain's output
    name_pos: Pos | None = None


def _pos(token_or_meta) -> Pos:
    return Pos(token_or_meta.line, token_or_meta.column)


def _number(text: str):
    if any(c in text for c in ".eE"):
        return float(text)
    # Python refuses to convert ints of more than 4300 digits; such a number is
    # as unusable as 1e999, and check_numbers() reports both as too large.
    return int(text) if len(text) <= 30 else float("inf")


def _plain(v: Value):
    """The bare Python value inside a Value, recursively."""
    if v.kind == "list":
        return [_plain(item) for item in v.value]
    return v.value


class _ToStatements(Transformer):
    """One line per tree node; positions come from the tokens."""

    def number(self, t):  return Value(_number(t[0]), "number", _pos(t[0]))
    def dims(self, t):    return Value(tuple(_number(d) for d in t[0].split("x")), "dims", _pos(t[0]))
    def word(self, t):    return Value(str(t[0]), "word", _pos(t[0]))
    def string(self, t):  return Value(str(t[0])[1:-1], "string", _pos(t[0]))
    def option(self, t):  return Option(str(t[0]), _pos(t[0]), t[1])
    def chain(self, t):   return Chain(list(t))
    def assignment(self, t): return Chain(t[1].commands, str(t[0]), _pos(t[0]))
    def start(self, t):   return list(t)

    def list(self, t):
        return Value([i for i in t[1:] if i is not None], "list", _pos(t[0]))

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
    # The transformer runs inside the parser, as each rule is reduced: no
    # parse tree is built and walked a second time.
    return Lark(grammar, parser="lalr", maybe_placeholders=True, transformer=_ToStatements())


_TOKEN_WORDS = {
    "_NL": "end of line", "NAME": "a name", "NUMBER": "a number", "DIMS": "dimensions like 5x5",
    "STRING": 'a "string"', "EQUAL": "'='", "LSQB": "'['", "RSQB": "']'", "LPAR": "'('",
    "RPAR": "')'", "COMMA": "','", "_ARROW": "'->'", "$END": "end of file",
}
MAX_DEPTH = 16     # literal conv weights need 4 levels; deeper is a mistake


def _describe(expected) -> str:
    words = sorted({_TOKEN_WORDS.get(e, e) for e in expected})
    return ", ".join(words)


def _arrow_pos(token: Token) -> tuple[int, int]:
    """Where the `->` itself is: an arrow token also swallows the line breaks,
    blank lines and comments in front of it."""
    before = str(token)[:str(token).rindex("->")]
    if "\n" not in before:
        return token.line, token.column + len(before)
    return token.line + before.count("\n"), len(before) - before.rindex("\n")


def _unexpected_token(exc: UnexpectedToken, text: str) -> NetcSyntaxError:
    token, expected = exc.token, exc.expected
    line, column = exc.line, exc.column
    hint = f"expected {_describe(expected)}"
    if token.type == "$END":
        return NetcSyntaxError("unexpected end of file", line=line, column=column, hint=hint)
    shown = "end of line" if token.type == "_NL" else repr(str(token).strip())
    if token.type == "_ARROW":
        line, column = _arrow_pos(token)
        shown = "'->'"
    before = text.split("\n")[line - 1][:column - 1].rstrip() if line else ""
    if token.type == "_NL" and before.count("[") > before.count("]"):
        hint = "close the list with ']' on the line where it opens"
    elif "RSQB" in expected or "RPAR" in expected:
        close = "]" if "RSQB" in expected else ")"
        hint = f"close the {'list' if close == ']' else 'call'} with '{close}' (on the line where it opens)"
    elif token.type == "_NL" and before.endswith("->"):
        hint = "'->' must be followed by a layer; to continue on the next line, start that line with '->'"
    elif token.type == "_ARROW" and not before:
        hint = "a line that starts with '->' continues the chain of a layer line above it"
    elif token.type == "_ARROW":
        hint = "'->' must be followed by a layer, e.g. '-> relu'"
    elif token.type == "EQUAL":
        hint = "options are written key=value (no spaces) after the name and its value"
    elif token.type == "_NL" and before.endswith("="):
        hint = "give the option a value, e.g. epochs=20"
    return NetcSyntaxError(f"unexpected {shown}", line=line, column=column, hint=hint)


def _syntax_error(exc: UnexpectedInput, text: str) -> NetcSyntaxError:
    if isinstance(exc, UnexpectedToken):
        return _unexpected_token(exc, text)
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        hint = None
        if char == "-":
            hint = "chain layers with '->'; negative numbers are written like -0.5"
        elif char == "'":
            hint = 'strings use double quotes: path="data/train.npz"'
        elif char == '"':
            hint = 'a string ends with \'"\' on the line where it starts'
        elif not char.isprintable():
            hint = "a .net file holds printable text, spaces and tabs"
        return NetcSyntaxError(f"unexpected character {char!r}", line=exc.line, column=exc.column, hint=hint)
    return NetcSyntaxError("unexpected end of file", line=exc.line, column=exc.column)


def _too_large(x) -> bool:
    if isinstance(x, (tuple, list)):
        return any(map(_too_large, x))
    return isinstance(x, float) and x in (float("inf"), float("-inf"))


def _check_values(values):
    """Numbers must be finite: later stages rely on it (lists are shallow: _check_nesting)."""
    for v in values:
        if _too_large(v.value.args if v.kind == "call" else v.value if v.kind in ("number", "dims") else None):
            raise NetcSyntaxError("this number is too large", line=v.pos.line, column=v.pos.column,
                                  hint="a number here must fit a 64-bit float (below about 1.8e308)")
        if v.kind == "list":
            _check_values(v.value)


_BRACKETS = re.compile(r'"[^"\r\n]*"|#[^\r\n]*|[\[\]()]')


def _check_nesting(text: str) -> None:
    """Lists and calls nest at most MAX_DEPTH deep: checked by one scan of the
    brackets (strings and comments skipped) before the parser, so a deep
    nest is refused at once, at its line, and nothing later recurses into one.
    A list or call closes on the line it opens (the grammar's rule): each line
    starts at depth 0."""
    depth, line_end = 0, -1
    for match in _BRACKETS.finditer(text):
        at, bracket = match.start(), match.group()
        if at > line_end:
            depth, line_end = 0, text.find("\n", at)
        if bracket in "[(":
            depth += 1
            if depth > MAX_DEPTH:
                line_start = text.rfind("\n", 0, at) + 1
                raise NetcSyntaxError(f"lists and calls nest at most {MAX_DEPTH} deep",
                                      line=text.count("\n", 0, at) + 1, column=at - line_start + 1)
        elif bracket in "])":
            depth = max(0, depth - 1)


def parse_statements(text: str) -> list[Chain]:
    """Text -> chains of commands (a directive is a chain of one command)."""
    if not text.endswith("\n"):
        text += "\n"   # every statement ends with a line break; columns are unchanged
    _check_nesting(text)
    try:
        chains = parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    for chain in chains:
        for cmd in chain.commands:
            _check_values(cmd.args + [o.value for o in cmd.options])
    return chains


def comments(text: str) -> list[tuple[int, int, str]]:
    """(line, column, text) of every `#` comment, for the formatter."""
    found = []
    if "#" not in text:
        return found
    for token in parser().lex(text if text.endswith("\n") else text + "\n", dont_ignore=True):
        if token.type == "COMMENT":
            found.append((token.line, token.column, str(token).rstrip()))
        elif token.type in ("_ARROW", "_NL") and "#" in token:
            # comment lines swallowed by a continuation arrow or a run of line breaks
            for offset, piece in enumerate(str(token).split("\n")):
                if "#" in piece:
                    col = piece.index("#")
                    found.append((token.line + offset, col + 1, piece[col:].rstrip()))
    return found
