"""The error types every stage raises, and the one printer that renders them.

A diagnostic reads `PATH:LINE:COL: error: MESSAGE`, then the source line with
a caret under the column, then `hint: ...` when there is one.
"""
from __future__ import annotations

# Bounds that keep a diagnostic's size independent of the input's: a line of
# 100,000 characters holding 20,000 errors must still print at once.
MAX_REPORTED = 20          # errors printed; the rest are counted
WINDOW = 100               # characters of a long source line shown around the column


class NetcError(Exception):
    """A user-facing error: what went wrong, where, and how to fix it."""

    kind = "error"

    def __init__(self, message: str, *, line: int | None = None,
                 column: int | None = None, hint: str | None = None,
                 path: str | None = None, source_line: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint
        self.path = path
        self.source_line = source_line

    def located(self, path: str | None, text: str | None, lines: list[str] | None = None) -> "NetcError":
        """Attach the file name and the offending source line, for printing
        (`lines`, the text already split, saves splitting it once per error)."""
        if self.path is None:
            self.path = path
        if self.source_line is None and text is not None and self.line:
            # Lines as the parser counts them: only "\n" ends one (not \f or \u2028).
            lines = text.split("\n") if lines is None else lines
            if 0 < self.line <= len(lines):
                self.source_line = lines[self.line - 1].rstrip("\r")
        return self

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        # No file and no line (a bad command-line value, say): just the message.
        out = [f"{where}: error: {self.message}" if self.path or self.line else f"error: {self.message}"]
        if self.source_line is not None and self.line:
            shown, caret = source_window(self.source_line, self.column)
            out.append("    " + shown)
            if caret is not None:
                out.append("    " + " " * caret + "^")
        if self.hint:
            out.append(f"hint: {self.hint}")
        return "\n".join(out)


def source_window(line: str, column: int | None) -> tuple[str, int | None]:
    """At most WINDOW characters of `line` around `column` (1-based), with
    "..." where it was cut, and the caret's offset in what is shown."""
    caret = column - 1 if column else None
    start, end = 0, len(line)
    if len(line) > WINDOW:
        start = max(0, min((caret or 0) - WINDOW // 2, len(line) - WINDOW))
        end = start + WINDOW
    # One printable character per column keeps the caret under its column.
    shown = "".join(c if c.isprintable() else " " for c in line[start:end])
    if start:
        shown = "..." + shown
    if end < len(line):
        shown += "..."
    if caret is not None:
        caret += (3 if start else 0) - start
    return shown, caret


class NetcSyntaxError(NetcError):
    """The text does not follow the grammar."""


class NetcSpecError(NetcError, ValueError):
    """Unknown names, misplaced or repeated statements, values out of range."""


class NetcShapeError(NetcError):
    """Shapes that do not fit together."""


class NetcDataError(NetcError, ValueError):
    """A data set, weights file or checkpoint that cannot be used."""


class NetcRuntimeError(NetcError, RuntimeError):
    """Something went wrong while running or training a network."""


class NetcDivergedError(NetcRuntimeError):
    """Training produced a non-finite loss."""


class NetcErrors(NetcError):
    """Several independent errors found in one pass, reported together."""

    def __init__(self, errors: list[NetcError]):
        errors = sorted(errors, key=lambda e: (e.line or 0, e.column or 0))
        first = errors[0]
        super().__init__(first.message, line=first.line, column=first.column,
                         hint=first.hint, path=first.path)
        self.errors = errors

    def located(self, path, text, lines=None):
        if text is not None and lines is None:
            lines = text.split("\n")
        for error in self.errors:
            error.located(path, text, lines)
        self.path = self.errors[0].path
        return self

    def __str__(self) -> str:
        shown = [str(e) for e in self.errors[:MAX_REPORTED]]
        more = len(self.errors) - MAX_REPORTED
        if more > 0:
            shown.append(f"... and {more} more error{'s' if more > 1 else ''} "
                         f"({len(self.errors)} in all; the first {MAX_REPORTED} are shown)")
        return "\n".join(shown)


def raise_if_any(errors: list[NetcError]) -> None:
    """Stop between stages once a stage has found errors (jlox's hadError)."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise NetcErrors(errors)


def did_you_mean(word: str, known) -> str:
    """A hint naming the closest known word (if any) and all of them."""
    import difflib
    # Names from a document may be numbers or None (JSON keys from Python).
    known = sorted(map(str, known))
    close = difflib.get_close_matches(str(word), known, n=1, cutoff=0.6)
    listing = ", ".join(known)
    if close:
        return f"did you mean '{close[0]}'? known: {listing}"
    return f"known: {listing}"
