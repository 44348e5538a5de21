"""What differs between two rulebooks, rule by rule (``adjudicator rules diff``).

Both rulebooks are compared as loaded: overlays resolved, every rule by its id as written.
A rule is added, removed, or changed; a changed rule lists each field whose value differs
(nested tables by a dotted path; a list is one value). The rulebooks' ids, versions and
claim types are compared too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adjudicator.rulebook import Rulebook

_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any  # None when the field was absent (``had_old`` False)
    new: Any
    had_old: bool = True
    has_new: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field}
        if self.had_old:
            out["old"] = self.old
        if self.has_new:
            out["new"] = self.new
        return out


@dataclass(frozen=True)
class RuleDiff:
    old: Rulebook
    new: Rulebook
    top: tuple[FieldChange, ...]  # id, version, claim_types
    added: Mapping[str, Mapping[str, Any]]
    removed: Mapping[str, Mapping[str, Any]]
    changed: Mapping[str, tuple[FieldChange, ...]]

    @property
    def same(self) -> bool:
        return not (self.top or self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "old": {"label": self.old.label, "digest": self.old.digest},
            "new": {"label": self.new.label, "digest": self.new.digest},
            "rulebook": [c.to_json() for c in self.top],
            "added": {rid: dict(rule) for rid, rule in self.added.items()},
            "removed": {rid: dict(rule) for rid, rule in self.removed.items()},
            "changed": {rid: [c.to_json() for c in cs] for rid, cs in self.changed.items()},
        }

    def lines(self) -> list[str]:
        """The diff as text: ``+`` an added rule, ``-`` a removed one, ``~`` a changed field."""
        out = [
            f"{self.old.label} ({self.old.digest[:12]}) -> {self.new.label} "
            f"({self.new.digest[:12]})"
        ]
        out += [f"~ {c.field}: {_text(c, old=True)} -> {_text(c, old=False)}" for c in self.top]
        for rid, rule in self.removed.items():
            out.append(f"- {rid}: {_value(dict(rule))}")
        for rid, rule in self.added.items():
            out.append(f"+ {rid}: {_value(dict(rule))}")
        for rid, changes in self.changed.items():
            out += [
                f"~ {rid}.{c.field}: {_text(c, old=True)} -> {_text(c, old=False)}" for c in changes
            ]
        if self.same:
            out.append("no rule differs (the digests differ only if the files do)")
        else:
            out.append(
                f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"
            )
        return out


def diff(old: Rulebook, new: Rulebook) -> RuleDiff:
    """The rules of ``new`` against those of ``old``, by id, in id order."""
    top = _fields(
        {"id": old.id, "version": old.version, "claim_types": sorted(old.claim_types)},
        {"id": new.id, "version": new.version, "claim_types": sorted(new.claim_types)},
    )
    added = {rid: new.rules[rid] for rid in sorted(set(new.rules) - set(old.rules))}
    removed = {rid: old.rules[rid] for rid in sorted(set(old.rules) - set(new.rules))}
    changed = {}
    for rid in sorted(set(old.rules) & set(new.rules)):
        fields = _fields(old.rules[rid], new.rules[rid])
        if fields:
            changed[rid] = tuple(fields)
    return RuleDiff(old, new, tuple(top), added, removed, changed)


def _fields(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[FieldChange]:
    out: list[FieldChange] = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name, _MISSING), new.get(name, _MISSING)
        path = f"{prefix}{name}"
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            out += _fields(before, after, f"{path}.")
        elif not _equal(before, after):
            out.append(
                FieldChange(
                    path,
                    None if before is _MISSING else before,
                    None if after is _MISSING else after,
                    had_old=before is not _MISSING,
                    has_new=after is not _MISSING,
                )
            )
    return out


def _equal(a: Any, b: Any) -> bool:
    """Equal as TOML values: ``1`` and ``1.0`` are different values in a rulebook file, and
    so are ``true`` and ``1``."""
    return type(a) is type(b) and a == b


def _text(change: FieldChange, *, old: bool) -> str:
    present = change.had_old if old else change.has_new
    return _value(change.old if old else change.new) if present else "(absent)"


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
