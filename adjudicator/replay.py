"""Replay a case file from nothing, deterministically (docs/case-files.md, "Replay output")."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from adjudicator.auditlog import MemoryJournal
from adjudicator.casefile import CaseFile, read_case
from adjudicator.errors import (
    AdjudicationError,
    DisputeExists,
    InvalidCase,
    RefusedEvent,
    RulebookError,
)
from adjudicator.examine import Examiner, Intake, scratch_store
from adjudicator.rulebook import BUILTIN, Rulebook, builtin_reference, load_rulebook
from adjudicator.workflow import Case, Event, Workflow, evidence_json
from evidence import PriorEvidence, UnreadableEvidence
from evidence.store import ContentStore

if TYPE_CHECKING:  # the database layer is loaded only by a replay into a database
    from adjudicator.repository import Unit
    from adjudicator.service import Adjudicator


@cache
def builtin_rulebook(name: str) -> Rulebook:
    return load_rulebook(name)


@dataclass
class Replayed:
    case: Case
    log: list[dict[str, Any]]
    output: dict[str, Any]


def replay(
    case_file: CaseFile, rulebook: Rulebook | None = None, prior: PriorEvidence | None = None
) -> Replayed:
    """Replay one case in its own fresh, in-memory store. ``prior``: the evidence of other
    disputes its reuse and near-duplicate checks see (none by default)."""
    case = new_case(case_file, rulebook)
    journal = MemoryJournal()
    intake = intake_for(case_file, scratch_store(), case.rulebook)
    try:
        receive_evidence(case_file, intake)
        flow = Workflow(journal, Examiner(intake, prior))
        drive(case_file, case, lambda e: flow.apply(case, e), lambda: flow.expire_next(case))
    finally:
        intake.discard()
    return Replayed(case, journal.entries, outcome(case, case_file.expected))


def replay_into(
    service: Adjudicator, case_file: CaseFile, rulebook: str | Path | None = None
) -> dict[str, Any]:
    """Replay one case into the service's database, as one unit of work: an invalid case
    leaves nothing behind, its evidence bytes included. Evidence reuse is checked against
    every dispute already there. ``rulebook``: the operator's choice (a built-in id or a
    rulebook file) for every case; otherwise the
    case file's ``rulebook`` id (built in or registered with the service), never a path."""
    source, book = _service_rulebook(service, case_file, rulebook)
    case = new_case(case_file, book)
    intake = intake_for(case_file, service.store, book)
    try:
        receive_evidence(case_file, intake)  # before the transaction: decoding holds no lock
        service.create(
            case,
            source,
            lambda unit: drive(case_file, case, unit.apply, unit.expire_next),
            intake=intake,
        )
    except DisputeExists:
        raise InvalidCase(
            str(case_file.path), "/case_id", f"{case.case_id} is already in the database"
        ) from None
    finally:
        intake.discard()  # what create committed is no longer here
    return outcome(case, case_file.expected)


ReplayResult = dict[str, Any] | Exception
"""A case replayed into a database: its output line, or why it was not stored."""
Given = TypeVar("Given", bound=Path | CaseFile)


def replay_many(
    service: Adjudicator,
    case_files: Iterable[Given],
    rulebook: str | Path | None = None,
    *,
    batch: int | None = None,
) -> Iterator[tuple[Given, ReplayResult]]:
    """Replay cases into the service's database, ``batch`` cases a transaction (default
    :data:`adjudicator.service.IMPORT_BATCH`), each still all or nothing, as
    :func:`replay_into` would one by one: the same output lines, evidence reuse seeing every
    case stored before (in the database or earlier in the batch), the log one chain.

    Yields, in the order given, each case file (or path, read here) with its output line, or
    with the exception that kept it out: :class:`InvalidCase` (an invalid case file, a
    refused event, unreadable evidence, a case id already in the database; nothing of it is
    stored), or another exception of that case alone (a bug in the adjudicator). The cases
    of a batch are yielded once it has committed. A failed database raises, storing nothing
    of the batch in progress; an evidence store that fails while a case's files are received
    ends the batch before that case, which is stored and yielded first, then that case is
    yielded with its exception (stop there: the next case would meet it too)."""
    from adjudicator.service import IMPORT_BATCH

    size = IMPORT_BATCH if batch is None else batch
    if size < 1:
        raise ValueError(f"batch {size}: at least 1 case a transaction")
    files = iter(case_files)
    while True:
        prepared: list[tuple[Given, _Prepared | Exception]] = []
        stop: tuple[Given, Exception] | None = None
        try:
            for item in files:
                try:
                    prepared.append((item, _prepare(service, item, rulebook)))
                except AdjudicationError as exc:
                    prepared.append((item, exc))
                except Exception as exc:  # the store failed, or a bug: stop here
                    stop = (item, exc)
                    break
                if len(prepared) == size:
                    break
        except BaseException:  # interrupted: the received files of the batch go
            for _, each in prepared:
                if isinstance(each, _Prepared):
                    each.intake.discard()
            raise
        if not prepared and stop is None:
            return
        yield from _store(service, prepared)
        if stop is not None:
            yield stop


