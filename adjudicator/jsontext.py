"""JSON text written with one C encoder made once, rather than ``json.dumps`` each time.

``json.dumps`` given options builds a new ``JSONEncoder`` on every call, which is about half
of what writing a log entry costs; an import writes several texts a case, and an audit hashes
every entry. :func:`writer` makes the C encoder ``json.dumps`` would use, once, and gives the
same text byte for byte:

- :func:`sorted_text`: ``json.dumps(value, ensure_ascii=False, sort_keys=True)``, what the
  database stores (snapshots, events, decisions, log entries);
- :func:`text`: the same unsorted (effects, evidence verdicts, in the order they are built);
- :func:`canonical_text`: sorted with no spaces, the decision log's canonical form, which
  :mod:`adjudicator.auditlog` hashes.

These leave out the check for circular references (a fresh dict of markers per call): the
values are trees of JSON values that the engine built or parsed, and a cycle fails as a
``RecursionError`` instead of a ``ValueError``. ``writer(..., check_circular=True)`` keeps it.
Anything else json.dumps cannot write fails here too (``TypeError``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _json_encoder
from typing import Any

__all__ = ["canonical_text", "sorted_text", "text", "writer"]

_MAKE: Callable[..., Callable[[object, int], Any]] | None = getattr(
    _json_encoder, "c_make_encoder", None
)
_STR: Callable[[str], str] = _json_encoder.encode_basestring  # ensure_ascii=False's


def writer(
    *, sort_keys: bool, compact: bool = False, check_circular: bool = False
) -> Callable[[object], str]:
    """``json.dumps(value, ensure_ascii=False, sort_keys=sort_keys)``, with the separators
    ``(",", ":")`` if ``compact``, as a function of ``value``."""
    separators = (",", ":") if compact else None
    options = json.JSONEncoder(
        ensure_ascii=False,
        sort_keys=sort_keys,
        separators=separators,
        check_circular=check_circular,
    )
    make = _MAKE
    if make is None:  # pragma: no cover - Python without the _json accelerator
        return options.encode
    # as JSONEncoder.iterencode passes them: markers, default, the str encoder, indent, the
    # key and item separators, sort_keys, skipkeys, allow_nan
    settings = (options.default, _STR, None, options.key_separator, options.item_separator)
    flags = (sort_keys, False, True)
    if check_circular:

        def checked(value: object) -> str:
            if isinstance(value, str):  # JSONEncoder.encode's own shortcut
                return _STR(value)
            return "".join(make({}, *settings, *flags)(value, 0))

        return checked
    encode = make(None, *settings, *flags)

    def dumps(value: object) -> str:
        if isinstance(value, str):
            return _STR(value)
        return "".join(encode(value, 0))

    return dumps


sorted_text = writer(sort_keys=True)
"""``json.dumps(value, ensure_ascii=False, sort_keys=True)``."""
text = writer(sort_keys=False)
"""``json.dumps(value, ensure_ascii=False)``."""
canonical_text = writer(sort_keys=True, compact=True)
"""``json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))``."""
