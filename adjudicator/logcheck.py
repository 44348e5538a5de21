"""What a dispute's decision-log entries say of it, against what the database stores of it.

The log records every state change (``from``/``to``), every decision (all of it) and every
evidence verdict. :class:`Told` reads one dispute's entries, oldest first, into what they
say the dispute is now; :func:`compare` holds that against the stored dispute (its columns
and its snapshot, which ``show`` and ``explain`` print), its rows in the ``decisions`` table
and its rows in the ``evidence`` table, and names each field that differs.

The ``open`` entry carries the digest of the order and claim the dispute was opened with
(:mod:`adjudicator.facts`), and an agreement's entry (``agree``, ``answer_expired``) the
remedy and refund it settled on; logs written before they did are checked as before: the
agreed terms worked out from the stored claim. One thing is always worked out rather than
read, the way :mod:`adjudicator.workflow` does it: the pending deadline (the entry that
opened a window, plus the rulebook's time for it). tests/unit/test_logcheck.py replays every
example dispute step by step and holds this module to the workflow at each step.

:func:`compare_effects` holds a dispute's rows in the ``effects`` table (the outbox the host
pays and ships from) to the effects its entries order (:class:`adjudicator.effects.Ledger`,
given the entries as :func:`adjudicator.repository.append_log` gives them, and the order's
currency and refund as the stored dispute has them, as the writer had them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import chain
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

from adjudicator.auditlog import Problem, parse_json
from adjudicator.domain import REMEDIES, Remedy, money
from adjudicator.effects import LEDGER_EVENTS, ORDERING_STATES, Ledger, amount_of
from adjudicator.errors import AdjudicationError
from adjudicator.facts import facts_digest
from adjudicator.jsontext import text as json_text
from adjudicator.persistence import epoch_us
from adjudicator.rulebook import DELIVERY_DEADLINE, Rulebook

__all__ = [
    "StoredDispute",
    "Told",
    "compare",
    "compare_decisions",
    "compare_effects",
    "compare_evidence",
]

# The transitions that open a window, and the deadline rule and the event when it lapses.
_WINDOWS = {
    "reject": ("deadline.escalate", "escalate_expired"),
    "escalate": ("deadline.evidence", "evidence_expired"),
    "return_shipped": ("deadline.confirm_receipt", "confirm_expired"),
}
_REBUTTAL = ("deadline.rebuttal", "rebuttal_expired")
_RETURN = ("deadline.return_ship", "return_expired")
_ANSWER = "(the answer rule)"  # the open's window: which rule depends on the claim
_KEEP = frozenset(
    {"submit_evidence", "finding", "statement", "offer", "decline_offer", "offer_expired"}
)  # the transitions that leave a window open (and an accept_offer that settles nothing yet)
_RESOLUTIONS = {
    "agree": "agreed",
    "answer_expired": "merchant_timeout",
    "escalate_expired": "lapsed",
    "withdraw": "withdrawn",
}
_DECISION_FIELDS = (
    "liability",
    "remedy",
    "refund_amount",
    "return_shipping_payer",
    "penalty_amount",
    "violations",
)
_EVIDENCE_FIELDS = ("id", "party", "kind", "sha256", "accepted", "reasons", "description")


@dataclass
class Told:
    """What one dispute's log entries say it is now."""

    case_id: str
    entries: int = 0
    state: Any = None
    resolution: Any = None
    opened_at: Any = None
    evidence_closed_at: Any = None
    rebuttal_closed_at: Any = None
    decided_at: Any = None
    appealed: bool = False
    appeal: dict[str, Any] | None = None  # what the appeal entry says, as the snapshot keeps it
    decision: dict[str, Any] | None = None
    settled_by: str | None = None  # "decision" or "claim": what set the remedy and refund
    facts: Any = None  # the open entry's digest of the order and claim
    agreed: tuple[Any, Any] | None = None  # an agreement entry's (remedy, refund_amount)
    rules: list[Any] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    tracking_no: Any = None
    shipment_tracking_no: Any = None
    remedy: Any = None  # the remedy settled on, as the entries that settled it say
    return_payer: Any = None  # an agreement's or accepted offer's payer of the return shipping
    fallback: tuple[Any, Any] | None = None  # a missed shipment's (remedy, refund_amount)
    offers: list[dict[str, Any]] = field(default_factory=list)  # as the snapshot keeps them
    window: tuple[str, str, Any] | None = None  # the open window: rule, lapse event, start
    evidence: list[dict[str, Any]] = field(default_factory=list)  # the evidence entries
    decisions: list[dict[str, Any]] = field(default_factory=list)  # the decision entries
    # (as the log holds them: ``seq``, ``prev`` and ``hash`` are not the decisions row's)
    bodies: list[str | None] = field(default_factory=list)  # their decisions rows' body text
    ledgered: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """The entries a :class:`Ledger` needs (:data:`LEDGER_EVENTS`), with their number (from 1)."""
    currency: Any = None  # the order's currency, as the stored dispute has it (set by compare)
    refund: Any = None  # the refund, as the stored dispute has it (set by compare)

    def observe(self, entry: dict[str, Any], text: str | None = None) -> None:
        """The dispute's next entry (``text``: as the log stores it, if the caller has it)."""
        self.entries += 1
        event, at = entry.get("event"), entry.get("at")
        # what the ledger reads (as could_order, inline: most entries are not); an event or a
        # state that is no text, the ledger cannot read, and will say so
        if event in LEDGER_EVENTS if type(event) is str else event is not None:
            self.ledgered.append((self.entries, entry))
        elif "to" in entry:
            to = entry["to"]
            if (
                (to in ORDERING_STATES and to != entry.get("from"))
                if type(to) is str
                else isinstance(to, (list, dict))
            ):
                self.ledgered.append((self.entries, entry))
        if not isinstance(event, str):  # a forged entry: it says nothing this reads
            event = ""
        if "to" in entry:
            self._moved(entry, event, at)
        elif event == "evidence":
            self.evidence.append(entry)
        elif event == "review":
            self.resolution = "pending_review"
            if isinstance(entry.get("rules"), list):  # logs before 2026.2 did not list them
                self.rules = entry["rules"]
        elif event == "decision":
            decision = entry.get("decision")
            self.decision = decision if isinstance(decision, dict) else {}
            self.decisions.append(entry)
            self.bodies.append(None if text is None else _unsealed(text, entry))
            self.decided_at, self.resolution, self.settled_by = at, "adjudicated", "decision"
            self.rules = [step.get("rule") for step in _steps(self.decision)]
            self.remedy, self.fallback = self.decision.get("remedy"), None
            if _meaning(self.remedy, "goods_back"):
                self.window = (*_RETURN, at)

    def _moved(self, entry: dict[str, Any], event: str, at: Any) -> None:
        stays = entry.get("to") == entry.get("from")
        self.state = entry.get("to")
        if event not in _KEEP and not (event == "accept_offer" and stays):
            self.window = None
        if isinstance(entry.get("voids"), str):
            self._offer_ends(entry["voids"], "void", at)
        if event in ("offer", "accept_offer", "decline_offer", "offer_expired"):
            self._offer(entry, event, at, stays)
        if event == "open":
            self.opened_at = at
            self.facts = entry.get("facts")
            if self.state == "refused":
                self.resolution, self.rules = "refused", ["deadline.open_window"]
            else:
                self.window = (_ANSWER, "answer_expired", at)
        elif event in ("agree", "answer_expired") or (event == "accept_offer" and not stays):
            self._settled(entry, event, at)
        elif event in _RESOLUTIONS:
            self.resolution = _RESOLUTIONS[event]
        elif event in ("evidence_complete", "evidence_expired"):
            self.evidence_closed_at = at
            if self.state == "awaiting_rebuttal":
                self.window = (*_REBUTTAL, at)
            else:
                self.rebuttal_closed_at = at
        elif event in ("rebuttal_complete", "rebuttal_expired"):
            self.rebuttal_closed_at = at
        elif event == "finding":
            self.findings.append(entry.get("finding"))
        elif event == "statement":
            self.statements.append({"by": entry.get("actor"), "at": at, "text": entry.get("text")})
        elif event == "appeal":
            self.appealed = True
            previous = _object(self.decision)
            self.appeal = {
                "by": entry.get("actor"),
                "at": at,
                "paid": entry.get("refund_paid"),
                "previous": {k: previous.get(k) for k in ("liability", "remedy", "refund_amount")},
            }
            if self.state == "awaiting_rebuttal":  # the other side answers the appeal
                self.window = (*_REBUTTAL, at)
        elif event == "return_shipped":
            self.tracking_no = entry.get("tracking_no")
        else:
            self._shipment(entry, event, at)
        if event in _WINDOWS:
            self.window = (*_WINDOWS[event], at)

    def _shipment(self, entry: dict[str, Any], event: str, at: Any) -> None:
        """What the merchant ships (an exchange's replacement, a repair, a missing part)."""
        if event == "merchant_shipped":
            self.shipment_tracking_no = entry.get("tracking_no")
            self.window = (DELIVERY_DEADLINE, "delivery_expired", at)
        elif event == "await_shipment" or self.state == "shipment_due":
            shipment = _meaning(self.remedy, "shipment")
            if isinstance(shipment, str):
                self.window = (shipment, "shipment_expired", at)
        elif event == "shipment_expired":
            self.fallback = (entry.get("remedy"), entry.get("refund_amount"))
            self.remedy = entry.get("remedy")
            self.rules = [*self.rules, entry.get("rule"), entry.get("fallback")]

    def _settled(self, entry: dict[str, Any], event: str, at: Any) -> None:
        """An agreement, the merchant's silence, or an accepted offer: the remedy and refund
        its entry records (the claim's, in logs written before entries recorded them)."""
        self.resolution = "negotiated" if event == "accept_offer" else _RESOLUTIONS[event]
        self.settled_by = "claim"
        if "remedy" in entry or "refund_amount" in entry:
            self.agreed = (entry.get("remedy"), entry.get("refund_amount"))
            self.remedy = entry.get("remedy")
        self.return_payer = entry.get("return_shipping_payer")
        listed = entry.get("rules")
        rules: list[Any] = listed if isinstance(listed, list) else []
        self.rules = [entry.get("rule"), *rules] if event == "answer_expired" else [*rules]
        # a return is due, unless the claim was for a refund: then "pay" follows at once
        self.window = (*_RETURN, at)

    def _offer(self, entry: dict[str, Any], event: str, at: Any, stays: bool) -> None:
        if event == "offer":
            if isinstance(entry.get("supersedes"), str):
                self._offer_ends(entry["supersedes"], "superseded", at)
            made = _object(entry.get("offer"))
            self.offers.append(
                {
                    "id": made.get("id"),
                    "by": entry.get("actor"),
                    "at": at,
                    "remedy": made.get("remedy"),
                    "amount": made.get("amount"),
                    "expires_at": made.get("expires_at"),
                    "status": "open",
                    "accepted_by": [],
                    "ended_at": None,
                }
            )
            return
        offer = next((o for o in self.offers if o["id"] == entry.get("offer")), None)
        if offer is None:
            return  # an answer to an offer the log never made: the snapshot will differ
        if event == "accept_offer":
            offer["accepted_by"] = [*offer["accepted_by"], entry.get("actor")]
            if not stays:
                offer["status"], offer["ended_at"] = "accepted", at
        elif event == "decline_offer":
            offer["status"], offer["ended_at"] = "declined", at
        else:
            offer["status"], offer["ended_at"] = "lapsed", at

    def _offer_ends(self, offer_id: str, status: str, at: Any) -> None:
        for offer in self.offers:
            if offer["id"] == offer_id:
                offer["status"], offer["ended_at"] = status, at

    def effects(self) -> list[dict[str, Any]]:
        """The effects the dispute's entries order, oldest first, as the writer worked them
        out: a :class:`Ledger` given every entry of the dispute, with the order's currency and
        the refund as the dispute has them (:attr:`currency`, :attr:`refund`). Only the
        entries it reads are given to it (the others would only be counted): each with the
        count of the entries before it. Raises what the ledger raises on a forged entry."""
        if not self.ledgered:
            return []
        ledger = Ledger(self.case_id, self.currency, refund_hint=amount_of(self.refund))
        out: list[dict[str, Any]] = []
        for number, entry in self.ledgered:
            ledger.entries = number - 1
            out += ledger.observe(entry)
        return out


