"""The disputes waiting for a person: a platform reviewer's manual decision.

A dispute waits from the moment its review found a reason it must not be decided alone (the
``review`` entry of the decision log: a large amount, a near-duplicate photo, a finding no rule
weighs) until a reviewer's ``decide``. The queue is oldest first, as a desk works it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from adjudicator.domain import Resolution
from adjudicator.persistence import DisputeRow, LogRow

LONGEST = 500  # the queue shows the oldest this many


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
        case_ids = list(session.execute(pending).scalars())
        last: dict[str, Waiting] = {}
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start : start + 500]
            entries = (
                select(col(LogRow.case_id), col(LogRow.entry))
                .where(col(LogRow.case_id).in_(chunk))
                .where(col(LogRow.entry).contains('"event": "review"'))
                .order_by(col(LogRow.seq))
            )
            for case_id, text in session.execute(entries):
                entry = json.loads(text)
                if entry.get("event") == "review":  # the newest review is the wait's start
                    since = datetime.fromisoformat(entry["at"])
                    rules = tuple(entry.get("rules") or (entry.get("rule"),))
                    last[case_id] = Waiting(case_id, since, rules, entry.get("because", ""))
    return sorted(last.values(), key=lambda w: (w.since, w.case_id))[:longest]