@dataclass
class _Prepared:
    """A case file read, under its rulebook, its evidence received: ready to store."""

    case_file: CaseFile
    source: str
    rulebook: Rulebook
    case: Case  # before its first event
    intake: Intake


def _prepare(service: Adjudicator, item: Path | CaseFile, rulebook: str | Path | None) -> _Prepared:
    """What :func:`replay_into` does before its transaction, for one case of a batch."""
    case_file = item if isinstance(item, CaseFile) else read_case(item)
    source, book = _service_rulebook(service, case_file, rulebook)
    case = new_case(case_file, book)  # out of its rulebook's scope: invalid before any file
    intake = intake_for(case_file, service.store, book)
    try:
        receive_evidence(case_file, intake)  # before the transaction: decoding holds no lock
    except BaseException:
        intake.discard()
        raise
    return _Prepared(case_file, source, book, case, intake)


def _store(
    service: Adjudicator, prepared: list[tuple[Given, _Prepared | Exception]]
) -> Iterator[tuple[Given, ReplayResult]]:
    """Store a batch of prepared cases in one transaction; each with its line or exception."""
    from adjudicator.service import NewDispute

    ready = [p for _, p in prepared if isinstance(p, _Prepared)]
    disputes = [
        NewDispute(
            p.case_file.case_id,
            p.source,
            _maker(p),
            _driver(p.case_file),
            p.intake,
        )
        for p in ready
    ]
    try:
        stored = iter(service.create_many(disputes) if disputes else [])
    finally:
        for p in ready:
            p.intake.discard()  # create_many kept what it stored; the rest goes
    for item, each in prepared:
        if not isinstance(each, _Prepared):
            yield item, each
            continue
        result = next(stored)
        if isinstance(result, DisputeExists):
            path, case_id = str(each.case_file.path), each.case_file.case_id
            yield item, InvalidCase(path, "/case_id", f"{case_id} is already in the database")
        elif isinstance(result, Exception):
            yield item, result
        else:
            yield item, outcome(result, each.case_file.expected)


def _maker(prepared: _Prepared) -> Callable[[], Case]:
    """The prepared case the first time; a new one each time the batch is judged again."""
    fresh = [prepared.case]

    def make() -> Case:
        return fresh.pop() if fresh else new_case(prepared.case_file, prepared.rulebook)

    return make


def _driver(case_file: CaseFile) -> Callable[[Unit], None]:
    def driving(unit: Unit) -> None:
        drive(case_file, unit.case, unit.apply, unit.expire_next)

    return driving


def _service_rulebook(
    service: Adjudicator, case_file: CaseFile, rulebook: str | Path | None
) -> tuple[str, Rulebook]:
    """The operator's ``rulebook`` for every case, else the case file's id (built in or
    registered with the service); one that does not load makes the case invalid."""
    try:
        if rulebook is not None:
            return service.rulebook(rulebook)
        return service.rulebook_by_id(case_file.rulebook)
    except RulebookError as exc:
        pointer = "" if rulebook is not None else "/rulebook"
        raise InvalidCase(str(case_file.path), pointer, str(exc)) from exc


def intake_for(case_file: CaseFile, store: ContentStore, book: Rulebook) -> Intake:
    """Where the case's evidence files are received, held to its rulebook's evidence policy;
    a case without files needs no policy (working one out is a twentieth of a short replay)."""
    has_files = any(event.evidence for event in case_file.events)
    return Intake(store, book.evidence_policy() if has_files else None)


def receive_evidence(case_file: CaseFile, intake: Intake) -> None:
    """Receive every evidence file of the case; one that cannot be makes the case invalid."""
    for index, event in enumerate(case_file.events):
        for number, submission in enumerate(event.evidence):
            try:
                intake.receive(submission)
            except UnreadableEvidence as exc:
                pointer = f"/events/{index}/evidence/{number}/file"
                raise InvalidCase(str(case_file.path), pointer, str(exc)) from exc


