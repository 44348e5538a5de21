"""JSON case files, ``"format": "dispute-case/1"`` (CASE_FORMAT.md): read, checked, typed.

Anything else is rejected with :class:`InvalidCase`, which names the file, the JSON pointer
of the bad field and what is wrong with it.

Reading is on the replay hot path, so the checks are arranged to cost little when a file is
valid: each object's field names are compared with precomputed sets in one step, and only a
file that fails a check takes the slower path that finds and names the first problem (in
exactly the order of the checks below).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
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
from adjudicator.errors import AdjudicationError
from adjudicator.workflow import ACTORS, Event, Submission
from evidence import EvidenceKind, Party
from evidence.declared import REQUIRED

FORMAT = "dispute-case/1"
CATEGORY = re.compile(r"^(general|used_3c\.(phone|tablet|computer|appliance|digital))$")
AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
# what a submitter may declare beside the file: capture details, and each kind's fields
DECLARED = (
    "captured_at",
    "shows_serial",
    *REQUIRED[EvidenceKind.INSPECTION_CERTIFICATE],
    *REQUIRED[EvidenceKind.LOGISTICS_RECORD],
)
EXPECTED = ("liability", "remedy", "refund_amount", "state", "resolution")
_EVENT_FIELDS: dict[str, set[str]] = {
    "submit_evidence": {"evidence"},
    "appeal": {"evidence"},
    "finding": {"finding"},
    "decide": {"liability", "remedy", "refund_amount"},
    "return_shipped": {"tracking_no"},
}
_OPTIONAL_EVENT_FIELDS = {"appeal": {"evidence"}}

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
_EXPECTED = _shape(set(), set(EXPECTED))
_SUBMISSION = _shape({"kind", "file"}, set(DECLARED))
_DECLARED = frozenset(DECLARED)
_EVENT: dict[str, _Shape] = {
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


class InvalidCase(AdjudicationError):
    def __init__(self, file: str, pointer: str, message: str) -> None:
        super().__init__(f"{file}: {pointer or '/'}: {message}")
        self.file, self.pointer, self.message = file, pointer, message


@dataclass(frozen=True)
class CaseFile:
    path: Path
    case_id: str
    rulebook: str
    order: Order
    claim: Claim
    events: tuple[Event, ...]
    expected: dict[str, str] | None
    until: datetime | None


def default_rulebook(category: str) -> str:
    return "kuaishou.used_3c" if category.startswith("used_3c.") else "kuaishou.general"


def read_case(path: Path) -> CaseFile:
    file = str(path)
    try:
        # the bytes, decoded and with newlines translated, as ``path.read_text("utf-8")``
        with path.open("rb", buffering=0) as handle:  # one read: no buffer needed
            text = handle.read().decode("utf-8")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        data = json.loads(text)
    except OSError as exc:
        raise InvalidCase(file, "", f"cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InvalidCase(file, "", f"not valid JSON: {exc}") from exc
    return _Reader(file, path).case(data)


class _Reader:
    def __init__(self, file: str, source: Path) -> None:
        self.file, self.source = file, source

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

    def text(self, value: Any, at: str, *, nullable: bool = False) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(at, "must be a non-empty string")
        return value

    def amount(self, value: Any, at: str) -> Decimal:
        if not isinstance(value, str) or not AMOUNT.match(value):
            raise self.fail(at, 'must be a decimal string such as "1299.00"')
        return Decimal(value)

    def instant(self, value: Any, at: str, *, nullable: bool = False) -> datetime | None:
        if value is None and nullable:
            return None
        parsed = _parse_instant(value)
        if parsed is None:
            raise self.fail(at, "must be an RFC 3339 time with an offset")
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
        order = self.order(top["order"])
        claim = self.claim(top["claim"], order)
        rulebook = top.get("rulebook", default_rulebook(order.category))
        self.text(rulebook, "/rulebook")
        events = self.events(top["events"])
        expected = None
        if "expected" in top:
            raw = self.obj(top["expected"], "/expected", _EXPECTED)
            expected = {k: str(self.text(v, f"/expected/{k}")) for k, v in raw.items()}
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
        seven = o.get("seven_day_return", False)
        if not isinstance(seven, bool):
            raise self.fail("/order/seven_day_return", "must be true or false")
        exclusions = o.get("exclusions", [])
        if not isinstance(exclusions, list) or (
            exclusions and not all(isinstance(e, str) for e in exclusions)
        ):
            raise self.fail("/order/exclusions", "must be a list of strings")
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
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise self.fail(
                f"/order/items/{index}/quantity", "must be a whole number of at least 1"
            )
        sku, name, price, serial = i["sku"], i["name"], i["price"], i.get("serial")
        if not (
            isinstance(sku, str)
            and sku
            and isinstance(name, str)
            and name
            and isinstance(price, str)
            and AMOUNT.match(price)
            and (serial is None or (isinstance(serial, str) and serial))
        ):  # name the first field that is wrong
            at = f"/order/items/{index}"
            self.text(sku, f"{at}/sku")
            self.text(name, f"{at}/name")
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
        description = c.get("description", "")
        if not isinstance(description, str):
            raise self.fail("/claim/description", "must be a string")
        return Claim(self.choice(ClaimType, c["type"], "/claim/type"), remedy, amount, description)

    def events(self, raw: Any) -> tuple[Event, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("/events", "must be a non-empty list")
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
        if action not in ACTORS:
            raise self.fail(f"/events/{index}/action", f"must be one of {', '.join(ACTORS)}")
        at = f"/events/{index}"
        e = self.obj(raw, at, _EVENT[action])
        when = _parse_instant(e["at"])
        if when is None:
            raise self.fail(f"{at}/at", "must be an RFC 3339 time with an offset")
        reason = e.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise self.fail(f"{at}/reason", "must be a string")
        if len(e) == (3 if reason is None else 4):  # at, actor, action (and reason): no more
            return Event(when, self.choice(Party, e["actor"], f"{at}/actor"), action, reason)
        evidence: tuple[Submission, ...] = ()
        if "evidence" in e:
            evidence = self.evidence(f"{at}/evidence", e["evidence"])
        return Event(
            at=when,
            actor=self.choice(Party, e["actor"], f"{at}/actor"),
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
        out = []
        for index, item in enumerate(raw):
            where = f"{at}/{index}"
            e = self.obj(item, where, _SUBMISSION)
            kind = self.choice(EvidenceKind, e["kind"], f"{where}/kind")
            name = str(self.text(e["file"], f"{where}/file"))
            file = self.base / name
            if not file.is_file():
                raise self.fail(f"{where}/file", f"no such file: {file}")
            declared = {k: v for k, v in e.items() if k in _DECLARED}
            for key, value in declared.items():
                if not isinstance(value, str):
                    raise self.fail(f"{where}/{key}", "must be a string")
            out.append(Submission(kind, file, declared))
        return tuple(out)


def _parse_instant(value: Any) -> datetime | None:
    """An RFC 3339 time with an offset (``Z`` too), or None for anything else."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.utcoffset() is not None and "T" in value:
            return parsed
    return None


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
