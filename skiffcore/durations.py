"""Durations as people type them on the command line: "90", "90s", "30m", "24h", "7d".

    >>> from skiffcore.durations import parse_duration
    >>> parse_duration("30m")
    1800.0
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | float | int, *, allow_zero: bool = False) -> float:
    """Seconds from "90", "90s", "30m", "24h" or "7d"; ValueError otherwise."""
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
        if match is None:
            raise ValueError(f"invalid duration {value!r} (use e.g. 90s, 30m, 24h, 7d)")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"a duration must be positive, not {value!r}")
    return seconds