_SEALING = frozenset({"seq", "prev", "hash"})


def _unsealed(text: str, entry: dict[str, Any]) -> str | None:
    """The text of the decisions row's body that is the entry (parsed from ``text``) without
    its ``hash``, ``prev`` and ``seq``, as json.dumps writes it with its keys sorted; None
    unless ``text`` shows, without parsing it again, that it is this one.

    That is when ``text`` has no backslash (so no value or key in it is written with an
    escape, and none of its strings holds a quote) and ends with those three members as
    json.dumps writes them, and what is before them names none of them: then the members
    before them are the top level's (no quote to end a string among the last ones, no
    bracket), ``{`` and those members and ``}`` are a JSON object, and it is the entry
    without the three."""
    seq, prev, digest = entry.get("seq"), entry.get("prev"), entry.get("hash")
    if type(seq) is not int or type(prev) is not str or type(digest) is not str:
        return None
    if "\\" in text:
        return None
    tail = f', "hash": "{digest}", "prev": "{prev}", "seq": {seq}}}'
    if not text.endswith(tail):
        return None
    body = text[: len(text) - len(tail)] + "}"
    if '"hash"' in body or '"prev"' in body or '"seq"' in body:
        return None
    return body


class DecisionColumns(Protocol):
    """A row of the ``decisions`` table (a ``DecisionRow``, or the row as read)."""

    @property
    def at(self) -> str: ...
    @property
    def body(self) -> str: ...


