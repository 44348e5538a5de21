"""What the engine orders done in the world: the *effects* of the decision log (docs/effects.md).

Every movement of money or goods that a dispute's settlement orders is an effect: a refund to
pay the buyer, a refund taken back from the buyer after an appeal, a penalty the merchant owes
(or, after an appeal, no longer owes), the return shipping of goods sent back and who pays it,
a shipment the merchant owes the buyer (a replacement, what was missing, the repaired goods),
and the end of a shipment that is no longer owed. Each is worked out from the decision-log
entries alone, plus the order's currency, which the log does not carry.

One entry is not enough on its own: ``pay`` and ``confirm_receipt`` do not say the amount
(the decision or agreement before them did), and a new decision after an appeal pays or takes
back the *difference* from what the buyer already has. So a :class:`Ledger` reads one
dispute's entries, oldest first, keeps what they leave standing (the refund the settlement in
force pays, what the buyer has been paid so far, the penalty assessed so far, the shipment
still owed), and gives for each entry the effects it orders (:func:`effects_of`). Pure: no
database, no clock. The repository writes them in the transaction that appends the entries
(:func:`adjudicator.repository.append_log`).

:data:`KINDS` is the one table of kinds: each with what it asks of the host, its fixed party
fields, which entries may order it, and how the fields are worked out; a new kind is a row.

An effect's ``key`` is ``CASE_ID#N.I``: the I-th effect (from 0) of the dispute's N-th log
entry (from 1). It depends only on the dispute's own entries, so it is the same whenever the
same events are applied, in any database and whatever else it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal("0.00")
SHIPPED = {
    "exchange": "a replacement",
    "reshipment": "what was missing",
    "repair": "the repaired goods",
}
"""What the merchant ships for each remedy that has it ship (domain.REMEDIES' ``shipment``)."""


@dataclass
class Ledger:
    """One dispute's log entries so far, as far as effects go. Feed it every entry of the
    dispute, oldest first (:meth:`observe`).

    ``refund_hint``: the dispute's refund amount as stored, used only where its log does not
    say it (an agreement logged before agreements recorded their terms)."""

    case_id: str
    currency: str
    refund_hint: Decimal | None = None
    entries: int = 0  # how many of the dispute's entries it has read
    owed: Decimal | None = None  # the refund the settlement in force pays (None: not said)
    paid: Decimal = ZERO  # what the effects so far have the buyer paid, net of reversals
    penalty: Decimal = ZERO  # what the effects so far have the merchant owe in penalties
    remedy: str | None = None  # the settlement's remedy
    payer: str | None = None  # who pays to send the goods back, under the settlement
    rules: list[str] = field(default_factory=list)  # the rule ids that settled it
    returns: dict[str | None, tuple[str | None, str]] = field(default_factory=dict)
    """Return shipping ordered so far: tracking number -> (payer, the effect's key)."""
    shipment: str | None = None  # the key of the shipment owed and not yet shipped

    def observe(self, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The effects the dispute's next entry orders, in order (none for most entries)."""
        if entry.get("case_id") != self.case_id:
            raise ValueError(f"entry of {entry.get('case_id')!r} given to {self.case_id}'s ledger")
        self.entries += 1
        self._settle(entry)
        out: list[dict[str, Any]] = []
        for kind in KINDS if could_order(entry) else ():
            if not kind.may_order(entry):
                continue
            fields = kind.fields(self, entry)
            if fields is not None:
                out.append(self._effect(kind, entry, len(out), fields))
                if kind.ordered is not None:
                    kind.ordered(self, out[-1])
        if entry.get("event") == "merchant_shipped":
            self.shipment = None  # shipped: owed no longer
        return out

    def _settle(self, entry: Mapping[str, Any]) -> None:
        """A decision, an agreement (or the merchant's silence, or an accepted offer), or a
        missed shipment's fallback: the settlement in force from this entry on."""
        event = entry.get("event")
        if event == "decision":
            decision = _object(entry.get("decision"))
            self.owed = amount_of(decision.get("refund_amount"))
            self.remedy = _text(decision.get("remedy"))
            self.payer = _text(decision.get("return_shipping_payer"))
            self.rules = [str(step.get("rule")) for step in _steps(decision)]
        elif _agreed(entry):
            self.owed = amount_of(entry.get("refund_amount"))
            self.remedy = _text(entry.get("remedy"))
            self.payer = _text(entry.get("return_shipping_payer"))
            said = entry.get("rules")
            listed = [str(r) for r in said] if isinstance(said, list) else []
            self.rules = [str(entry["rule"]), *listed] if "rule" in entry else listed
        elif event == "shipment_expired":
            self.owed = amount_of(entry.get("refund_amount"))
            self.remedy = _text(entry.get("remedy"))
            fallback = [entry.get("rule"), entry.get("fallback")]
            self.rules = [*self.rules, *(str(r) for r in fallback if r is not None)]

    def _effect(
        self, kind: Kind, entry: Mapping[str, Any], index: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"key": f"{self.case_id}#{self.entries}.{index}"}
        out["kind"] = kind.name
        out |= {"case_id": self.case_id, "at": entry.get("at")}
        out |= kind.parties
        out |= fields
        if kind.money:
            out["currency"] = self.currency
        out["rules"] = list(self.rules)
        out |= {"event": entry.get("event"), "seq": entry.get("seq"), "hash": entry.get("hash")}
        return out


# --- the kinds -------------------------------------------------------------------------------
Fields = Callable[[Ledger, Mapping[str, Any]], dict[str, Any] | None]
Ordered = Callable[[Ledger, dict[str, Any]], None]


@dataclass(frozen=True)
class Kind:
    """One kind of effect: what it asks of the host (``line`` for one effect, ``words`` in
    general), its fixed party fields, whether it moves money (then it has ``amount`` and
    ``currency``), the entries that may order it (by ``events``, or by the state they move
    ``to``), ``fields``: the effect's own fields for such an entry, or None when it orders
    none (either way it may move the ledger on), and ``ordered``: what the ledger keeps of an
    effect once made (its key)."""

    name: str
    line: str  # the effect in a line of words (its fields in braces; none shown as "-")
    words: str
    parties: dict[str, str]
    money: bool
    fields: Fields
    events: frozenset[str] = frozenset()
    to: frozenset[str] = frozenset()
    ordered: Ordered | None = None

    def may_order(self, entry: Mapping[str, Any]) -> bool:
        return entry.get("event") in self.events or (
            "to" in entry and entry.get("to") in self.to and entry.get("to") != entry.get("from")
        )


def _shipment_cancelled(ledger: Ledger, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """An appeal suspends, and a missed deadline ends, a shipment the merchant still owed."""
    if ledger.shipment is None:
        return None
    cancels, ledger.shipment = ledger.shipment, None
    return {"cancels": cancels}


def _refund_reversed(ledger: Ledger, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """A new decision that pays less than the buyer was paid takes the difference back. (The
    entry's own ``refund_reversed`` is the previous decision's refund less the new one's,
    which overstates it when the previous refund was never paid: a return still on its way.)"""
    owed = ledger.owed if ledger.owed is not None else ZERO
    if ledger.paid <= owed:
        return None
    amount, ledger.paid = ledger.paid - owed, owed
    return {"amount": str(amount)}


def _refund_due(ledger: Ledger, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The dispute is refunded: the buyer is due what the settlement pays, less what an
    earlier settlement of the same dispute already paid (a decision again after an appeal)."""
    owed = ledger.owed if ledger.owed is not None else ledger.refund_hint
    if owed is None or owed <= ledger.paid:
        return None
    amount, ledger.paid = owed - ledger.paid, owed
    return {"amount": str(amount), "remedy": ledger.remedy}


def _penalty(sign: int) -> Fields:
    """A decision's penalty, as the change from what earlier decisions assessed: more is a
    ``penalty`` (``sign`` 1), less a ``penalty_reversed`` (``sign`` -1)."""

    def fields(ledger: Ledger, entry: Mapping[str, Any]) -> dict[str, Any] | None:
        now = amount_of(_object(entry.get("decision")).get("penalty_amount")) or ZERO
        change = (now - ledger.penalty) * sign
        if change <= 0:
            return None
        ledger.penalty = now
        violations = _object(entry.get("decision")).get("violations")
        return {"amount": str(change), "violations": violations or []}

    return fields


def _return_shipping(ledger: Ledger, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The goods are on their way back: their shipping is paid by the settlement's payer
    (null when no rule names one). A new decision for goods already on their way orders it
    again only if it names another payer, superseding the first."""
    tracking = _text(entry.get("tracking_no"))
    before = ledger.returns.get(tracking)
    if before is not None and before[0] == ledger.payer:
        return None
    out: dict[str, Any] = {"payer": ledger.payer, "tracking_no": tracking}
    out["remedy"] = ledger.remedy
    if before is not None:
        out["supersedes"] = before[1]
    return out


def _return_ordered(ledger: Ledger, effect: dict[str, Any]) -> None:
    ledger.returns[effect["tracking_no"]] = (effect["payer"], effect["key"])


def _shipment_ordered(ledger: Ledger, effect: dict[str, Any]) -> None:
    ledger.shipment = effect["key"]


def _shipment(ledger: Ledger, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The merchant owes the buyer a shipment: at once for a reshipment, once the goods came
    back for an exchange or a repair."""
    remedy = ledger.remedy
    return {"remedy": remedy, "goods": SHIPPED.get(remedy or "")}


KINDS: tuple[Kind, ...] = (
    Kind(
        "shipment_cancelled",
        "the shipment {cancels} is owed no longer",
        "the shipment the merchant owed (the effect `cancels` names) is owed no longer: an "
        "appeal reopened the dispute, or the merchant missed its deadline and a refund follows",
        {},
        money=False,
        fields=_shipment_cancelled,
        events=frozenset({"appeal", "shipment_expired"}),
    ),
    Kind(
        "refund_reversed",
        "take {amount} {currency} back from the buyer",
        "take `amount` back from the buyer: a new decision after an appeal refunds less than "
        "the buyer was paid",
        {"payer": "buyer"},
        money=True,
        fields=_refund_reversed,
        events=frozenset({"decision"}),
    ),
    Kind(
        "refund_due",
        "pay the buyer {amount} {currency}",
        "pay the buyer `amount`: the dispute is refunded (decided, agreed, negotiated, timed "
        "out, or a missed shipment's fallback); after an appeal, what the buyer had not had",
        {"payee": "buyer"},
        money=True,
        fields=_refund_due,
        to=frozenset({"refunded"}),
    ),
    Kind(
        "penalty",
        "the merchant owes a penalty of {amount} {currency}",
        "the merchant owes a penalty of `amount` (reported by the decision, not collected by "
        "the engine)",
        {"payer": "merchant"},
        money=True,
        fields=_penalty(1),
        events=frozenset({"decision"}),
    ),
    Kind(
        "penalty_reversed",
        "the merchant no longer owes {amount} {currency} of its penalties",
        "the merchant no longer owes `amount` of the penalties assessed: a new decision after "
        "an appeal assesses less",
        {"payee": "merchant"},
        money=True,
        fields=_penalty(-1),
        events=frozenset({"decision"}),
    ),
    Kind(
        "return_shipping",
        "the goods come back ({tracking_no}); shipping paid by: {payer}",
        "the goods are on their way back to the merchant (`tracking_no`): their shipping is "
        "paid by `payer` (buyer, merchant or insurer; null when no rule names one)",
        {"shipper": "buyer", "recipient": "merchant"},
        money=False,
        fields=_return_shipping,
        events=frozenset({"return_shipped"}),
        ordered=_return_ordered,
    ),
    Kind(
        "shipment",
        "the merchant ships {goods} ({remedy})",
        "the merchant must ship `goods` to the buyer (an exchange's replacement, a "
        "reshipment's missing goods, the repaired goods), by the remedy's shipment deadline",
        {"shipper": "merchant", "recipient": "buyer"},
        money=False,
        fields=_shipment,
        to=frozenset({"shipment_due"}),
        ordered=_shipment_ordered,
    ),
)
"""Every kind of effect, in the order one entry's effects come in."""
BY_NAME = {kind.name: kind for kind in KINDS}


def describe(effect: Mapping[str, Any]) -> str:
    """An effect in a line of words, as its kind's ``line`` says it."""
    kind = BY_NAME.get(str(effect.get("kind")))
    if kind is None:
        return f"{effect.get('kind')}"
    shown = {name: "-" if value is None else value for name, value in effect.items()}
    return kind.line.format_map(_Shown(shown))


class _Shown(dict[str, Any]):
    def __missing__(self, name: str) -> str:
        return "-"


ORDERING_EVENTS = frozenset().union(*(kind.events for kind in KINDS))
"""The events whose entries may order an effect, whatever state they move the dispute to."""
ORDERING_STATES = frozenset().union(*(kind.to for kind in KINDS))
"""The states an entry that moves a dispute into may order an effect."""


def could_order(entry: Mapping[str, Any]) -> bool:
    """Whether ``entry`` is one that may order an effect (most entries are not: evidence,
    statements, offers, windows opening and closing): what some kind's ``may_order`` says,
    asked of all the kinds at once."""
    if entry.get("event") in ORDERING_EVENTS:
        return True
    to = entry.get("to")
    return "to" in entry and to in ORDERING_STATES and to != entry.get("from")


def effects_of(entry: Mapping[str, Any], ledger: Ledger) -> list[dict[str, Any]]:
    """The effects ``entry`` orders, given the ``ledger`` of its dispute's earlier entries
    (which it moves on: give it every entry, oldest first)."""
    return ledger.observe(entry)


def effects_of_log(
    entries: Iterable[Mapping[str, Any]], currency: Callable[[str], str]
) -> list[dict[str, Any]]:
    """Every effect a whole decision log orders, in log order (``currency``: a dispute's
    currency by its case id)."""
    ledgers: dict[str, Ledger] = {}
    out: list[dict[str, Any]] = []
    for entry in entries:
        case_id = str(entry.get("case_id"))
        ledger = ledgers.get(case_id)
        if ledger is None:
            ledger = ledgers[case_id] = Ledger(case_id, currency(case_id))
        out += ledger.observe(entry)
    return out


# --- reading entries --------------------------------------------------------------------------
_SETTLING = frozenset({"agree", "answer_expired", "accept_offer"})
LEDGER_EVENTS = ORDERING_EVENTS | _SETTLING | {"merchant_shipped"}
"""The events whose entries a :class:`Ledger` reads besides counting them: those that may
order an effect, settle a dispute (:func:`_agreed`), or ship what was owed; with the entries
that move a dispute into one of :data:`ORDERING_STATES`, the only ones that change it. Every
other entry only moves its count on (the audit gives its ledger no other:
tests/unit/test_logcheck_effects.py holds this to a ledger given every entry)."""


def _agreed(entry: Mapping[str, Any]) -> bool:
    """An agreement, the merchant's silence, or an accepted offer that settles (one that
    waits for the other party's acceptance stays where it was)."""
    return entry.get("event") in _SETTLING and entry.get("to") != entry.get("from")


def amount_of(value: Any) -> Decimal | None:
    """An amount the log (or a stored dispute) names: None when it names none, or not as a
    finite decimal amount."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _steps(decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps = decision.get("rules")
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []
