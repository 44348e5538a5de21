"""JSON case files, ``"format": "dispute-case/1"`` (docs/case-files.md): read, checked, typed.

Anything else is rejected with :class:`InvalidCase`, which names the file, the JSON pointer
of the bad field and what is wrong with it.

A case file is untrusted input. Everything in it is bounded (:data:`LIMITS`, stated in the
JSON Schema and docs/case-files.md): the file's size, every string's length and characters,
amounts, quantities, list lengths and the years of every instant. Duplicate keys, numbers
written with other scripts' digits and ISO 8601 forms that are not RFC 3339 are refused.
Evidence files must be regular files inside the case file's folder once symlinks are
resolved; ``rulebook`` is an id, never a path.

Reading is on the replay hot path, so the checks are arranged to cost little when a file is
valid: each object's field names are compared with precomputed sets in one step, and only a
file that fails a check takes the slower path that finds and names the first problem (in
exactly the order of the checks below).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from adjudicator.domain import (
    REQUESTABLE,
    Claim,
    ClaimType,
    Liability,
    Order,
    OrderItem,
    PlatformFinding,
    Remedy,
)
from adjudicator.errors import InvalidCase as InvalidCase  # noqa: PLC0414 (re-exported)
from adjudicator.rulebook import RULEBOOK_ID
from adjudicator.workflow import ACTORS, Event, Submission
from evidence import EvidenceKind, Party
from evidence.declared import REQUIRED

FORMAT = "dispute-case/1"
CATEGORY = re.compile(r"^(general|used_3c\.(phone|tablet|computer|appliance|digital))$")
# ASCII digits only (``\d`` takes Arabic-Indic and full-width ones), and no trailing newline
AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?", re.ASCII)
CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", re.ASCII)
# RFC 3339 (section 5.6) and nothing else of ISO 8601: no week dates, no basic format
INSTANT = re.compile(
    r"(\d{4})-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
# control characters (tab and newline allowed in free text only) and lone surrogates
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_FREE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class Limits:
    """What a case file may hold (every limit inclusive)."""

    file_bytes: int = 4 * 1024 * 1024
    id_chars: int = 128  # case_id, order_id, sku, serial, tracking numbers, declared fields
    name_chars: int = 500  # an item's name
    text_chars: int = 2000  # a claim's description, an event's reason
    path_chars: int = 1024  # an evidence file's path; each part at most 255 bytes
    amount_digits: int = 12  # before the point; two after it at most
    quantity: int = 1_000_000
    items: int = 1000
    events: int = 1000
    evidence_per_event: int = 100
    exclusions: int = 100
    first_year: int = 1970
    last_year: int = 2999


LIMITS = Limits()
# what a submitter may declare beside the file: capture details, and each kind's fields
DECLARED = (
    "captured_at",
    "shows_serial",
    *REQUIRED[EvidenceKind.INSPECTION_CERTIFICATE],
    *REQUIRED[EvidenceKind.LOGISTICS_RECORD],
)
EXPECTED = (
    "liability",
    "remedy",
    "refund_amount",
    "state",
    "resolution",
    "return_shipping_payer",
    "penalty_amount",
)
"""The outcome fields an ``expected`` block may pin: each a string, or null where the
outcome has none."""
EXPECTED_LISTS = ("violations", "rules")
"""The outcome fields an ``expected`` block pins as lists of strings."""
_EVENT_FIELDS: dict[str, set[str]] = {
    "submit_evidence": {"evidence"},
    "appeal": {"evidence"},
    "finding": {"finding"},
    "decide": {"liability", "remedy", "refund_amount"},
    "return_shipped": {"tracking_no"},
}
_OPTIONAL_EVENT_FIELDS = {"appeal": {"evidence"}, "decide": {"refund_amount"}}

# Each object's fields: (required, allowed), allowed being required plus the optional ones.
_Shape = tuple[frozenset[str], frozenset[str]]


def _shape(required: set[str], optional: set[str]) -> _Shape:
    return frozenset(required), frozenset(required | optional)


_TOP = _shape({"format", "case_id", "order", "claim", "events"}, {"rulebook", "expected", "until"})
_ORDER = _shape(
    {"order_id", "category", "paid_amount", "currency", "items"},
    {"seven_day_return", "exclusions", "paid_at", "shipped_at", "tracking_no", "signed_at"},
)
_ITEM = _shape({"sku", "name", "price", "quantity"}, {"serial"})
_CLAIM = _shape({"type", "requested_remedy"}, {"requested_amount", "description"})
_EXPECTED = _shape(set(), {*EXPECTED, *EXPECTED_LISTS})
_SUBMISSION = _shape({"kind", "file"}, set(DECLARED))
_DECLARED = frozenset(DECLARED)
# Each action's event fields: (required, allowed). The JSON Schema is made from this too.
EVENT_FIELDS: dict[str, _Shape] = {
    action: _shape(
        {
            "at",
            "actor",
            "action",
            *(_EVENT_FIELDS.get(action, set()) - _OPTIONAL_EVENT_FIELDS.get(action, set())),
        },
        {"reason", *_EVENT_FIELDS.get(action, set())},
    )
    for action in ACTORS
}


E = TypeVar("E", ClaimType, Remedy, Party, Liability, PlatformFinding, EvidenceKind)


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
    return _Reader(file, path).case(data)


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

    def find(node: Any, at: str) -> str | None:
        if isinstance(node, dict):
            if _TWICE in node:
                return f"{at}/{_escape(node[_TWICE])}"
            children = [(f"{at}/{_escape(k)}", v) for k, v in node.items() if k is not _TWICE]
        elif isinstance(node, list):
            children = [(f"{at}/{i}", v) for i, v in enumerate(node)]
        else:
            return None
        for where, child in children:
            found = find(child, where)
            if found is not None:
                return found
        return None

    return find(json.loads(text, object_pairs_hook=marking), "") or ""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _Reader:
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

    def obj(self, value: Any, at: str, shape: _Shape) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(at, "must be an object")
        required, allowed = shape
        if allowed.issuperset(value) and value.keys() >= required:
            return value
        for key in sorted(value):
            if key not in allowed:
                raise self.fail(f"{at}/{_escape(key)}", "unknown field")
        for key in sorted(required):
            if key not in value:
                raise self.fail(f"{at}/{_escape(key)}", "is required")
        return value

    def text(
        self, value: Any, at: str, *, nullable: bool = False, limit: int = LIMITS.id_chars
    ) -> str | None:
        """A non-empty string of at most ``limit`` characters, none of them a control
        character or a lone surrogate."""
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(at, "must be a non-empty string")
        if len(value) > limit:
            raise self.fail(at, f"is {len(value)} characters long; at most {limit}")
        if _CONTROL.search(value):
            raise self.fail(at, "must not hold control characters or lone surrogates")
        return value

    def expected(self, name: str, value: Any) -> str | list[str] | None:
        at = f"/expected/{_escape(name)}"
        if name not in EXPECTED_LISTS:
            return self.text(value, at, nullable=True)
        if not isinstance(value, list) or len(value) > LIMITS.events:
            raise self.fail(at, f"must be a list of at most {LIMITS.events} strings")
        return [str(self.text(v, f"{at}/{i}")) for i, v in enumerate(value)]

    def free_text(self, value: Any, at: str) -> str:
        """Words a person wrote: a string (maybe empty) of at most ``text_chars``, newlines
        and tabs allowed."""
        if not isinstance(value, str):
            raise self.fail(at, "must be a string")
        if len(value) > LIMITS.text_chars:
            raise self.fail(at, f"is {len(value)} characters long; at most {LIMITS.text_chars}")
        if _FREE_CONTROL.search(value):
            raise self.fail(at, "must not hold control characters or lone surrogates")
        return value

    def amount(self, value: Any, at: str) -> Decimal:
        if not isinstance(value, str) or not AMOUNT.fullmatch(value):
            raise self.fail(
                at,
                f'must be a decimal string such as "1299.00" (ASCII digits, at most '
                f"{LIMITS.amount_digits} before the point and 2 after it)",
            )
        return Decimal(value)

    def instant(self, value: Any, at: str, *, nullable: bool = False) -> datetime | None:
        if value is None and nullable:
            return None
        parsed = _parse_instant(value)
        if parsed is None:
            raise self.fail(
                at,
                "must be an RFC 3339 time with an offset, such as 2026-03-05T12:00:00+08:00, "
                f"in the years {LIMITS.first_year} to {LIMITS.last_year}",
            )
        return parsed

    def optional_instant(self, value: Any, at: str) -> datetime | None:
        return None if value is None else self.instant(value, at)

    def choice(self, kind: type[E], value: Any, at: str) -> E:
        members: dict[Any, Enum] = kind._value2member_map_
        try:  # what ``kind(value)`` looks up first
            return members[value]  # type: ignore[return-value]
        except (KeyError, TypeError):
            pass
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(e.value for e in kind)
            raise self.fail(at, f"must be one of {allowed}") from None

    def case(self, data: Any) -> CaseFile:
        top = self.obj(data, "", _TOP)
        if top["format"] != FORMAT:
            raise self.fail("/format", f"must be {FORMAT!r}")
        case_id = self.text(top["case_id"], "/case_id")
        if not CASE_ID.fullmatch(str(case_id)):
            raise self.fail("/case_id", "must be letters, digits and . _ : - (at most 128, ASCII)")
        order = self.order(top["order"])
        claim = self.claim(top["claim"], order)
        rulebook = top.get("rulebook", default_rulebook(order.category))
        if not (isinstance(rulebook, str) and RULEBOOK_ID.fullmatch(rulebook)):
            raise self.fail("/rulebook", "must be a rulebook id such as kuaishou.general")
        events = self.events(top["events"])
        expected = None
        if "expected" in top:
            raw = self.obj(top["expected"], "/expected", _EXPECTED)
            expected = {k: self.expected(k, v) for k, v in raw.items()}
        until = self.instant(top.get("until"), "/until", nullable=True)
        assert case_id is not None
        return CaseFile(self.source, case_id, str(rulebook), order, claim, events, expected, until)

    def order(self, raw: Any) -> Order:
        o = self.obj(raw, "/order", _ORDER)
        category = self.text(o["category"], "/order/category")
        assert category is not None
        if not CATEGORY.match(category):
            raise self.fail("/order/category", "must be general or used_3c.{phone,tablet,...}")
        items = o["items"]
        if not isinstance(items, list) or not items:
            raise self.fail("/order/items", "must be a non-empty list")
        if len(items) > LIMITS.items:
            raise self.fail("/order/items", f"has {len(items)} items; at most {LIMITS.items}")
        seven = o.get("seven_day_return", False)
        if not isinstance(seven, bool):
            raise self.fail("/order/seven_day_return", "must be true or false")
        exclusions = o.get("exclusions", [])
        if not isinstance(exclusions, list) or (
            exclusions and not all(isinstance(e, str) for e in exclusions)
        ):
            raise self.fail("/order/exclusions", "must be a list of strings")
        if len(exclusions) > LIMITS.exclusions:
            raise self.fail("/order/exclusions", f"at most {LIMITS.exclusions}")
        for index, exclusion in enumerate(exclusions):
            self.text(exclusion, f"/order/exclusions/{index}")
        # the remaining fields are checked in the order Order(...) names them
        order_id = str(self.text(o["order_id"], "/order/order_id"))
        paid_amount = self.amount(o["paid_amount"], "/order/paid_amount")
        currency = str(self.text(o["currency"], "/order/currency"))
        return Order(
            order_id,
            category,
            paid_amount,
            currency,
            tuple([self.item(i, raw) for i, raw in enumerate(items)]),
            seven,
            tuple(exclusions),
            self.optional_instant(o.get("paid_at"), "/order/paid_at"),
            self.optional_instant(o.get("shipped_at"), "/order/shipped_at"),
            self.text(o.get("tracking_no"), "/order/tracking_no", nullable=True),
            self.optional_instant(o.get("signed_at"), "/order/signed_at"),
        )

    def item(self, index: int, raw: Any) -> OrderItem:
        i = self.obj(raw, f"/order/items/{index}", _ITEM)
        quantity = i["quantity"]
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 1 <= quantity <= LIMITS.quantity
        ):
            raise self.fail(
                f"/order/items/{index}/quantity",
                f"must be a whole number from 1 to {LIMITS.quantity}",
            )
        sku, name, price, serial = i["sku"], i["name"], i["price"], i.get("serial")
        at = f"/order/items/{index}"
        self.text(sku, f"{at}/sku")
        self.text(name, f"{at}/name", limit=LIMITS.name_chars)
        self.amount(price, f"{at}/price")
        self.text(serial, f"{at}/serial", nullable=True)
        return OrderItem(str(sku), str(name), Decimal(price), quantity, serial)

    def claim(self, raw: Any, order: Order) -> Claim:
        c = self.obj(raw, "/claim", _CLAIM)
        remedy = self.choice(Remedy, c["requested_remedy"], "/claim/requested_remedy")
        if remedy not in REQUESTABLE:
            raise self.fail(
                "/claim/requested_remedy",
                "a buyer requests refund_only, return_and_refund or partial_refund",
            )
        amount = None
        if c.get("requested_amount") is not None:
            amount = self.amount(c["requested_amount"], "/claim/requested_amount")
            if amount > order.paid_amount:
                raise self.fail("/claim/requested_amount", "is more than the paid amount")
        description = self.free_text(c.get("description", ""), "/claim/description")
        return Claim(self.choice(ClaimType, c["type"], "/claim/type"), remedy, amount, description)

    def events(self, raw: Any) -> tuple[Event, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("/events", "must be a non-empty list")
        if len(raw) > LIMITS.events:
            raise self.fail("/events", f"has {len(raw)} events; at most {LIMITS.events}")
        events: list[Event] = []
        last: datetime | None = None
        for index, item in enumerate(raw):
            event = self.event(index, item)
            if last is not None and event.at < last:
                raise self.fail(f"/events/{index}/at", "is before the event above it")
            last = event.at
            events.append(event)
        return tuple(events)

    def event(self, index: int, raw: Any) -> Event:
        if not isinstance(raw, dict):
            raise self.fail(f"/events/{index}", "must be an object")
        action = raw.get("action")
        if not isinstance(action, str) or action not in ACTORS:
            raise self.fail(f"/events/{index}/action", f"must be one of {', '.join(ACTORS)}")
        at = f"/events/{index}"
        e = self.obj(raw, at, EVENT_FIELDS[action])
        when = _parse_instant(e["at"])
        if when is None:
            raise self.fail(f"{at}/at", "must be an RFC 3339 time with an offset")
        reason = e.get("reason")
        if reason is not None:
            self.free_text(reason, f"{at}/reason")
        actor = self.choice(Party, e["actor"], f"{at}/actor")
        if actor not in ACTORS[action]:
            who = " or ".join(sorted(p.value for p in ACTORS[action]))
            raise self.fail(f"{at}/actor", f"{action} is done by the {who}")
        if len(e) == (3 if reason is None else 4):  # at, actor, action (and reason): no more
            return Event(when, actor, action, reason)
        evidence: tuple[Submission, ...] = ()
        if "evidence" in e:
            evidence = self.evidence(f"{at}/evidence", e["evidence"])
        return Event(
            at=when,
            actor=actor,
            action=action,
            reason=reason,
            evidence=evidence,
            finding=self.choice(PlatformFinding, e["finding"], f"{at}/finding")
            if "finding" in e
            else None,
            liability=self.choice(Liability, e["liability"], f"{at}/liability")
            if "liability" in e
            else None,
            remedy=self.choice(Remedy, e["remedy"], f"{at}/remedy") if "remedy" in e else None,
            refund_amount=self.amount(e["refund_amount"], f"{at}/refund_amount")
            if "refund_amount" in e
            else None,
            tracking_no=self.text(e["tracking_no"], f"{at}/tracking_no")
            if "tracking_no" in e
            else None,
        )

    def evidence(self, at: str, raw: Any) -> tuple[Submission, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(at, "must be a non-empty list")
        if len(raw) > LIMITS.evidence_per_event:
            raise self.fail(at, f"has {len(raw)} items; at most {LIMITS.evidence_per_event}")
        out = []
        for index, item in enumerate(raw):
            where = f"{at}/{index}"
            e = self.obj(item, where, _SUBMISSION)
            kind = self.choice(EvidenceKind, e["kind"], f"{where}/kind")
            file = self.evidence_file(e["file"], f"{where}/file")
            declared = {k: v for k, v in e.items() if k in _DECLARED}
            for key, value in declared.items():
                self.text(value, f"{where}/{key}")
            out.append(Submission(kind, file, declared, within=self.base))
        return tuple(out)

    def evidence_file(self, value: Any, at: str) -> Path:
        """A regular file inside the case file's folder, symlinks resolved; checked with
        ``stat`` (nothing is read here; the file is opened, and checked again on what was
        opened, when it is received)."""
        name = str(self.text(value, at, limit=LIMITS.path_chars))
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


def _parse_instant(value: Any) -> datetime | None:
    """An RFC 3339 time with an offset (``Z`` too) in the years the limits allow, or None
    for anything else."""
    if not isinstance(value, str) or INSTANT.fullmatch(value) is None:
        return None
    if not LIMITS.first_year <= int(value[:4]) <= LIMITS.last_year:
        return None
    try:  # Python 3.11 reads "Z" itself, but not a lowercase "t" or "z"
        return datetime.fromisoformat(value if value[10] == "T" else value.upper())
    except ValueError:
        try:
            return datetime.fromisoformat(value.upper())
        except ValueError:  # a month 13, an hour 25, an offset of 24 hours
            return None


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
