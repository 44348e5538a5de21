"""adjudicator.jsontext writes what json.dumps writes, byte for byte."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adjudicator.auditlog import canonical
from adjudicator.jsontext import canonical_text, sorted_text, text, writer

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # nan and infinities too: json.dumps writes NaN and Infinity
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_sorted_text_is_json_dumps_with_sorted_keys(value: object) -> None:
    assert sorted_text(value) == json.dumps(value, ensure_ascii=False, sort_keys=True)


@given(JSON)
def test_text_is_json_dumps(value: object) -> None:
    assert text(value) == json.dumps(value, ensure_ascii=False)


@given(JSON)
def test_canonical_text_is_json_dumps_sorted_without_spaces(value: object) -> None:
    compact = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert canonical_text(value) == compact
    assert writer(sort_keys=True, compact=True, check_circular=True)(value) == compact


def test_keys_of_other_types_sort_and_write_as_json_dumps_does() -> None:
    value = {2: "b", 1: "a", 1.5: None, False: 0, None: 1}
    assert text(value) == json.dumps(value, ensure_ascii=False)
    with pytest.raises(TypeError):  # json.dumps cannot sort mixed keys either
        json.dumps({1: 0, "a": 0}, sort_keys=True)
    with pytest.raises(TypeError):
        sorted_text({1: 0, "a": 0})


def test_what_json_cannot_write_fails_the_same_way() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        sorted_text({"when": object()})
    looped: list[object] = []
    looped.append(looped)
    with pytest.raises(RecursionError):  # no markers: a cycle recurses until it fails
        text(looped)
    with pytest.raises(ValueError, match="Circular reference detected"):  # as json.dumps
        canonical({"self": looped})