def new_case(case_file: CaseFile, rulebook: Rulebook | None = None) -> Case:
    """The dispute of a case file before its first event, under its rulebook."""
    book = rulebook or case_rulebook(case_file)
    outside = book.out_of_scope(case_file.order, case_file.claim)
    if outside is not None:
        raise InvalidCase(str(case_file.path), *outside)
    return Case(case_file.case_id, book, case_file.order, case_file.claim)


def drive(
    case_file: CaseFile,
    case: Case,
    apply: Callable[[Event], object],
    expire_next: Callable[[], object],
) -> None:
    """Apply the case file's events in order (each fires the deadlines its time is past),
    then fire deadlines until the dispute rests, or until the clock stands at the case's
    ``until`` (a deadline at exactly ``until`` has not expired then: limits are inclusive). A
    refused event makes the case invalid, naming its index."""
    for index, event in enumerate(case_file.events):
        try:
            apply(event)
        except RefusedEvent as exc:
            if exc.field is not None:  # the event's own field: named by its pointer
                raise InvalidCase(
                    str(case_file.path), f"/events/{index}/{exc.field}", exc.why
                ) from exc
            raise InvalidCase(
                str(case_file.path),
                f"/events/{index}",
                f"{event.action} is not allowed in state {exc.state}"
                + (f" ({exc.why})" if exc.why else ""),
            ) from exc
    until = case_file.until
    while (due := case.next_deadline()) is not None and (until is None or due < until):
        expire_next()


def case_rulebook(
    case_file: CaseFile, registered: Mapping[str, Rulebook] | None = None
) -> Rulebook:
    """The rulebook the case file names: one the operator registered under that id, or a
    built-in one; :class:`InvalidCase` (at ``/rulebook``) for any other id."""
    if registered and case_file.rulebook in registered:
        return registered[case_file.rulebook]
    if builtin_reference(case_file.rulebook) is None:
        raise InvalidCase(
            str(case_file.path),
            "/rulebook",
            f"no rulebook {case_file.rulebook!r}: built in are {', '.join(BUILTIN)} (or a "
            "release of one, such as kuaishou.general@2026.2; the operator registers others "
            "with --register-rulebook)",
        )
    try:
        return builtin_rulebook(case_file.rulebook)
    except RulebookError as exc:  # pragma: no cover - the built-in rulebooks load
        raise InvalidCase(str(case_file.path), "/rulebook", str(exc)) from exc


def outcome(case: Case, expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """The replay output line (also ``adjudicator show``)."""
    decision = case.decision if case.resolution == "adjudicated" else None
    agreed = case.resolution in ("agreed", "merchant_timeout", "negotiated")
    remedy = case.remedy.value if (decision or agreed) and case.remedy else None
    has_refund = (decision or agreed) and case.refund_amount is not None
    refund = str(case.refund_amount) if has_refund else None
    # who pays to send the goods back: the decision's payer, or the agreement's
    payer = decision.return_shipping_payer if decision else case.return_payer if agreed else None
    line: dict[str, Any] = {
        "case_id": case.case_id,
        "state": case.state.value,
        "resolution": case.resolution,
        "liability": decision.liability.value if decision else None,
        "remedy": remedy,
        "refund_amount": refund,
        "return_shipping_payer": None if payer is None else payer.value,
        "penalty_amount": str(decision.penalty_amount) if decision else None,
        "violations": list(decision.violations) if decision else [],
        "rulebook": case.rulebook.label,
        "rules": list(case.resolution_rules),
        "evidence": [evidence_json(e) for e in case.evidence],
        "appeal": _appeal(case),
    }
    if expected is not None:
        line["expected_match"] = all(line.get(k) == v for k, v in expected.items())
    return line


def _appeal(case: Case) -> dict[str, Any] | None:
    """The output's ``appeal`` block: who appealed and when, the decision it challenged, and
    the refund already paid that the new decision reverses (null when none)."""
    appeal = case.appeal
    if appeal is None:
        return None
    reversed_ = appeal.refund_reversed(case.decision)
    return {
        "by": appeal.by.value,
        "at": appeal.at.isoformat(),
        "previous": {
            "liability": appeal.previous.liability.value,
            "remedy": appeal.previous.remedy.value,
            "refund_amount": str(appeal.previous.refund_amount),
        },
        "refund_reversed": None if reversed_ is None else str(reversed_),
    }
