"""JSON text as the database stores it (snapshots, events, decisions, log entries, effects).

:func:`sorted_text` is ``json.dumps(value, ensure_ascii=False, sort_keys=True)`` and
:func:`text` the same without sorting, byte for byte, but without the new ``JSONEncoder``
that ``json.dumps`` builds for every call given options: one C encoder serves every value.
An import writes several texts a case, and building the encoder was most of each call.

The values are trees of JSON values the engine built, so the check for circular references
(a fresh dict of markers per call) is left out: a cycle fails as a ``RecursionError``
instead of a ``ValueError``. Anything json.dumps cannot write fails here too (``TypeError``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _json_encoder
from typing import Any

__all__ = ["sorted_text", "text"]

_MAKE: Callable[..., Callable[[object, int], Any]] | None = getattr(
    _json_encoder, "c_make_encoder", None
)


def _encoder(sort_keys: bool) -> Callable[[object], str]:
    options = json.JSONEncoder(ensure_ascii=False, sort_keys=sort_keys)
    if _MAKE is None:  # pragma: no cover - Python without the _json accelerator
        return options.encode
    # as JSONEncoder.iterencode passes them: markers, default, the str encoder, indent, the
    # key and item separators, sort_keys, skipkeys, allow_nan
    encode = _MAKE(
        None,
        options.default,
        _json_encoder.encode_basestring,
        None,
        options.key_separator,
        options.item_separator,
        sort_keys,
        False,
        True,
    )

    def dumps(value: object) -> str:
        if isinstance(value, str):  # JSONEncoder.encode's own shortcut
            return _json_encoder.encode_basestring(value)
        return "".join(encode(value, 0))

    return dumps


sorted_text: Callable[[object], str] = _encoder(sort_keys=True)
"""``json.dumps(value, ensure_ascii=False, sort_keys=True)``."""
text: Callable[[object], str] = _encoder(sort_keys=False)
"""``json.dumps(value, ensure_ascii=False)``."""
