"""Case files written as JSON text, so that they can be what ``json.dumps`` never writes
(deep nesting, a key twice, a lone surrogate), and JSON pointers into them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Pointer = tuple[str | int, ...]


@dataclass(frozen=True)
class Raw:
    """JSON text put in as it is: deep nesting, lone surrogates, NaN."""

    text: str

    def __repr__(self) -> str:
        return f"Raw({short(self.text)})"


@dataclass(frozen=True)
class Pairs:
    """An object written member by member, so that a key may come twice."""

    items: tuple[tuple[str, Any], ...]


def dump(value: Any) -> str:
    """``value`` as JSON text (UTF-8 characters as they are), with :class:`Raw` text put in
    and :class:`Pairs` written member by member."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs | dict):
        items = value.items if isinstance(value, Pairs) else tuple(value.items())
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def short(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"
    return repr(shown)


def pointers(value: Any, at: Pointer = ()) -> Iterator[Pointer]:
    """Every place in ``value``, the root first."""
    yield at
    if isinstance(value, dict):
        for key, item in value.items():
            yield from pointers(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from pointers(item, (*at, index))


def pointer_text(at: Pointer) -> str:
    """The JSON pointer (RFC 6901) of a place."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in at)


def get(doc: Any, at: Pointer) -> Any:
    for step in at:
        doc = doc[step]
    return doc


def put(doc: Any, at: Pointer, value: Any) -> Any:
    """``doc`` with the value at ``at`` replaced, or added as a last key (copied along the
    path; ``doc`` is not changed)."""
    if not at:
        return value
    head, rest = at[0], at[1:]
    if isinstance(doc, dict) and not rest:
        return {**doc, head: value}
    if isinstance(doc, dict):
        return {**doc, head: put(doc[head], rest, value)}
    copy = list(doc)
    assert isinstance(head, int)
    copy[head] = put(doc[head], rest, value)
    return copy
