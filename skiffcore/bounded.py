"""Reading untrusted input within bounds, and echoing it back within bounds.

A door reads JSON a caller sent only after checking its size and how deeply it nests (Python's
parser recurses, so 1,000 nested brackets would end in RecursionError, an internal error), and
cuts whatever it echoes in an error message to a readable length with a count of the rest (gRPC
carries the message in a header of at most a few kB).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["BoundsError", "cut", "loads", "nesting_depth"]

MESSAGE_LIMIT = 1000


class BoundsError(ValueError):
    """Input beyond a bound; the message names the field and the bound."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def nesting_depth(text: str, stop_above: int | None = None) -> int:
    """How deeply arrays and objects nest in JSON `text` (brackets inside strings don't
    count). Stops early, returning a value above `stop_above`, once that is exceeded."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def loads(text: str | bytes, field: str, max_bytes: int, max_depth: int) -> Any:
    """`json.loads` for a caller's input: refuses more than `max_bytes` or deeper nesting than
    `max_depth` up front, and invalid JSON, with a BoundsError naming `field`."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise BoundsError(field, f"{size} bytes is over the limit of {max_bytes} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError as exc:
            raise BoundsError(field, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if nesting_depth(text, max_depth) > max_depth:
        raise BoundsError(field, f"nests deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int)
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4,300 digits
        raise BoundsError(field, f"not valid JSON: {cut(str(exc), 200)}") from None


MAX_INT_DIGITS = 40  # far beyond any count, size or port; Python's own limit is 4,300


def _bounded_int(digits: str) -> int:
    """An integer of at most MAX_INT_DIGITS digits (arithmetic on a 4,000-digit one would
    make numbers Python refuses to print, in an error message of all places)."""
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits.lstrip('-'))} digits (at most "
                         f"{MAX_INT_DIGITS})")
    return int(digits)


def _no_constant(name: str) -> Any:
    """NaN and Infinity are Python's extensions, not JSON."""
    raise ValueError(f"{name} is not a JSON value")


def cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text`, or its first `limit` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"
