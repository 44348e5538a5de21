"""JSON case files, ``"format": "dispute-case/1"`` (docs/case-files.md): read, checked, typed.

Anything else is rejected with :class:`InvalidCase`, which names the file, the JSON pointer
of the bad field and what is wrong with it.

A case file is untrusted input. Its shape and every limit on it (:data:`LIMITS`: strings'
lengths and characters, amounts, quantities, list lengths) are the models of
:mod:`adjudicator.casemodel`, the same ones the published JSON Schema is made from; a file
is validated by them first, and the first problem in document order is named. Then come the
checks a model cannot make, in document order: duplicate keys (refused while the JSON text
is parsed, as are ``NaN`` and numbers too long to read), the years of every instant and
whether its date exists, claimed items that are the order's and a requested amount at most
what was paid for them (:func:`adjudicator.domain.claim_problem`), events in time order, and
evidence files that are regular files inside the case file's folder once symlinks are
resolved. ``rulebook`` is an id, never a path.

Reading is on the replay hot path: the validation is pydantic's (compiled, made once at
import), and a valid file's values are turned into the domain's objects directly.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from adjudicator import casemodel as model
from adjudicator.casemodel import DECLARED, EXPECTED, EXPECTED_LISTS, FORMAT, LIMITS, Limits
from adjudicator.domain import (
    Claim,
    ClaimedItem,
    ClaimType,
    Liability,
    Order,
    OrderItem,
    PlatformFinding,
    Remedy,
    claim_problem,
)
from adjudicator.errors import InvalidCase as InvalidCase  # noqa: PLC0414 (re-exported)
from adjudicator.workflow import Event, Submission
from evidence import EvidenceKind, Party

__all__ = [
    "DECLARED",
    "EXPECTED",
    "EXPECTED_LISTS",
    "FORMAT",
    "LIMITS",
    "CaseFile",
    "InvalidCase",
    "Limits",
    "claim_from",
    "default_rulebook",
    "event_from",
    "instant_from",
    "order_from",
    "read_case",
]

# the domain's enum members by value (what the model has already checked the values to be)
_PARTY = {p.value: p for p in Party}
_KIND = {k.value: k for k in EvidenceKind}
_CLAIM_TYPE = {c.value: c for c in ClaimType}
_REMEDY = {r.value: r for r in Remedy}
_LIABILITY = {v.value: v for v in Liability}
_FINDING = {f.value: f for f in PlatformFinding}
_DECLARED = frozenset(DECLARED)
_FIRST_YEAR, _LAST_YEAR = LIMITS.first_year, LIMITS.last_year


@dataclass(frozen=True)
class CaseFile:
    path: Path
    case_id: str
    rulebook: str
    order: Order
    claim: Claim
    events: tuple[Event, ...]
    expected: dict[str, Any] | None
    until: datetime | None


def default_rulebook(category: str) -> str:
    return "kuaishou.used_3c" if category.startswith("used_3c.") else "kuaishou.general"


def read_case(path: Path) -> CaseFile:
    file = str(path)
    try:
        # a regular file (a FIFO or device is never read), opened without blocking
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb", buffering=0) as handle:  # one read: no buffer needed
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InvalidCase(file, "", "not a regular file")
            # the size it has, and one byte more to see whether it grew past the limit
            raw = handle.read(min(st.st_size, LIMITS.file_bytes) + 1)
            if len(raw) > st.st_size:
                raw += handle.read(LIMITS.file_bytes + 1 - len(raw))
    except OSError as exc:
        raise InvalidCase(file, "", f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > LIMITS.file_bytes:
        raise InvalidCase(file, "", f"larger than {LIMITS.file_bytes} bytes")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidCase(file, "", "not valid JSON: nested too deeply") from None
    except _DuplicateKey as exc:
        raise InvalidCase(file, _duplicate_at(text), str(exc)) from None
    except ValueError as exc:
        raise InvalidCase(file, "", f"not valid JSON: {exc}") from exc
    try:
        case = model.Case.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise InvalidCase(file, *model.problem(errors, data)) from None
    return _Reader(file, path).case(case, data)


def instant_from(value: str, source: str, pointer: str) -> datetime:
    """An instant the model matched, checked as a case file's are (its year within the
    limits, a real date and time); a problem raises :class:`InvalidCase` at ``pointer``."""
    parsed = _Reader(source, Path(".")).instant(value, pointer)
    assert parsed is not None
    return parsed


def order_from(order: model.Order, source: str) -> Order:
    """A validated order (a request's, not a file's) as the domain's, its instants checked;
    a problem raises :class:`InvalidCase` naming ``source`` and the pointer."""
    return _Reader(source, Path(".")).order(order)


def claim_from(claim: model.Claim, order: Order, source: str) -> Claim:
    """A validated claim as the domain's, checked against ``order`` (:func:`order_from`)."""
    return _Reader(source, Path(".")).claim(claim, order)


