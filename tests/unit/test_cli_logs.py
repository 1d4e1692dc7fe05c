"""`skiff logs --json`: the log's lines, however its chunks were cut."""

from __future__ import annotations

from skiff.cli import log_lines


def test_lines_cut_across_chunks_come_whole():
    chunks = [b"line 1\nli", b"ne 2", b"\n", b"line 3\nline 4"]
    assert list(log_lines(chunks)) == ["line 1", "line 2", "line 3", "line 4"]


def test_empty_lines_are_kept_and_bytes_that_are_not_utf8_replaced():
    assert list(log_lines([b"a\n\nb\xff\n"])) == ["a", "", "b\ufffd"]


def test_no_output_no_lines():
    assert list(log_lines([])) == [] and list(log_lines([b""])) == []
