"""Diagnostics stay small whatever the input: errors capped, long lines windowed."""
import time

import pytest

import netc
from netc.errors import MAX_REPORTED, WINDOW, NetcError, NetcErrors, source_window


def test_many_errors_on_one_long_line_are_capped_and_windowed():
    text = "input 784\naffine 10" + " -> affine 10 10" * 2000 + " -> softmax\n"
    started = time.perf_counter()
    with pytest.raises(NetcErrors) as caught:
        netc.compile(text)
    rendered = str(caught.value.located("many.net", text))
    assert time.perf_counter() - started < 5
    assert len(caught.value.errors) == 2000
    assert rendered.count("error: 'affine' takes one value") == MAX_REPORTED
    assert rendered.endswith(f"... and {2000 - MAX_REPORTED} more errors (2000 in all; "
                             f"the first {MAX_REPORTED} are shown)")
    assert max(map(len, rendered.splitlines())) <= WINDOW + 10
    assert len(rendered) < 10_000


def test_window_keeps_the_caret_under_its_column():
    line = "".join(str(i % 10) for i in range(1000))
    for column in (1, 50, 51, 500, 999, 1000):
        shown, caret = source_window(line, column)
        assert len(shown) <= WINDOW + 6
        assert shown[caret] == line[column - 1]
    assert source_window(line, 1)[0].endswith("...") and not source_window(line, 1)[0].startswith("...")
    assert source_window(line, 1000)[0].startswith("...") and not source_window(line, 1000)[0].endswith("...")


def test_short_lines_print_whole():
    error = NetcError("bad", line=1, column=3, path="f.net", source_line="ab\tcd")
    assert str(error) == "f.net:1:3: error: bad\n    ab cd\n      ^"


def test_few_errors_have_no_tail():
    errors = NetcErrors([NetcError("one", line=1), NetcError("two", line=2)])
    assert "more error" not in str(errors)


def test_did_you_mean_takes_names_that_are_not_strings():
    from netc.errors import did_you_mean
    assert did_you_mean(3, ["units", 7, None]) == "known: 7, None, units"
    assert did_you_mean("unit", ["units"]).startswith("did you mean 'units'?")
