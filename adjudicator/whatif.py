"""What a new rulebook would change: each dispute replayed under its old rulebook and under
the new one, side by side (docs/whatif.md).

A dispute is compared when its rulebook has the id of one of the new rulebooks (each new
rulebook is a new release of a rulebook); disputes under other rulebooks are counted and left
out. The old side is the dispute's own rulebook, or the one given ``against`` for its id.
Both sides are replayed in memory from the same events and evidence files; nothing is
stored. A dispute whose events no
longer replay under the new rulebook (an event the new deadlines or outcome refuse) is a
change too: its new side says why, and it is left out of the money totals, since what would
have happened after the refused event is unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adjudicator.casefile import CaseFile
from adjudicator.errors import InvalidCase
from adjudicator.replay import replay
from adjudicator.rulebook import Rulebook
from evidence import PriorEvidence

# The fields of a replay output line that make a dispute's outcome.
OUTCOME = (
    "state",
    "resolution",
    "liability",
    "remedy",
    "refund_amount",
    "penalty_amount",
    "return_shipping_payer",
)
NONE = "(none)"  # a liability move's side when no one was found liable (an agreement, a lapse)


@dataclass(frozen=True)
class Side:
    """A dispute under one rulebook: its replay output line, or why it does not replay."""

    rulebook: Rulebook
    line: dict[str, Any] | None
    refused: str | None = None  # "pointer: why", when the events do not replay

    def get(self, name: str) -> Any:
        return None if self.line is None else self.line.get(name)

    def money(self, name: str) -> Decimal:
        value = self.get(name)
        return Decimal(0) if value is None else Decimal(value)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rulebook": self.rulebook.label}
        if self.line is None:
            return out | {"refused": self.refused}
        out.update({name: self.line[name] for name in OUTCOME})
        return out | {"rules": list(self.line["rules"])}


@dataclass(frozen=True)
class Compared:
    """One dispute under both rulebooks."""

    case_id: str
    claim: str
    currency: str
    old: Side
    new: Side

    @property
    def differs(self) -> tuple[str, ...]:
        """The outcome fields that differ (``refused`` when only one side replays)."""
        if (self.old.line is None) != (self.new.line is None):
            return ("refused",)
        return tuple(name for name in OUTCOME if self.old.get(name) != self.new.get(name))

    @property
    def changed(self) -> bool:
        return bool(self.differs)

    def rules(self) -> tuple[list[str], list[str]]:
        """The rule ids only the old outcome cites, and those only the new one cites, each
        in the order its outcome cites them (none when one side does not replay)."""
        if self.old.line is None or self.new.line is None:
            return [], []
        old, new = self.old.get("rules") or [], self.new.get("rules") or []
        return [r for r in old if r not in new], [r for r in new if r not in old]

    def evidence(self) -> list[dict[str, Any]]:
        """The evidence items judged otherwise (accepted, or the reasons) under the new
        rulebook: a stricter sharpness threshold rejects a photo the old one accepted."""
        old = {e["id"]: e for e in self.old.get("evidence") or []}
        out = []
        for item in self.new.get("evidence") or []:
            before = old.get(item["id"])
            if before is None:
                continue
            was = {"accepted": before["accepted"], "reasons": before["reasons"]}
            now = {"accepted": item["accepted"], "reasons": item["reasons"]}
            if was != now:
                out.append({"id": item["id"], "kind": item["kind"], "old": was, "new": now})
        return out

    def liability_move(self) -> str | None:
        old, new = self.old.get("liability"), self.new.get("liability")
        if old == new or self.new.line is None:
            return None
        return f"{old or NONE}->{new or NONE}"

    def to_json(self) -> dict[str, Any]:
        removed, added = self.rules()
        return {
            "case_id": self.case_id,
            "claim": self.claim,
            "currency": self.currency,
            "differs": list(self.differs),
            "old": self.old.to_json(),
            "new": self.new.to_json(),
            "rules_removed": removed,
            "rules_added": added,
            "evidence": self.evidence(),
        }


def compare(
    case_file: CaseFile, new: Rulebook, old: Rulebook, prior: PriorEvidence | None = None
) -> Compared:
    """``case_file`` replayed under ``old`` and under ``new``, its evidence checked for reuse
    against ``prior``. Raises :class:`InvalidCase` when it does not replay under ``old`` (then
    the case itself is at fault, not the change)."""
    before = Side(old, replay(case_file, old, prior).output)
    try:
        after = Side(new, replay(case_file, new, prior).output)
    except InvalidCase as exc:
        after = Side(new, None, f"{exc.pointer or '/'}: {exc.message}")
    return Compared(
        case_file.case_id,
        case_file.claim.type.value,
        case_file.order.currency,
        before,
        after,
    )


@dataclass
class Money:
    old: Decimal = Decimal(0)
    new: Decimal = Decimal(0)

    def to_json(self) -> dict[str, str]:
        return {"old": str(self.old), "new": str(self.new), "difference": str(self.new - self.old)}


@dataclass
class ClaimSummary:
    compared: int = 0
    changed: int = 0
    moves: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "changed": self.changed,
            "liability_moves": dict(sorted(self.moves.items())),
        }


@dataclass
class Summary:
    """What the new rulebook changes over every dispute compared, by claim type and in
    money (per currency; exact decimals)."""

    disputes: int = 0  # every dispute read, valid or not
    compared: int = 0
    changed: int = 0
    refused: int = 0  # compared, but their events do not replay under the new rulebook
    evidence_judged_otherwise: int = 0  # disputes with an item the new rulebook judges otherwise
    other_rulebooks: Counter[str] = field(default_factory=Counter)
    invalid: int = 0  # do not replay under their old rulebook either (exit 2)
    old_rulebooks: dict[str, str] = field(default_factory=dict)  # label -> digest
    new_rulebooks: dict[str, str] = field(default_factory=dict)
    by_claim: dict[str, ClaimSummary] = field(default_factory=dict)
    refunds: dict[str, Money] = field(default_factory=dict)
    penalties: dict[str, Money] = field(default_factory=dict)

    def add(self, compared: Compared) -> None:
        self.compared += 1
        self.old_rulebooks[compared.old.rulebook.label] = compared.old.rulebook.digest
        self.new_rulebooks[compared.new.rulebook.label] = compared.new.rulebook.digest
        claim = self.by_claim.setdefault(compared.claim, ClaimSummary())
        claim.compared += 1
        if compared.evidence():
            self.evidence_judged_otherwise += 1
        if compared.changed:
            self.changed += 1
            claim.changed += 1
            move = compared.liability_move()
            if move is not None:
                claim.moves[move] += 1
        if compared.new.line is None:
            self.refused += 1
            return  # what it would have cost is unknown
        for name, totals in (("refund_amount", self.refunds), ("penalty_amount", self.penalties)):
            money = totals.setdefault(compared.currency, Money())
            money.old += compared.old.money(name)
            money.new += compared.new.money(name)

    def to_json(self) -> dict[str, Any]:
        currencies = sorted(set(self.refunds) | set(self.penalties))
        return {
            "disputes": self.disputes,
            "compared": self.compared,
            "changed": self.changed,
            "unchanged": self.compared - self.changed,
            "refused_under_new": self.refused,
            "evidence_judged_otherwise": self.evidence_judged_otherwise,
            "invalid": self.invalid,
            "other_rulebooks": dict(sorted(self.other_rulebooks.items())),
            "old_rulebooks": [
                {"label": label, "digest": digest}
                for label, digest in sorted(self.old_rulebooks.items())
            ],
            "new_rulebooks": [
                {"label": label, "digest": digest}
                for label, digest in sorted(self.new_rulebooks.items())
            ],
            "by_claim": {name: c.to_json() for name, c in sorted(self.by_claim.items())},
            "money": {
                currency: {
                    "refunds": self.refunds.get(currency, Money()).to_json(),
                    "penalties": self.penalties.get(currency, Money()).to_json(),
                }
                for currency in currencies
            },
        }


@dataclass(frozen=True)
class Skipped:
    """A dispute under another rulebook than the new one's: not compared."""

    case_id: str
    rulebook_id: str