def event_from(event: Any, source: str) -> Event:
    """A validated event that carries no evidence files as the domain's (its instant checked;
    a problem's pointer is ``/events/0/...``)."""
    return _Reader(source, Path(".")).events([event], [{}])[0]


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(f"appears twice in its object (the key {key!r})")
            seen.add(key)
    return out


_TWICE = object()  # a key no JSON text can hold: marks the object with a repeated key


def _duplicate_at(text: str) -> str:
    """The pointer of the first key that appears twice in an object (the slow path: only for
    a file already refused)."""

    def marking(pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, value in pairs:
            if key in out and _TWICE not in out:
                out[_TWICE] = key
            out[key] = value
        return out

    def find(node: Any, at: list[str | int]) -> list[str | int] | None:
        if isinstance(node, dict):
            if _TWICE in node:
                return [*at, node[_TWICE]]
            children = [([*at, k], v) for k, v in node.items() if k is not _TWICE]
        elif isinstance(node, list):
            children = [([*at, i], v) for i, v in enumerate(node)]
        else:
            return None
        for where, child in children:
            found = find(child, where)
            if found is not None:
                return found
        return None

    return model.pointer(find(json.loads(text, object_pairs_hook=marking), []) or [])


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _Reader:
    """A validated case file's values made the domain's objects, with the checks that need
    more than one value, or the file system, made on the way (in document order)."""

    def __init__(self, file: str, source: Path) -> None:
        self.file, self.source = file, source
        self._root: Path | None = None

    @property
    def root(self) -> Path:
        """The case file's folder with every symlink resolved: evidence stays inside it."""
        if self._root is None:
            self._root = Path(os.path.realpath(self.base))
        return self._root

    @property
    def base(self) -> Path:
        """What evidence paths are relative to: the case file's folder."""
        return self.source.parent

    def fail(self, pointer: str, message: str) -> InvalidCase:
        return InvalidCase(self.file, pointer, message)

    def instant(self, value: str | None, at: str) -> datetime | None:
        """An instant the model matched as RFC 3339 (or None): in the years the limits allow,
        and a real date and time (no month 13, no hour 25, no offset of 24 hours)."""
        if value is None:
            return None
        parsed = _parse_instant(value)
        if parsed is None:
            raise self.fail(at, model.NOT_AN_INSTANT)
        return parsed

    def case(self, case: model.Case, data: dict[str, Any]) -> CaseFile:
        order = self.order(case.order)
        claim = self.claim(case.claim, order)
        rulebook = case.rulebook or default_rulebook(order.category)
        events = self.events(case.events, data["events"])
        expected = None
        if case.expected is not None:  # the fields the file names, in its order
            expected = {k: getattr(case.expected, k) for k in data["expected"]}
        until = self.instant(case.until, "/until")
        return CaseFile(self.source, case.case_id, rulebook, order, claim, events, expected, until)

    def order(self, o: model.Order) -> Order:
        return Order(
            o.order_id,
            o.category,
            Decimal(o.paid_amount),
            o.currency,
            tuple(
                [OrderItem(i.sku, i.name, Decimal(i.price), i.quantity, i.serial) for i in o.items]
            ),
            o.seven_day_return,
            tuple(o.exclusions),
            self.instant(o.paid_at, "/order/paid_at"),
            self.instant(o.shipped_at, "/order/shipped_at"),
            o.tracking_no,
            self.instant(o.signed_at, "/order/signed_at"),
            o.return_insurance,
        )

    def claim(self, c: model.Claim, order: Order) -> Claim:
        amount = None if c.requested_amount is None else Decimal(c.requested_amount)
        claim = Claim(
            _CLAIM_TYPE[c.type],
            _REMEDY[c.requested_remedy],
            amount,
            c.description,
            tuple(ClaimedItem(i.sku, i.quantity) for i in c.items),
        )
        problem = claim_problem(order, claim)
        if problem is not None:
            raise self.fail(*problem)
        return claim

    def events(self, events: list[Any], raw: list[dict[str, Any]]) -> tuple[Event, ...]:
        out: list[Event] = []
        last: datetime | None = None
        for index, e in enumerate(events):
            when = _parse_instant(e.at)
            if when is None or (last is not None and when < last):
                why = model.NOT_AN_INSTANT if when is None else "is before the event above it"
                raise self.fail(f"/events/{index}/at", why)
            last = when
            fields = e.__dict__
            if len(fields) == 4:  # at, actor, action, reason: no more
                out.append(Event(when, _PARTY[e.actor], e.action, e.reason))
                continue
            evidence: tuple[Submission, ...] = ()
            if fields.get("evidence") is not None:
                evidence = self.evidence(index, e.evidence, raw[index]["evidence"])
            finding, liability, remedy = (
                fields.get("finding"),
                fields.get("liability"),
                fields.get("remedy"),
            )
            refund_amount, amount = fields.get("refund_amount"), fields.get("amount")
            out.append(
                Event(
                    at=when,
                    actor=_PARTY[e.actor],
                    action=e.action,
                    reason=e.reason,
                    evidence=evidence,
                    finding=None if finding is None else _FINDING[finding],
                    liability=None if liability is None else _LIABILITY[liability],
                    remedy=None if remedy is None else _REMEDY[remedy],
                    refund_amount=None if refund_amount is None else Decimal(refund_amount),
                    tracking_no=fields.get("tracking_no"),
                    text=fields.get("text"),
                    amount=None if amount is None else Decimal(amount),
                    offer=fields.get("offer"),
                )
            )
        return tuple(out)

    def evidence(
        self, event: int, items: list[Any], raw: list[dict[str, Any]]
    ) -> tuple[Submission, ...]:
        out = []
        for index, item in enumerate(items):
            file = self.evidence_file(item.file, f"/events/{event}/evidence/{index}/file")
            # what the submitter declares, in the file's order
            declared = {k: v for k, v in raw[index].items() if k in _DECLARED}
            described = getattr(item, "description", None)
            out.append(
                Submission(
                    _KIND[item.kind], file, declared, within=self.base, description=described
                )
            )
        return tuple(out)

    def evidence_file(self, name: str, at: str) -> Path:
        """A regular file inside the case file's folder, symlinks resolved; checked with
        ``stat`` (nothing is read here; the file is opened, and checked again on what was
        opened, when it is received)."""
        relative = PurePosixPath(name)
        if relative.is_absolute() or "\\" in name:
            raise self.fail(at, "must be a path relative to the case file's folder")
        if any(len(part.encode("utf-8")) > 255 for part in relative.parts):
            raise self.fail(at, "has a path component longer than 255 bytes")
        file = self.base / name
        resolved = Path(os.path.realpath(file))
        if not resolved.is_relative_to(self.root):
            raise self.fail(at, "leaves the case file's folder (absolute, .. or a symlink)")
        try:
            mode = os.stat(resolved).st_mode
        except OSError as exc:
            raise self.fail(at, f"no such file: {file} ({exc.strerror or exc})") from None
        if not stat.S_ISREG(mode):
            raise self.fail(at, f"not a regular file: {file}")
        return file


def _parse_instant(value: str) -> datetime | None:
    """An instant already matched as RFC 3339 with an offset (``Z`` too), in the years the
    limits allow, or None for a year outside them or a date or time that does not exist."""
    if not _FIRST_YEAR <= int(value[:4]) <= _LAST_YEAR:
        return None
    try:  # Python 3.11 reads "Z" itself, but not a lowercase "t" or "z"
        return datetime.fromisoformat(value if value[10] == "T" else value.upper())
    except ValueError:
        try:
            return datetime.fromisoformat(value.upper())
        except ValueError:  # a month 13, an hour 25, an offset of 24 hours
            return None
