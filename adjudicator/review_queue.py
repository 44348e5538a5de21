"""The disputes waiting for a person: a platform reviewer's manual decision.

A dispute waits from the moment its review found a reason it must not be decided alone (the
``review`` entry of the decision log: a large amount, a near-duplicate photo, a finding no rule
weighs) until a reviewer's ``decide``. The queue is oldest first, as a desk works it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from adjudicator.domain import Resolution
from adjudicator.persistence import DisputeRow, LogRow

LONGEST = 500  # the queue shows the oldest this many
_CHUNK = 500  # case ids per query


@dataclass(frozen=True)
class Waiting:
    """One dispute in the queue: since when, and why (the review rules and their reasons)."""

    case_id: str
    since: datetime
    rules: tuple[str, ...]
    because: str


def awaiting_review(engine: Engine, longest: int = LONGEST) -> list[Waiting]:
    """Every dispute pending a reviewer's decision, the longest waiting first (then by case
    id), at most ``longest`` of them."""
    with Session(engine) as session:
        pending = select(col(DisputeRow.case_id)).where(
            col(DisputeRow.resolution) == Resolution.PENDING_REVIEW.value
        )
        found = _waiting(session, list(session.execute(pending).scalars()))
    return sorted(found, key=lambda w: (w.since, w.case_id))[:longest]


def waiting(engine: Engine, case_id: str) -> Waiting | None:
    """Since when and why ``case_id`` waits for a reviewer (None: it does not)."""
    with Session(engine) as session:
        pending = select(col(DisputeRow.resolution)).where(col(DisputeRow.case_id) == case_id)
        if session.execute(pending).scalar() != Resolution.PENDING_REVIEW.value:
            return None
        found = _waiting(session, [case_id])
    return found[0] if found else None


def _waiting(session: Session, case_ids: Sequence[str]) -> list[Waiting]:
    """The newest ``review`` entry of each of ``case_ids`` (a second review after an appeal
    starts a new wait)."""
    last: dict[str, Waiting] = {}
    for start in range(0, len(case_ids), _CHUNK):
        entries = (
            select(col(LogRow.case_id), col(LogRow.entry))
            .where(col(LogRow.case_id).in_(case_ids[start : start + _CHUNK]))
            .where(col(LogRow.entry).contains('"event": "review"'))
            .order_by(col(LogRow.seq))
        )
        for case_id, text in session.execute(entries):
            entry = json.loads(text)
            if entry.get("event") == "review":
                since = datetime.fromisoformat(entry["at"])
                rules = tuple(entry.get("rules") or (entry.get("rule"),))
                last[case_id] = Waiting(case_id, since, rules, entry.get("because", ""))
    return list(last.values())
