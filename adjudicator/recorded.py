"""A stored dispute as a case file again: its order and claim, its recorded events in order,
each evidence item read from the evidence store by the SHA-256 its verdict recorded, and the
clock stopped just after its last log entry. ``whatif --db`` replays these; reading them
writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from adjudicator import casemodel as model
from adjudicator.casefile import CaseFile, event_from
from adjudicator.errors import AdjudicationError, InvalidCase
from adjudicator.rulebook import Rulebook
from adjudicator.workflow import Event, Submission
from evidence import EvidenceKind
from evidence.store import FilesystemStore

if TYPE_CHECKING:
    from sqlmodel import Session

    from adjudicator.service import Adjudicator

_EVENT: TypeAdapter[Any] = TypeAdapter(model.EventModel)


def stored_cases(
    service: Adjudicator, session: Session
) -> Iterator[tuple[CaseFile, Rulebook] | InvalidCase]:
    """Every dispute stored in ``service``'s database, by case id (in code point order), as
    a case file with the rulebook it was opened under (or why it cannot be made one again)."""
    from sqlmodel import select

    from adjudicator.persistence import DisputeRow

    query = select(DisputeRow.case_id, DisputeRow.rulebook, DisputeRow.rulebook_digest)
    # sorted here, not by the database, whose collation may order text otherwise
    rows = sorted(session.exec(query).all())
    for case_id, source, digest in rows:
        try:
            book = service._stored_rulebook(source, digest)  # the service's own loader
        except AdjudicationError as exc:  # the rulebook no longer loads
            yield InvalidCase(f"db:{case_id}", "/rulebook", str(exc))
            continue
        try:
            yield stored_case(service, session, case_id, book), book
        except InvalidCase as exc:
            yield exc


def stored_case(service: Adjudicator, session: Session, case_id: str, book: Rulebook) -> CaseFile:
    """The stored dispute ``case_id`` as a case file (:func:`stored_cases`)."""
    from sqlmodel import col, select

    from adjudicator import snapshot
    from adjudicator.persistence import DisputeRow, EventRow, EvidenceRow, LogRow

    where = f"db:{case_id}"
    if not isinstance(service.store, FilesystemStore):  # pragma: no cover - one store today
        raise InvalidCase(where, "", "its evidence is in a store that gives no files to read")
    text = session.exec(select(DisputeRow.snapshot).where(DisputeRow.case_id == case_id)).one()
    case = snapshot.from_json(json.loads(text), book)
    bodies = session.exec(
        select(EventRow.body).where(EventRow.case_id == case_id).order_by(col(EventRow.seq))
    ).all()
    files = iter(
        session.exec(
            select(EvidenceRow.sha256)
            .where(EvidenceRow.case_id == case_id)
            .order_by(col(EvidenceRow.id))
        ).all()
    )
    events = [
        _event(json.loads(body), index, files, store=service.store, where=where)
        for index, body in enumerate(bodies)
    ]
    last = session.exec(
        select(LogRow.entry)
        .where(LogRow.case_id == case_id)
        .order_by(col(LogRow.seq).desc())
        .limit(1)
    ).first()
    until = None
    if last is not None:  # the deadlines that had fired then, and no later one
        until = datetime.fromisoformat(json.loads(last)["at"]) + timedelta(microseconds=1)
    return CaseFile(
        path=Path(where),
        case_id=case_id,
        rulebook=book.label,
        order=case.order,
        claim=case.claim,
        events=tuple(events),
        expected=None,
        until=until,
    )


def _event(
    body: dict[str, Any],
    index: int,
    files: Iterator[str],
    *,
    store: FilesystemStore,
    where: str,
) -> Event:
    """A recorded event (its case-file line) with its evidence files in the store."""
    body.pop("via", None)  # who sent it over the API: no part of the outcome
    items = body.get("evidence") or []
    try:
        parsed = _EVENT.validate_python(body)
        event = event_from(parsed.model_copy(update={"evidence": None}) if items else parsed, where)
    except ValidationError as exc:
        why = f"the recorded event no longer reads: {exc}"
        raise InvalidCase(where, f"/events/{index}", why) from None
    except InvalidCase as exc:
        raise InvalidCase(where, f"/events/{index}", exc.message) from None
    submissions = []
    for number, item in enumerate(items):
        sha256 = next(files, None)
        path = store.path_of(sha256) if sha256 else None
        if path is None or not path.is_file():
            raise InvalidCase(
                where,
                f"/events/{index}/evidence/{number}/file",
                f"the bytes of {item.get('file')!r} are not in the evidence store",
            )
        declared = {k: v for k, v in item.items() if k in model.DECLARED}
        submissions.append(
            Submission(
                EvidenceKind(item["kind"]),
                path,
                declared,
                within=store.root,
                description=item.get("description"),
                name=item.get("file"),
            )
        )
    return replace(event, evidence=tuple(submissions))
