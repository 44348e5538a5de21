"""Commands on a dispute: the lifecycle, its deadlines, evidence, review and remedy flow.

Storage-independent: a :class:`Case` is the dispute as it stands; :class:`Workflow` applies
one event to it (after firing every deadline due by the event's time), validates submitted
evidence through an :class:`Examiner`, decides at review, and reports every state change and
decision to a :class:`Journal`. Time comes only from events and ``advance(now)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from adjudicator.decision import Refusal, decide, decide_manually, needs_manual_review
from adjudicator.domain import (
    REMEDIES,
    Claim,
    ClaimType,
    Decision,
    Dispute,
    EvidenceRecord,
    Liability,
    Offer,
    OfferStatus,
    Order,
    Payer,
    PlatformFinding,
    Remedy,
    Resolution,
    opposite,
)
from adjudicator.facts import claim_json, facts_digest, order_json
from adjudicator.lifecycle import BEFORE_DECISION, RefusedEvent, State, allows, fire
from adjudicator.rulebook import DELIVERY_DEADLINE, OFFER_DEADLINE, Rulebook
from adjudicator.settlement import (
    OfferProblem,
    Terms,
    answerable,
    offer_json,
    offered,
    terms,
)
from evidence import DisputeContext, EvidenceKind, OrderItemRef, Party, Role
from evidence.instants import day_in_zone

ACTORS: dict[str, frozenset[Party]] = {
    "open": frozenset({Party.BUYER}),
    "agree": frozenset({Party.MERCHANT}),
    "reject": frozenset({Party.MERCHANT}),
    "escalate": frozenset({Party.BUYER}),
    "submit_evidence": frozenset({Party.BUYER, Party.MERCHANT, Party.PLATFORM}),
    "evidence_complete": frozenset({Party.BUYER, Party.MERCHANT, Party.PLATFORM}),
    "withdraw": frozenset({Party.BUYER}),
    "finding": frozenset({Party.PLATFORM}),
    "decide": frozenset({Party.PLATFORM}),
    "return_shipped": frozenset({Party.BUYER}),
    "confirm_receipt": frozenset({Party.MERCHANT}),
    "appeal": frozenset({Party.BUYER, Party.MERCHANT}),
    "statement": frozenset({Party.BUYER, Party.MERCHANT}),
    "offer": frozenset({Party.BUYER, Party.MERCHANT, Party.PLATFORM}),
    "accept_offer": frozenset({Party.BUYER, Party.MERCHANT}),
    "decline_offer": frozenset({Party.BUYER, Party.MERCHANT}),
    "merchant_shipped": frozenset({Party.MERCHANT}),
    "confirm_delivery": frozenset({Party.BUYER}),
}
STATEMENT_CHARS = 500
"""How long a party's statement may be (Kuaishou's evidence API takes 500 characters)."""
NO_OPEN_LIMIT = frozenset({ClaimType.NOT_SHIPPED, ClaimType.NOT_RECEIVED})


@dataclass(frozen=True)
class Submission:
    """A file submitted as evidence of ``kind``, with what its submitter declares.

    ``within``: the folder the file must be inside, once symlinks are resolved (a case file's
    own folder); None for a file the host names itself."""

    kind: EvidenceKind
    file: Path
    declared: dict[str, Any] = field(default_factory=dict)
    within: Path | None = None
    description: str | None = None  # the submitter's words about it (STATEMENT_CHARS at most)
    name: str | None = None  # the name it was submitted under, when not its path (an upload)


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: Party
    action: str
    reason: str | None = None
    evidence: tuple[Submission, ...] = ()
    finding: PlatformFinding | None = None
    liability: Liability | None = None
    remedy: Remedy | None = None
    refund_amount: Decimal | None = None
    tracking_no: str | None = None
    text: str | None = None  # a statement's words
    amount: Decimal | None = None  # an offer's money
    offer: str | None = None  # the offer an answer is to
    via: str | None = None  # the API token it came with (logged: who did it)


@dataclass(frozen=True)
class Statement:
    """What a party said in its own words, and when."""

    by: Party
    at: datetime
    text: str


@dataclass(frozen=True)
class Appeal:
    """An appeal: who made it and when, the decision it challenges, and the refund that had
    been paid under that decision when it was made (None when no money had moved)."""

    by: Party
    at: datetime
    previous: Decision
    paid: Decimal | None = None

    def refund_reversed(self, now: Decision | None) -> Decimal | None:
        """The paid refund that the decision replacing ``previous`` takes back, if any."""
        if self.paid is None or now is None or now is self.previous:
            return None
        return self.paid - now.refund_amount if self.paid > now.refund_amount else None


@dataclass
class Case:
    case_id: str
    rulebook: Rulebook
    order: Order
    claim: Claim
    state: State = State.NEW
    resolution: Resolution | None = None
    opened_at: datetime | None = None
    deadline_at: datetime | None = None
    deadline_rule: str | None = None
    deadline_event: str | None = None
    evidence_closed_at: datetime | None = None
    rebuttal_closed_at: datetime | None = None
    decided_at: datetime | None = None
    appealed: bool = False
    appeal: Appeal | None = None
    decision: Decision | None = None
    remedy: Remedy | None = None
    refund_amount: Decimal | None = None
    resolution_rules: tuple[str, ...] = ()
    evidence: list[EvidenceRecord] = field(default_factory=list)
    findings: list[PlatformFinding] = field(default_factory=list)
    return_tracking_no: str | None = None
    statements: list[Statement] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    # who pays to send the goods back when no decision says (agreed, negotiated, timed out)
    return_payer: Payer | None = None
    shipment_tracking_no: str | None = None  # what the merchant shipped to the buyer

    @property
    def open_offer(self) -> Offer | None:
        """The offer waiting for an answer (only the newest can be: a new one replaces it)."""
        last = self.offers[-1] if self.offers else None
        return last if last is not None and last.status is OfferStatus.OPEN else None

    def next_deadline(self) -> datetime | None:
        """When the next timer runs out: the dispute's window, or an open offer's."""
        offer = self.open_offer
        lapses = None if offer is None else offer.expires_at
        times = [t for t in (self.deadline_at, lapses) if t is not None]
        return min(times) if times else None

    @property
    def burdened(self) -> Party:
        return self.rulebook.burdens[self.claim.type].party

    @property
    def rebutting(self) -> Party:
        """Who answers in the rebuttal window: the side opposite the burden, or, after an
        appeal, the side opposite the appellant (it answers the appeal's new evidence)."""
        if self.appeal is not None:
            return opposite(self.appeal.by)
        return opposite(self.burdened) if self.burdened is not Party.PLATFORM else Party.MERCHANT

    def for_review(self, at: datetime) -> Dispute:
        return Dispute(
            case_id=self.case_id,
            order=self.order,
            claim=self.claim,
            opened_at=self.opened_at or at,
            findings=tuple(self.findings),
            evidence=tuple(self.evidence),
        )


class Journal(Protocol):
    """Where every state change and decision is recorded (the decision log)."""

    def append(self, entry: dict[str, Any]) -> None: ...


Examiner = Callable[[Submission, DisputeContext, str], EvidenceRecord]
"""Validates one submission in its dispute context and returns the record (with its id)."""


class Workflow:
    def __init__(self, journal: Journal, examiner: Examiner) -> None:
        self.journal = journal
        self.examiner = examiner

    # --- the clock -----------------------------------------------------------------------
    def advance(self, case: Case, now: datetime) -> None:
        """Fire every deadline that ``now`` is past, in time order. Every limit is inclusive:
        a deadline at D has not expired at D itself (an event at exactly D is in time)."""
        while (due := case.next_deadline()) is not None and due < now:
            self.expire_next(case)

    def expire_next(self, case: Case) -> None:
        """Fire the next deadline, at its own time (the clock has passed it): an open offer's
        lapse first when it comes no later than the dispute's window."""
        offer = case.open_offer
        if offer is not None and (case.deadline_at is None or offer.expires_at <= case.deadline_at):
            case.offers[-1] = replace(offer, status=OfferStatus.LAPSED, ended_at=offer.expires_at)
            self._transition(
                case,
                "offer_expired",
                offer.expires_at,
                Party.PLATFORM,
                rule=OFFER_DEADLINE,
                offer=offer.id,
            )
            return
        at, event, rule = case.deadline_at, case.deadline_event, case.deadline_rule
        assert at is not None
        assert event is not None
        assert rule is not None
        self._clear_deadline(case)
        self._expire(case, event, at, rule)

    def apply(self, case: Case, event: Event) -> None:
        """One event: deadlines due by its time first, then the event itself."""
        self.advance(case, event.at)
        if event.action not in ACTORS:
            raise RefusedEvent(case.case_id, case.state, event.action, "no such action")
        if event.actor not in ACTORS[event.action]:
            raise RefusedEvent(case.case_id, case.state, event.action, f"not by the {event.actor}")
        getattr(self, f"_on_{event.action}")(case, event)

    # --- events ----------------------------------------------------------------------------
    def _on_open(self, case: Case, event: Event) -> None:
        case.opened_at = event.at
        too_late = self._opened_too_late(case, event.at)
        self._move(
            case,
            "open",
            event,
            guards={"opened_too_late": lambda: too_late},
            facts=facts_digest(order_json(case.order), claim_json(case.claim)),
        )
        if case.state is State.REFUSED:
            case.resolution = Resolution.REFUSED
            case.resolution_rules = ("deadline.open_window",)
            return
        self._schedule(case, self._answer_rule(case), "answer_expired", event.at)

    def _on_agree(self, case: Case, event: Event) -> None:
        terms = _terms(case, case.claim.requested_remedy, None, event.at)
        self._move(case, "agree", event, **terms.detail())
        self._agreed(case, Resolution.AGREED, event.at, (), terms)

    def _on_reject(self, case: Case, event: Event) -> None:
        self._move(case, "reject", event)
        self._schedule(case, "deadline.escalate", "escalate_expired", event.at)

    def _on_escalate(self, case: Case, event: Event) -> None:
        self._move(case, "escalate", event)
        self._schedule(case, "deadline.evidence", "evidence_expired", event.at)

    def _on_submit_evidence(self, case: Case, event: Event) -> None:
        self._move(case, "submit_evidence", event)
        self._examine(case, event, appeal=False)

    def _on_evidence_complete(self, case: Case, event: Event) -> None:
        if case.state is State.AWAITING_EVIDENCE and event.actor is case.burdened:
            self._evidence_window_closes(case, event, "evidence_complete")
        elif case.state is State.AWAITING_REBUTTAL and event.actor is case.rebutting:
            self._rebuttal_window_closes(case, event.at, "rebuttal_complete", event.actor)
        else:
            raise RefusedEvent(
                case.case_id, case.state, "evidence_complete", f"not the {event.actor}'s window"
            )

    def _on_withdraw(self, case: Case, event: Event) -> None:
        decided = case.decided_at is not None  # an appealed decision is not withdrawn
        self._move(case, "withdraw", event, guards={"never_decided": lambda: not decided})
        self._clear_deadline(case)
        case.resolution = Resolution.WITHDRAWN

    def _on_finding(self, case: Case, event: Event) -> None:
        if event.finding is None:
            raise RefusedEvent(case.case_id, case.state, "finding", "it names no finding")
        self._move(case, "finding", event, finding=event.finding.value)
        case.findings.append(event.finding)

    def _on_decide(self, case: Case, event: Event) -> None:
        if event.liability is None or event.remedy is None:
            raise RefusedEvent(case.case_id, case.state, "decide", "it needs liability and remedy")
        if case.state is not State.UNDER_REVIEW or case.resolution != Resolution.PENDING_REVIEW:
            raise RefusedEvent(case.case_id, case.state, "decide", "no manual review is pending")
        decision = decide_manually(
            case.for_review(event.at),
            case.rulebook,
            liability=event.liability,
            remedy=event.remedy,
            refund=event.refund_amount,
            reason=event.reason,
        )
        if isinstance(decision, Refusal):
            raise RefusedEvent(
                case.case_id, case.state, "decide", f"{decision.rule}: {decision.why}"
            )
        self._decided(case, decision, event.at, event.actor, via=event.via)

    def _on_statement(self, case: Case, event: Event) -> None:
        text = event.text or ""
        if not text.strip() or len(text) > STATEMENT_CHARS:
            why = f"a statement is 1 to {STATEMENT_CHARS} characters, not {len(text)}"
            raise RefusedEvent(case.case_id, case.state, "statement", why)
        self._move(case, "statement", event, text=text)
        case.statements.append(Statement(event.actor, event.at, text))

    def _on_return_shipped(self, case: Case, event: Event) -> None:
        if case.remedy is None or not REMEDIES[case.remedy].goods_back:
            raise RefusedEvent(case.case_id, case.state, "return_shipped", "no return is due")
        self._move(case, "return_shipped", event, tracking_no=event.tracking_no)
        case.return_tracking_no = event.tracking_no
        self._schedule(case, "deadline.confirm_receipt", "confirm_expired", event.at)

    def _on_confirm_receipt(self, case: Case, event: Event) -> None:
        self._move(case, "confirm_receipt", event, guards=_shipment_follows(case))
        self._clear_deadline(case)
        self._shipment_due(case, event.at)

    def _on_merchant_shipped(self, case: Case, event: Event) -> None:
        self._move(case, "merchant_shipped", event, tracking_no=event.tracking_no)
        case.shipment_tracking_no = event.tracking_no
        self._schedule(case, DELIVERY_DEADLINE, "delivery_expired", event.at)

    def _on_confirm_delivery(self, case: Case, event: Event) -> None:
        self._move(case, "confirm_delivery", event)
        self._clear_deadline(case)

    # --- offers (协商) ------------------------------------------------------------------------
    def _on_offer(self, case: Case, event: Event) -> None:
        self._allowed(case, "offer")
        book = case.rulebook
        if case.decided_at is not None:
            raise RefusedEvent(case.case_id, case.state, "offer", "offers end with a decision")
        if OFFER_DEADLINE not in book.deadlines:
            why = f"rulebook {book.label} has no {OFFER_DEADLINE}: it takes no offers"
            raise RefusedEvent(case.case_id, case.state, "offer", why)
        try:
            disputed = case.for_review(event.at).disputed_amount
            remedy, amount = offered(book, case.claim, disputed, event.remedy, event.amount)
        except OfferProblem as exc:
            raise _refused(case, event, exc) from None
        superseded = case.open_offer
        if superseded is not None:
            case.offers[-1] = replace(superseded, status=OfferStatus.SUPERSEDED, ended_at=event.at)
        offer = Offer(
            id=f"O{len(case.offers) + 1}",
            by=event.actor,
            at=event.at,
            remedy=remedy,
            amount=amount,
            expires_at=event.at + book.deadline(OFFER_DEADLINE),
        )
        self._move(
            case,
            "offer",
            event,
            offer=offer_json(offer),
            supersedes=None if superseded is None else superseded.id,
        )
        case.offers.append(offer)

    def _on_accept_offer(self, case: Case, event: Event) -> None:
        self._allowed(case, "accept_offer")
        offer = self._answered(case, event)
        accepted = (*offer.accepted_by, event.actor)
        settles = set(accepted) >= set(offer.answerers)
        if not settles:  # the platform's proposal: the other party has yet to accept it
            case.offers[-1] = replace(offer, accepted_by=accepted)
            self._move(
                case, "accept_offer", event, guards={"settles": lambda: False}, offer=offer.id
            )
            return
        case.offers[-1] = replace(
            offer, accepted_by=accepted, status=OfferStatus.ACCEPTED, ended_at=event.at
        )
        terms = _terms(case, offer.remedy, offer.amount, event.at)
        self._clear_deadline(case)  # an escalated dispute: the platform's process ends here
        self._move(
            case,
            "accept_offer",
            event,
            guards={"settles": lambda: True},
            offer=offer.id,
            **terms.detail(),
        )
        self._agreed(case, Resolution.NEGOTIATED, event.at, (), terms)

    def _on_decline_offer(self, case: Case, event: Event) -> None:
        self._allowed(case, "decline_offer")
        offer = self._answered(case, event)
        case.offers[-1] = replace(offer, status=OfferStatus.DECLINED, ended_at=event.at)
        self._move(case, "decline_offer", event, offer=offer.id)

    def _answered(self, case: Case, event: Event) -> Offer:
        """The offer ``event`` answers, if its actor may answer it now."""
        try:
            return answerable(case.offers, event.offer, event.actor)
        except OfferProblem as exc:
            raise _refused(case, event, exc) from None

    def _allowed(self, case: Case, action: str) -> None:
        """Refuse ``action`` as the lifecycle would, before any of its own checks."""
        if not allows(case.state, action):
            raise RefusedEvent(case.case_id, case.state, action)

    def _on_appeal(self, case: Case, event: Event) -> None:
        window = case.rulebook.deadline("deadline.appeal")
        decided_at = case.decided_at

        def may_appeal() -> bool:
            return not case.appealed and decided_at is not None and event.at <= decided_at + window

        paid = case.refund_amount if case.state is State.REFUNDED else None
        self._move(
            case, "appeal", event, guards={"may_appeal": may_appeal}, refund_paid=_text(paid)
        )
        assert case.decision is not None
        case.appealed = True
        case.appeal = Appeal(event.actor, event.at, case.decision, paid or None)
        self._clear_deadline(case)
        self._examine(case, event, appeal=True)
        # the other side answers the new evidence before the review runs again
        self._schedule(case, "deadline.rebuttal", "rebuttal_expired", event.at)

    # --- deadlines ---------------------------------------------------------------------------
    def _expire(self, case: Case, event: str, at: datetime, rule: str) -> None:
        actor = Party.PLATFORM
        if event == "answer_expired":
            terms = _terms(case, case.claim.requested_remedy, None, at)
            self._transition(case, event, at, actor, rule=rule, **terms.detail())
            self._agreed(case, Resolution.MERCHANT_TIMEOUT, at, (rule,), terms)
        elif event == "escalate_expired":
            self._transition(case, event, at, actor, rule=rule)
            case.resolution = Resolution.LAPSED
        elif event == "evidence_expired":
            self._evidence_window_closes(case, Event(at, actor, event), event, rule=rule)
        elif event == "rebuttal_expired":
            self._rebuttal_window_closes(case, at, event, actor, rule=rule)
        elif event == "confirm_expired":  # received by default
            self._transition(case, event, at, actor, rule=rule, guards=_shipment_follows(case))
            self._shipment_due(case, at)
        elif event == "shipment_expired":
            self._missed_shipment(case, at, rule)
        else:  # return_expired, delivery_expired
            self._transition(case, event, at, actor, rule=rule)

    def _schedule(self, case: Case, rule: str, event: str, start: datetime) -> None:
        case.deadline_at = start + case.rulebook.deadline(rule)
        case.deadline_rule, case.deadline_event = rule, event

    @staticmethod
    def _clear_deadline(case: Case) -> None:
        case.deadline_at = case.deadline_rule = case.deadline_event = None

    # --- windows, review, remedy --------------------------------------------------------------
    def _evidence_window_closes(
        self, case: Case, event: Event, trigger: str, rule: str | None = None
    ) -> None:
        no_rebuttal = not case.rulebook.burdens[case.claim.type].rebuttal
        case.evidence_closed_at = event.at
        self._clear_deadline(case)
        self._transition(
            case,
            trigger,
            event.at,
            event.actor,
            rule=rule,
            guards={"no_rebuttal": lambda: no_rebuttal},
        )
        if case.state is State.AWAITING_REBUTTAL:
            self._schedule(case, "deadline.rebuttal", "rebuttal_expired", event.at)
        else:
            case.rebuttal_closed_at = event.at
            self._review(case, event.at)

    def _rebuttal_window_closes(
        self, case: Case, at: datetime, trigger: str, actor: Party, rule: str | None = None
    ) -> None:
        case.rebuttal_closed_at = at
        self._clear_deadline(case)
        self._transition(case, trigger, at, actor, rule=rule)
        self._review(case, at)

    def _review(self, case: Case, at: datetime) -> None:
        dispute = case.for_review(at)
        manual = needs_manual_review(dispute, case.rulebook)
        if manual:
            case.resolution = Resolution.PENDING_REVIEW
            case.resolution_rules = tuple(step.rule for step in manual)
            self.journal.append(
                _entry(
                    case,
                    at,
                    "review",
                    Party.PLATFORM,
                    rule=manual[0].rule,
                    because="; ".join(step.because for step in manual),
                    rules=[step.rule for step in manual],
                )
            )
            return
        self._decided(case, decide(dispute, case.rulebook), at, Party.PLATFORM)

    def _decided(
        self, case: Case, decision: Decision, at: datetime, actor: Party, via: str | None = None
    ) -> None:
        """``via``: the token of the reviewer who decided (an automatic decision has none)."""
        previous = case.decision
        self._transition(case, "decide", at, actor, via=via)
        case.decision, case.decided_at = decision, at
        case.resolution = Resolution.ADJUDICATED
        case.remedy, case.refund_amount = decision.remedy, decision.refund_amount
        case.resolution_rules = decision.rules
        entry = _entry(case, at, "decision", actor, decision=decision_json(case.rulebook, decision))
        if via is not None:
            entry["via"] = via
        if previous is not None:
            entry["replaces"] = decision_json(case.rulebook, previous)
            # what the buyer was paid and now gives back (nothing when no money had moved:
            # the goods were still on their way back when the decision was appealed)
            taken_back = None if case.appeal is None else case.appeal.refund_reversed(decision)
            if taken_back is not None:
                entry["refund_reversed"] = str(taken_back)
        self.journal.append(entry)
        self._settle(case, at, actor)

    def _agreed(
        self,
        case: Case,
        resolution: Resolution,
        at: datetime,
        rules: tuple[str, ...],
        terms: Terms,
    ) -> None:
        case.resolution = resolution
        case.resolution_rules = (*rules, *terms.rules)
        self._clear_deadline(case)
        case.remedy, case.refund_amount = terms.remedy, terms.refund
        case.return_payer = terms.payer
        self._settle(case, at, Party.PLATFORM)

    def _settle(self, case: Case, at: datetime, actor: Party) -> None:
        """What the remedy sets moving (RULES.md section 3): the goods back first, or the
        money at once, or nothing."""
        assert case.remedy is not None
        meaning = REMEDIES[case.remedy]
        if meaning.goods_back and case.return_tracking_no is not None:
            # decided again after an appeal, with the goods already on their way back
            self._transition(case, "return_shipped", at, actor, tracking_no=case.return_tracking_no)
            self._schedule(case, "deadline.confirm_receipt", "confirm_expired", at)
        elif meaning.goods_back:
            self._schedule(case, "deadline.return_ship", "return_expired", at)
        elif meaning.shipment is not None:  # the merchant ships what is owed at once
            self._transition(case, "await_shipment", at, actor)
            self._schedule(case, meaning.shipment, "shipment_expired", at)
        elif meaning.money:
            self._transition(case, "pay", at, actor)
        else:
            self._transition(case, "close", at, actor)

    def _shipment_due(self, case: Case, at: datetime) -> None:
        """The goods came back for an exchange or a repair: the merchant's shipment is due."""
        if case.state is State.SHIPMENT_DUE:
            assert case.remedy is not None
            shipment = REMEDIES[case.remedy].shipment
            assert shipment is not None
            self._schedule(case, shipment, "shipment_expired", at)

    def _missed_shipment(self, case: Case, at: datetime, rule: str) -> None:
        """The merchant did not ship in time: the rulebook's fallback turns the dispute into a
        refund of the disputed amount (with the goods already back: a return and refund)."""
        assert case.remedy is not None
        fallback = case.rulebook.fallback
        assert fallback is not None  # the rulebook admitted the remedy
        remedy = (
            Remedy.RETURN_AND_REFUND if REMEDIES[case.remedy].goods_back else Remedy.REFUND_ONLY
        )
        refund = case.for_review(at).disputed_amount
        self._transition(
            case,
            "shipment_expired",
            at,
            Party.PLATFORM,
            rule=rule,
            fallback=fallback.id,
            remedy=remedy.value,
            refund_amount=str(refund),
        )
        case.remedy, case.refund_amount = remedy, refund
        case.resolution_rules = (*case.resolution_rules, rule, fallback.id)

    # --- evidence ------------------------------------------------------------------------------
    def _examine(self, case: Case, event: Event, *, appeal: bool) -> None:
        role = Role.PROOF if event.actor in (case.burdened, Party.PLATFORM) else Role.REBUTTAL
        closes = None if appeal else self._window_closes(case, event.actor)
        context = DisputeContext(
            party=event.actor,
            role=role,
            submitted_at=event.at,
            window_closes_at=closes,
            opened_at=case.opened_at,
            shipped_at=case.order.shipped_at,
            signed_at=case.order.signed_at,
            tracking_no=case.order.tracking_no or "",
            items=tuple(OrderItemRef(i.sku, i.serial) for i in case.order.items),
        )
        for submission in event.evidence:
            record = self.examiner(submission, context, f"E{len(case.evidence) + 1}")
            case.evidence.append(record)
            self.journal.append(
                _entry(
                    case,
                    event.at,
                    "evidence",
                    event.actor,
                    evidence=evidence_json(record),
                )
            )

    def _window_closes(self, case: Case, party: Party) -> datetime | None:
        """When the party's window closes (or closed); None for the platform. After an
        appeal, the appellant's window closed with the appeal and the other side's is the
        appeal's rebuttal window."""
        if party is Party.PLATFORM:
            return None
        if case.state is State.AWAITING_EVIDENCE and case.appeal is None:
            return case.deadline_at
        if case.state is State.AWAITING_REBUTTAL and party is case.rebutting:
            return case.deadline_at
        if case.appeal is not None:
            return case.rebuttal_closed_at if party is case.rebutting else case.appeal.at
        closed = case.evidence_closed_at if party is case.burdened else case.rebuttal_closed_at
        return closed or case.opened_at

    # --- moving and journalling ----------------------------------------------------------------
    def _move(
        self,
        case: Case,
        trigger: str,
        event: Event,
        guards: dict[str, Callable[[], bool]] | None = None,
        **detail: Any,
    ) -> None:
        if event.reason:
            detail["reason"] = event.reason
        if event.via:
            detail["via"] = event.via
        self._transition(case, trigger, event.at, event.actor, guards=guards, **detail)

    def _transition(
        self,
        case: Case,
        trigger: str,
        at: datetime,
        actor: Party,
        *,
        rule: str | None = None,
        guards: dict[str, Callable[[], bool]] | None = None,
        **detail: Any,
    ) -> None:
        before = case.state
        after = case.state = fire(case.case_id, before, trigger, guards)
        # what _entry(case, at, trigger, actor, from=..., to=...) builds, in the same order
        entry: dict[str, Any] = {
            "case_id": case.case_id,
            "at": at.isoformat(),
            "event": trigger,
            "actor": actor._value_,
            "from": before._value_,
            "to": after._value_,
        }
        if rule is not None:
            entry["rule"] = rule
        for key, value in detail.items():
            if value is not None:
                entry[key] = value
        offer = case.open_offer
        if offer is not None and after not in BEFORE_DECISION:  # settled some other way
            case.offers[-1] = replace(offer, status=OfferStatus.VOID, ended_at=at)
            entry["voids"] = offer.id
        self.journal.append(entry)

    @staticmethod
    def _opened_too_late(case: Case, at: datetime) -> bool:
        signed = case.order.signed_at
        if case.claim.type in NO_OPEN_LIMIT or signed is None:
            return False
        zone = case.rulebook.settings.zone
        days = (day_in_zone(at, zone) - day_in_zone(signed, zone)).days
        return days > case.rulebook.deadline("deadline.open_window").days

    @staticmethod
    def _answer_rule(case: Case) -> str:
        if case.claim.requested_remedy is Remedy.REFUND_ONLY:
            shipped = case.order.shipped_at is not None
            return f"deadline.answer.refund_only_{'shipped' if shipped else 'unshipped'}"
        return "deadline.answer.return"


def _terms(case: Case, remedy: Remedy, amount: Decimal | None, at: datetime) -> Terms:
    """The terms of settling ``case`` on ``remedy`` (and ``amount``) at ``at``."""
    disputed = case.for_review(at).disputed_amount
    return terms(case.rulebook, case.order, case.claim, remedy, amount=amount, disputed=disputed)


def _refused(case: Case, event: Event, problem: OfferProblem) -> RefusedEvent:
    return RefusedEvent(case.case_id, case.state, event.action, problem.why, field=problem.field)


def _shipment_follows(case: Case) -> dict[str, Callable[[], bool]]:
    """The guard that sends returned goods on to the merchant's shipment (exchange, repair)."""
    follows = case.remedy is not None and REMEDIES[case.remedy].shipment is not None
    return {"shipment_follows": lambda: follows}


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _entry(case: Case, at: datetime, event: str, actor: Party, **detail: Any) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "at": at.isoformat(),
        "event": event,
        "actor": actor._value_,
        **detail,
    }


def decision_json(rulebook: Rulebook, decision: Decision) -> dict[str, Any]:
    return {
        "liability": decision.liability.value,
        "remedy": decision.remedy.value,
        "refund_amount": str(decision.refund_amount),
        "return_shipping_payer": None
        if decision.return_shipping_payer is None
        else decision.return_shipping_payer.value,
        "penalty_amount": str(decision.penalty_amount),
        "violations": list(decision.violations),
        "rulebook": rulebook.label,
        "rulebook_digest": rulebook.digest,
        "rules": [{"rule": step.rule, "because": step.because} for step in decision.trace],
    }


def evidence_json(record: EvidenceRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.id,
        "party": record.party.value,
        "kind": record.kind.value,
        "sha256": record.sha256,
        "accepted": record.accepted,
        "reasons": list(record.reasons),
    }
    if record.description is not None:  # (absent, the line is what it always was)
        out["description"] = record.description
    return out
