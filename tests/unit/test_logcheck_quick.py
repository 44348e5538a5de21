"""The quick answers adjudicator.logcheck gives before comparing field by field: they answer
as the slow ones would, or say nothing.

- ``_identical`` compares with ``==`` (in C) and then only the types, where the slow
  answer walked every value: the same answer for any two JSON values, numbers, booleans,
  lists and tuples confused included;
- a decisions row whose body is the decision entry's own text without its ``hash``,
  ``prev`` and ``seq`` (``_unsealed``) is its entry, as parsing it would say.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adjudicator.auditlog import GENESIS, seal
from adjudicator.logcheck import _PLAIN, Told, _identical, _same, _unsealed


def reference(a: Any, b: Any) -> bool:
    """``_identical`` as it was: a walk over every value."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind in _PLAIN:
        return bool(a == b)
    if kind is dict:
        return len(a) == len(b) and all(
            type(key) is str and key in b and reference(value, b[key]) for key, value in a.items()
        )
    if kind is list:
        return len(a) == len(b) and all(map(reference, a, b))
    return False


SCALARS = st.sampled_from(
    [0, 1, 2, -1, True, False, 0.0, -0.0, 1.0, 1.5, math.nan, None, "", "a", "1", "true"]
)
TREES = st.recursive(
    SCALARS | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner)
        | st.dictionaries(st.sampled_from(["a", "b", "1"]), inner, max_size=3)
    ),
    max_leaves=12,
)


def twin(value: Any) -> Any:
    """The same JSON value, built anew (equal, of the same types, not the same objects)."""
    if isinstance(value, dict):
        return {key: twin(item) for key, item in reversed(value.items())}
    if isinstance(value, list):
        return [twin(item) for item in value]
    if isinstance(value, str):
        return "".join(value)
    return value


@settings(max_examples=500, deadline=None)
@given(TREES, TREES)
def test_identical_answers_as_the_walk_did(a: Any, b: Any) -> None:
    assert _identical(a, b) == reference(a, b)
    assert _identical(a, twin(a)) == reference(a, twin(a))
    assert _identical([a, b], [twin(a), b]) == reference([a, b], [twin(a), b])


def test_identical_tells_equal_values_of_other_types_apart() -> None:
    for a, b in [
        ([1], [True]),
        ({"a": [0]}, {"a": [False]}),
        ([1], [1.0]),
        ([[1, "x"]], [(1, "x")]),
        ({"a": None}, {"a": None, "b": None}),
        ({1: "x"}, {1: "x"}),
    ]:
        assert not _identical(a, b)
        assert not _identical(b, a)
    assert _identical({"b": [1, {"c": None}], "a": "x"}, {"a": "x", "b": [1, {"c": None}]})


def _decision(**extra: Any) -> dict[str, Any]:
    body = {
        "actor": "platform",
        "at": "2026-03-07T12:06:00+08:00",
        "case_id": "KS-1",
        "decision": {"liability": "both", "refund_amount": "649.50", "rules": [], "n": 1.5},
        "event": "decision",
    }
    return seal(7, GENESIS, {**body, **extra})


def _text(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True)


def test_a_decision_entry_without_its_seal_is_its_body() -> None:
    entry = _decision()
    body = {k: v for k, v in entry.items() if k not in ("seq", "prev", "hash")}
    assert _unsealed(_text(entry), entry) == json.dumps(body, ensure_ascii=False, sort_keys=True)


def test_no_body_is_worked_out_where_the_text_does_not_show_it() -> None:
    cases = {
        "a key after seq": _decision(zz="after"),
        "an escape": _decision(actor='the "platform"'),
        "a line break": _decision(actor="two\nlines"),
        "a key between": _decision(ok="between hash and prev"),
    }
    for name, entry in cases.items():
        assert _unsealed(_text(entry), entry) is None, name
    entry = _decision()
    spaced = _text(entry).replace('"seq": 7}', '"seq":  7}')
    assert _unsealed(spaced, entry) is None
    for key in ("seq", "prev", "hash"):  # the entry as parsed must hold them as written
        assert _unsealed(_text(entry), {**entry, key: None}) is None
    duplicated = _text(entry).replace('{"actor"', '{"seq": 6, "actor"', 1)
    assert _unsealed(duplicated, json.loads(duplicated)) is None


BODY_VALUES = st.recursive(
    SCALARS | st.text(alphabet='ab "\\\n,:{}[]', max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["hash", "seq", "a", "prev", "zz"]), inner, max_size=2)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["actor", "at", "a", "zz", "hash ", "seq"]), BODY_VALUES))
def test_a_worked_out_body_parses_to_the_entry_without_its_seal(body: dict[str, Any]) -> None:
    entry = seal(3, GENESIS, body)
    text = _text(entry)
    parsed = json.loads(text)
    unsealed = _unsealed(text, parsed)
    if unsealed is not None:
        told = {k: v for k, v in parsed.items() if k not in ("seq", "prev", "hash")}
        assert _same(json.loads(unsealed), told)


def test_a_forged_remedy_that_is_no_text_is_read_as_no_remedy() -> None:
    """A decision entry whose remedy is a list or an object (resealed by whoever forged it)
    is read as one with no remedy the table knows, so the audit names what differs rather
    than failing."""
    forged: list[Any] = [[], {}, ["refund_only"]]
    for remedy in forged:
        told = Told("KS-1")
        told.observe({"event": "decision", "at": "t", "decision": {"remedy": remedy}})
        told.observe({"event": "await_shipment", "from": "decided", "to": "shipment_due"})
        assert (told.remedy, told.window) == (remedy, None)
