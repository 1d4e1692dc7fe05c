"""Durations typed on the command line (`--since`, the registry's purge and lifecycle ages)."""

from __future__ import annotations

import pytest

from skiffcore.durations import parse_duration


@pytest.mark.parametrize("text, seconds", [("90", 90.0), ("90s", 90.0), ("1.5m", 90.0),
                                           ("24h", 86400.0), ("7d", 604800.0), (" 2 m ", 120.0),
                                           (30, 30.0)])
def test_units(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "5w", "-5s", "five"])
def test_what_is_not_a_duration_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_zero_only_where_allowed():
    with pytest.raises(ValueError, match="positive"):
        parse_duration("0s")
    assert parse_duration("0s", allow_zero=True) == 0.0