Result = Compared | Skipped | InvalidCase


def whatif(
    cases: Iterable[tuple[CaseFile, Rulebook] | InvalidCase],
    new: Mapping[str, Rulebook],
    against: Mapping[str, Rulebook] | None = None,
    priors: Callable[[str], PriorEvidence] | None = None,
) -> Iterator[Result]:
    """Each case, given with its own rulebook (or why it could not be read), compared under
    its old rulebook (``against``'s for its id, when given) and the new rulebook with its
    rulebook's id (``new``, by id); cases under a rulebook with no new release are skipped.
    ``priors``: the evidence of the other disputes, by case id, that reuse checks see (none
    for case files)."""
    against = against or {}
    for item in cases:
        if isinstance(item, InvalidCase):
            yield item
            continue
        case_file, own = item
        if own.id not in new:
            yield Skipped(case_file.case_id, own.id)
            continue
        try:
            prior = None if priors is None else priors(case_file.case_id)
            yield compare(case_file, new[own.id], against.get(own.id, own), prior)
        except InvalidCase as exc:
            yield exc


def summarize(results: Iterable[Result], summary: Summary) -> Iterator[Result]:
    """``results`` as they come, each counted into ``summary`` on the way."""
    for result in results:
        summary.disputes += 1
        if isinstance(result, Compared):
            summary.add(result)
        elif isinstance(result, Skipped):
            summary.other_rulebooks[result.rulebook_id] += 1
        else:
            summary.invalid += 1
        yield result