class EvidenceColumns(Protocol):
    """A row of the ``evidence`` table (an ``EvidenceRow``, or the row as read)."""

    @property
    def evidence_id(self) -> str: ...
    @property
    def party(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def accepted(self) -> bool: ...
    @property
    def submitted_at(self) -> str: ...
    @property
    def verdict(self) -> str: ...


class StoredDispute(NamedTuple):
    """A dispute's row as the database holds it (a tuple: made from the row as read, in the
    order of its fields, without copying it field by field)."""

    case_id: str
    state: str
    resolution: str | None
    deadline_us: int | None
    rulebook: str
    rulebook_digest: str
    snapshot: str
    order_id: str | None = None  # the column the back office finds an order's disputes by


class _Differences:
    """The fields of one dispute that differ, as problems."""

    def __init__(self, case_id: str) -> None:
        self.subject = f"dispute {case_id}"
        self.found: list[Problem] = []

    def note(self, detail: str) -> None:
        self.found.append(Problem(self.subject, detail))

    def check(self, name: str, stored: Any, told: Any, where: str, source: str = "its log") -> None:
        if not _same(stored, told):
            self.note(f"{name} is {_shown(stored)} in {where} but {_shown(told)} in {source}")


def compare(
    told: Told | None, stored: StoredDispute, rulebook: Callable[[], Rulebook]
) -> list[Problem]:
    """Each field of the stored dispute that is not what its log entries say (``rulebook``:
    the dispute's rulebook, loaded only to work out a pending deadline)."""
    out = _Differences(stored.case_id)
    if told is None:
        out.note("is stored but has no entries in the log (they were deleted)")
        return out.found
    try:
        data = parse_json(stored.snapshot)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        out.note("its stored snapshot is not a JSON object")
        data = {}
    told.currency = _object(data.get("order")).get("currency")
    told.refund = data.get("refund_amount")
    table = "the disputes table"
    kept, said = [stored.state, stored.resolution], [told.state, told.resolution]
    if told.decision is not None:
        kept.append(stored.rulebook_digest)
        said.append(told.decision.get("rulebook_digest"))
    if not _identical(kept, said):  # (identical: nothing to name; else each is checked)
        out.check("state", stored.state, told.state, table)
        out.check("resolution", stored.resolution, told.resolution, table)
        if told.decision is not None:
            digest = told.decision.get("rulebook_digest")
            out.check("rulebook_digest", stored.rulebook_digest, digest, table)
    if not data:
        return out.found
    _fields(out, told, stored, data)
    if told.facts is not None:
        try:
            stored_facts = facts_digest(data.get("order"), data.get("claim"))
        except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
            stored_facts = "(not JSON text)"
        if stored_facts != told.facts:
            out.note(
                "order or claim in the stored dispute is not what it was opened with (their "
                f"digest is {stored_facts[:12]}… but {str(told.facts)[:12]}… in its log)"
            )
    _settlement(out, told, data)
    _appeal(out, told.appeal, data.get("appeal"))
    _decision(out, told.decision, data.get("decision"))
    _snapshot_evidence(out, told.evidence, data.get("evidence"))
    _deadline(out, told, data, stored, rulebook)
    return out.found


def _fields(out: _Differences, told: Told, stored: StoredDispute, data: dict[str, Any]) -> None:
    """The stored dispute's own fields (and its row's id and order id) against its log."""
    table, snap = "the disputes table", "the stored dispute"
    logged = {
        "state": told.state,
        "resolution": told.resolution,
        "appealed": told.appealed,
        "findings": told.findings,
        "resolution_rules": told.rules,
        "return_tracking_no": told.tracking_no,
    }
    # snapshots written before these were kept say nothing of them
    if told.statements or "statements" in data:
        logged |= {"statements": told.statements}
    for name in ("offers", "return_payer", "shipment_tracking_no"):
        if getattr(told, name) or name in data:
            logged[name] = getattr(told, name)
    # the times, as they are written (the same text is the same instant)
    kept = [data.get("case_id"), *map(data.get, logged), *map(data.get, _TIMES)]
    said = [stored.case_id, *logged.values(), *_TOLD_TIMES(told)]
    if stored.order_id is not None:
        kept.append(stored.order_id)
        said.append(_object(data.get("order")).get("order_id"))
    if not _identical(kept, said):
        out.check("case_id", data.get("case_id"), stored.case_id, snap, "its row")
        if stored.order_id is not None:
            order = _object(data.get("order")).get("order_id")
            out.check("order_id", stored.order_id, order, table, "the stored dispute's order")
        for name, value in logged.items():
            out.check(name, data.get(name), value, snap)
        for name in _TIMES:
            out.check(name, _instant(data.get(name)), _instant(getattr(told, name)), snap)


_TIMES = ("opened_at", "evidence_closed_at", "rebuttal_closed_at", "decided_at")
_TOLD_TIMES = attrgetter(*_TIMES)


def _settlement(out: _Differences, told: Told, data: dict[str, Any]) -> None:
    """The remedy and refund: a missed shipment's refund, the decision's, or (agreed) the
    claim's, or none."""
    snap = "the stored dispute"
    if told.fallback is not None:
        out.check("remedy", data.get("remedy"), told.fallback[0], snap)
        out.check("refund_amount", data.get("refund_amount"), told.fallback[1], snap)
        return
    if told.settled_by == "decision" and told.decision is not None:
        out.check("remedy", data.get("remedy"), told.decision.get("remedy"), snap)
        out.check(
            "refund_amount", data.get("refund_amount"), told.decision.get("refund_amount"), snap
        )
        return
    if told.settled_by == "claim" and told.agreed is not None:
        out.check("remedy", data.get("remedy"), told.agreed[0], snap)
        out.check("refund_amount", data.get("refund_amount"), told.agreed[1], snap)
        return
    if told.settled_by == "claim":  # a log from before agreements recorded their terms
        claim, order = _object(data.get("claim")), _object(data.get("order"))
        remedy = claim.get("requested_remedy")
        refund = _disputed(claim.get("requested_amount"), order.get("paid_amount"))
        source = "its stored claim (the log does not record an agreed refund)"
        out.check("remedy", data.get("remedy"), remedy, snap, source)
        out.check("refund_amount", data.get("refund_amount"), refund, snap, source)
        return
    out.check("remedy", data.get("remedy"), None, snap)
    out.check("refund_amount", data.get("refund_amount"), None, snap)


def _appeal(out: _Differences, told: dict[str, Any] | None, stored: Any) -> None:
    """Who appealed, when, against which decision, and what had been paid (snapshots written
    before appeals were kept say nothing of it)."""
    snap = "the stored dispute"
    if told is None or stored is None:
        if stored is not None:
            out.note(f"appeal is recorded in {snap} but its log has no appeal")
        return
    stored = _object(stored)
    out.check("appeal.by", stored.get("by"), told["by"], snap)
    out.check("appeal.at", _instant(stored.get("at")), _instant(told["at"]), snap)
    out.check("appeal.paid", stored.get("paid"), told["paid"], snap)
    previous = _object(stored.get("previous"))
    for name, value in told["previous"].items():
        out.check(f"appeal.previous.{name}", previous.get(name), value, snap)


def _decision(out: _Differences, told: dict[str, Any] | None, stored: Any) -> None:
    snap = "the stored dispute"
    if told is None or stored is None:
        if told is not None or stored is not None:
            shown = "a decision" if stored is not None else "none"
            said = "a decision" if told is not None else "none"
            out.note(f"decision is {shown} in {snap} but {said} in its log")
        return
    stored = _object(stored)
    logged = [[step.get("rule"), step.get("because")] for step in _steps(told)]
    trace = stored.get("trace")
    kept, logs = list(map(stored.get, _DECISION_FIELDS)), list(map(told.get, _DECISION_FIELDS))
    if _identical([*kept, trace], [*logs, logged]):
        return
    for name in _DECISION_FIELDS:
        out.check(f"decision.{name}", stored.get(name), told.get(name), snap)
    if not isinstance(trace, list) or len(trace) != len(logged):
        out.check("decision.trace", trace, logged, snap)
        return
    for number, (kept, step) in enumerate(zip(trace, logged, strict=True), start=1):
        out.check(f"decision.trace[{number}]", kept, step, snap)


def _snapshot_evidence(out: _Differences, told: list[dict[str, Any]], stored: Any) -> None:
    records = stored if isinstance(stored, list) else []
    if not isinstance(stored, list):
        out.note(f"evidence is {_shown(stored)} in the stored dispute, not a list")
    elif len(told) == len(records) and _identical(
        [list(map(_object(record).get, _EVIDENCE_FIELDS)) for record in records],
        [list(map(_object(entry.get("evidence")).get, _EVIDENCE_FIELDS)) for entry in told],
    ):
        return
    for index in range(max(len(told), len(records))):
        if index >= len(records):
            logged = _object(told[index].get("evidence"))
            out.note(
                f"evidence {_shown(logged.get('id'))} is in its log but not in the stored dispute"
            )
            continue
        record = _object(records[index])
        if index >= len(told):
            out.note(
                f"evidence {_shown(record.get('id'))} is in the stored dispute but not in its log"
            )
            continue
        logged = _object(told[index].get("evidence"))
        label = f"evidence {_shown(logged.get('id'))}"
        for name in _EVIDENCE_FIELDS:
            out.check(f"{label}.{name}", record.get(name), logged.get(name), "the stored dispute")


def _deadline(
    out: _Differences,
    told: Told,
    data: dict[str, Any],
    stored: StoredDispute,
    rulebook: Callable[[], Rulebook],
) -> None:
    if (  # no deadline, none stored
        told.window is None
        and data.get("deadline_at") is None
        and data.get("deadline_rule") is None
        and data.get("deadline_event") is None
        and stored.deadline_us is None
        and all(offer["status"] != "open" for offer in told.offers)
    ):
        return
    due: datetime | None = None
    rule = event = None
    if told.window is not None:
        rule, event, start = told.window
        if rule == _ANSWER:
            rule = _answer_rule(_object(data.get("claim")), _object(data.get("order")))
        began = _instant(start)
        if not isinstance(began, datetime):
            out.note(
                f"its deadline cannot be worked out: the log's time {_shown(start)} is not one"
            )
            return
        try:
            due = began + rulebook().deadline(rule)
        except KeyError:
            out.note(f"its deadline cannot be worked out: its rulebook has no {rule}")
            return
        except AdjudicationError as exc:  # the rulebook no longer loads, or has changed
            out.note(f"its deadline cannot be worked out: {exc}")
            return
    snap = "the stored dispute"
    out.check("deadline_at", _instant(data.get("deadline_at")), due, snap)
    out.check("deadline_rule", data.get("deadline_rule"), rule, snap)
    out.check("deadline_event", data.get("deadline_event"), event, snap)
    # the table's column is the next timer: the window's, or an open offer's lapse
    lapses = [_instant(o["expires_at"]) for o in told.offers if o["status"] == "open"]
    times = [t for t in (due, *lapses) if isinstance(t, datetime)]
    out.check(
        "deadline_us", stored.deadline_us, epoch_us(min(times, default=None)), "the disputes table"
    )


def compare_decisions(
    case_id: str, told: Told | None, rows: Sequence[DecisionColumns]
) -> list[Problem]:
    """The dispute's rows in the decisions table, against its decision entries."""
    out = _Differences(case_id)
    logged = [] if told is None else told.decisions
    where = "the decisions table"
    for index in range(max(len(logged), len(rows))):
        number = index + 1
        if index >= len(rows):
            out.note(f"decision {number} is in its log but not in {where}")
            continue
        if index >= len(logged):
            out.note(f"decision {number} is in {where} but not in its log")
            continue
        row, entry = rows[index], logged[index]
        decision = _object(entry.get("decision"))
        label = f"decision {number}"
        kept = [row.at, *_ROW_DECISION(row)]
        if not _identical(kept, [entry.get("at"), *map(decision.get, _DECISION_COLUMNS)]):
            out.check(f"{label} at", _instant(row.at), _instant(entry.get("at")), where)
            for name in _DECISION_COLUMNS:
                out.check(f"{label} {name}", getattr(row, name), decision.get(name), where)
        unsealed = None if told is None or index >= len(told.bodies) else told.bodies[index]
        if unsealed is not None and row.body == unsealed:
            continue  # the body is the entry's own text, without what seals it in the log
        try:
            body = parse_json(row.body)
        except (ValueError, RecursionError):
            body = row.body
        if not _same(body, {k: v for k, v in entry.items() if k not in _SEALING}):
            out.note(f"{label}'s body in {where} is not its log entry")
    return out.found


_DECISION_COLUMNS = ("liability", "remedy", "refund_amount", "rulebook", "rulebook_digest")
_ROW_DECISION = attrgetter(*_DECISION_COLUMNS)


def compare_evidence(
    case_id: str, told: Told | None, rows: Sequence[EvidenceColumns]
) -> list[Problem]:
    """The dispute's rows in the evidence table, against its evidence entries."""
    out = _Differences(case_id)
    logged = [] if told is None else told.evidence
    where = "the evidence table"
    for index in range(max(len(logged), len(rows))):
        if index >= len(rows):
            evidence = _object(logged[index].get("evidence"))
            out.note(f"evidence {_shown(evidence.get('id'))} is in its log but not in {where}")
            continue
        row = rows[index]
        if index >= len(logged):
            out.note(f"evidence {row.evidence_id} is in {where} but not in its log")
            continue
        entry = logged[index]
        evidence = _object(entry.get("evidence"))
        try:
            verdict = _object(parse_json(row.verdict))
        except (ValueError, RecursionError):
            verdict = {}
        columns = _ROW_EVIDENCE(row)
        kept = [*columns, row.submitted_at, *map(verdict.get, _VERDICT_FIELDS)]
        said = [*map(evidence.get, _EVIDENCE_COLUMNS), entry.get("at")]
        said += map(evidence.get, _VERDICT_FIELDS)
        if _identical(kept, said):  # the times as written: the same text is the same instant
            continue
        label = f"evidence {_shown(evidence.get('id'))}"
        for name, value in zip(_EVIDENCE_COLUMNS, columns, strict=True):
            out.check(f"{label}.{name}", value, evidence.get(name), where)
        out.check(
            f"{label}.submitted_at", _instant(row.submitted_at), _instant(entry.get("at")), where
        )
        for name in _VERDICT_FIELDS:
            out.check(f"{label} verdict.{name}", verdict.get(name), evidence.get(name), where)
    return out.found


class EffectColumns(Protocol):
    """A row of the ``effects`` table, as far as the log says anything of it (its delivery
    state, leases and acknowledgements, is not in the log)."""

    @property
    def key(self) -> str: ...
    @property
    def case_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def body(self) -> str: ...


def compare_effects(
    case_id: str, told: Told | None, rows: Sequence[EffectColumns], outbox_from: int = 1
) -> list[Problem]:
    """The rows filed under the dispute in the effects table (by their ``case_id`` column: a
    row filed under another dispute is not one of its effects), against the effects its
    entries order (:meth:`Told.effects`): the same keys, and each row's ``kind`` column and
    its body (as JSON) those of its effect. A row whose body is the very text the writer
    writes for its effect is that effect, unparsed. The effects of entries numbered before
    ``outbox_from`` (logged before the database had an outbox: ``log_head.outbox_from``) need
    not be there; any row there is still held to its effect."""
    out = _Differences(case_id)
    where = "the effects table"
    try:
        ordered = [] if told is None else told.effects()
    except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
        out.note(f"its effects cannot be worked out from its log: {exc}")
        ordered = []
    held = [effect for effect in ordered if _held(effect, outbox_from)]
    if len(held) == len(rows) and all(
        row.key == effect["key"] and row.kind == effect["kind"] and row.body == _text(effect)
        for row, effect in zip(rows, held, strict=True)
    ):  # (as the writer wrote them, in its order: an intact outbox)
        return out.found
    unmatched: dict[Any, EffectColumns] = {}
    for row in rows:  # (a second row with a key: not the effect, which has one)
        if isinstance(row.key, str) and row.key not in unmatched:
            unmatched[row.key] = row
    matched: set[int] = set()  # (the rows', by id: two rows may be alike)
    for effect in ordered:
        key = effect["key"]
        label = f"effect {key}"
        found = unmatched.pop(key) if key in unmatched else None
        if found is None:
            if _held(effect, outbox_from):
                out.note(f"{label} is in its log but not in {where}")
            continue
        matched.add(id(found))
        if found.kind == effect["kind"] and found.body == _text(effect):
            continue  # the text the writer wrote for it: it is the effect
        out.check(f"{label}'s kind column", found.kind, effect["kind"], where)
        try:
            body = parse_json(found.body) if isinstance(found.body, str) else None
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            out.note(f"{label}'s body in {where} is not a JSON object")
            continue
        if _identical(body, effect):
            continue
        for name in [*effect, *(name for name in body if name not in effect)]:
            out.check(f"{label} {name}", body.get(name), effect.get(name), where)
    for row in rows:
        if id(row) not in matched:
            out.note(f"effect {_shown(row.key)} is in {where} but not in its log")
    return out.found


def _held(effect: dict[str, Any], outbox_from: int) -> bool:
    """Whether the outbox must hold ``effect``: its entry was logged once there was one."""
    seq = effect.get("seq")
    return not (type(seq) is int and seq < outbox_from)


def _text(effect: dict[str, Any]) -> str | None:
    """The effect's text as the writer writes it (:func:`adjudicator.repository._effect_row`)."""
    try:
        return json_text(effect)
    except (ValueError, TypeError, RecursionError):
        return None


_VERDICT_FIELDS = ("accepted", "kind", "sha256", "reasons")
_EVIDENCE_COLUMNS = ("id", "party", "kind", "sha256", "accepted")  # as the log names them
_ROW_EVIDENCE = attrgetter("evidence_id", "party", "kind", "sha256", "accepted")


def _answer_rule(claim: dict[str, Any], order: dict[str, Any]) -> str:
    """The merchant's answer window, as Workflow._answer_rule chooses it."""
    if claim.get("requested_remedy") == "refund_only":
        shipped = order.get("shipped_at") is not None
        return f"deadline.answer.refund_only_{'shipped' if shipped else 'unshipped'}"
    return "deadline.answer.return"


def _disputed(requested: Any, paid: Any) -> str | None:
    """The disputed amount (Dispute.disputed_amount): the amount asked for, else all paid."""
    amount = paid if requested is None else requested
    try:
        return str(money(Decimal(str(amount))))
    except (InvalidOperation, ValueError):
        return None


def _meaning(remedy: Any, what: str) -> Any:
    """What the remedy table says of a remedy named in the log (None for no remedy)."""
    if not isinstance(remedy, str) or remedy not in Remedy._value2member_map_:
        return None  # (a forged entry's remedy may be a list: not one, and no crash)
    return getattr(REMEDIES[Remedy(remedy)], what)


def _steps(decision: dict[str, Any]) -> list[dict[str, Any]]:
    steps = decision.get("rules")
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _instant(value: Any) -> Any:
    """A time as an aware datetime (so that equal instants compare equal), else as it is."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed if parsed.tzinfo is not None else value
    return value


def _same(stored: Any, told: Any) -> bool:
    kind = type(stored)
    if kind is type(told) and kind in _PLAIN:  # equal exactly when their canonical texts are
        return bool(stored == told)
    if isinstance(stored, datetime) or isinstance(told, datetime):
        return isinstance(stored, datetime) and isinstance(told, datetime) and stored == told
    return _identical(stored, told) or _canonical(stored) == _canonical(told)


_PLAIN = frozenset({str, int, bool, type(None)})


def _identical(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same JSON value of the very same types, which
    :func:`_canonical` then writes alike: the quick answer for what is equal (as every field
    of an intact dispute is). False says nothing: the canonical texts are compared then
    (1 and 1.0, a tuple and a list, a Decimal and its string, -0.0 and 0.0).

    The values are compared with ``==`` (in C, however deep), then their types: where one
    holds only text and nulls, which equal nothing else, the other holds the same."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind in _PLAIN:
        return bool(a == b)
    if kind is dict or kind is list:
        return bool(a == b) and _alike(a, b)
    return False


def _alike(a: Any, b: Any) -> bool:
    """For a dict or list ``a`` equal to ``b`` of its type: whether every value in it has the
    type of the value in ``b`` at the same place, is a JSON value other than a number with a
    fraction (which :func:`_identical` never calls the same), and every key is text."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if type(x) is dict:
            if not _TEXT.issuperset(map(type, x)):
                return False
            if _TEXT_OR_NULL.issuperset(map(type, x.values())):  # equal: the same in y
                continue
            pairs = zip(x.values(), map(y.__getitem__, x), strict=False)
        elif _TEXT_OR_NULL.issuperset(map(type, x)):
            continue
        elif _LIST.issuperset(map(type, x)) and _TEXT_OR_NULL.issuperset(
            map(type, chain.from_iterable(x))
        ):
            continue  # lists of text (a decision's trace)
        elif (
            _DICT.issuperset(map(type, x))
            and _TEXT.issuperset(map(type, chain.from_iterable(x)))
            and _TEXT_OR_NULL.issuperset(map(type, chain.from_iterable(map(dict.values, x))))
        ):
            continue  # objects of text (its rules, statements)
        else:
            pairs = zip(x, y, strict=False)  # (as long: they are equal)
        for u, v in pairs:
            kind = type(u)
            if kind is not type(v):
                return False
            if kind is dict or kind is list:
                if u:  # (empty, and equal: alike)
                    pending.append((u, v))
            elif kind not in _PLAIN:
                return False
    return True


_TEXT = frozenset({str})
_TEXT_OR_NULL = frozenset({str, type(None)})
_LIST = frozenset({list})
_DICT = frozenset({dict})


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return _canonical(value)
