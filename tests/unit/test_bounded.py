"""Bounded reading of a caller's JSON, and bounded echoes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from skiffcore import bounded


@pytest.mark.parametrize("text, depth", [
    ("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('["[[[[", "}}}"]', 1),
    ('["\\"[[["]', 1), ('{"k\\\\": [[]]}', 3),
], ids=["scalar", "array", "mixed", "brackets-in-strings", "escaped-quote", "escaped-backslash"])
def test_nesting_depth(text, depth):
    assert bounded.nesting_depth(text) == depth


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                           lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                           max_leaves=30)


def reference_depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values)
def test_nesting_depth_matches_the_parsed_value(value):
    assert bounded.nesting_depth(json.dumps(value)) == reference_depth(value)


def test_deep_json_is_refused_before_parsing():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(bounded.BoundsError, match="taskDefinition: nests deeper than 32"):
        bounded.loads(deep, "taskDefinition", 10_000_000, 32)


def test_big_json_is_refused_naming_the_limit():
    with pytest.raises(bounded.BoundsError, match="over the limit of 65536 bytes"):
        bounded.loads(json.dumps({"x": "y" * 70_000}), "taskDefinition", 65536, 32)


def test_invalid_json_names_the_field():
    with pytest.raises(bounded.BoundsError, match="^manifest: not valid JSON"):
        bounded.loads(b"{", "manifest", 100, 5)


@pytest.mark.parametrize("text", ["9" * 5000, '{"memory": -' + "9" * 4000 + "}", "[NaN]",
                                  '{"a": -Infinity}'],
                         ids=["integer-over-4300-digits", "integer-of-4000-digits", "nan",
                              "infinity"])
def test_json_python_would_refuse_or_extend_is_invalid(text):
    with pytest.raises(bounded.BoundsError, match="^taskDefinition: not valid JSON"):
        bounded.loads(text, "taskDefinition", 65536, 32)


def test_cut_counts_the_rest():
    assert bounded.cut("abc", 5) == "abc"
    assert bounded.cut("x" * 12, 5) == "xxxxx… (7 more characters)"
