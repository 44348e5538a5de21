"""Evidence of a unit of work: received before it starts, judged in the dispute when applied.

Receiving a file (:func:`evidence.intake.receive`) is the slow part: it copies the bytes into
the store's staging area and decodes that copy. :class:`Intake` does it for every submission
of a command *before* its write transaction begins, so a slow file never holds a database
lock. Inside the transaction the :class:`Examiner` judges each received file in its dispute
context, which is where reuse across disputes is checked, against what is committed then.
After the transaction commits, :meth:`Intake.commit` makes the staged bytes objects; if it
does not, :meth:`Intake.discard` removes them, so nothing is stored for a command that did
not happen.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from adjudicator.domain import EvidenceRecord
from adjudicator.workflow import Event, Submission
from evidence import (
    DisputeContext,
    EvidencePolicy,
    KnownEvidence,
    PriorEvidence,
    Verdict,
)
from evidence.errors import StoreError
from evidence.store import ContentStore, FilesystemStore

if TYPE_CHECKING:  # validation (the decoders, libmagic) is imported by what receives a file
    from evidence.intake import Received

_log = logging.getLogger("adjudicator")


class Intake:
    """The received files of one unit of work, by submission, each validated by ``policy``:
    the dispute's rulebook's (:meth:`Rulebook.evidence_policy`), never a default in code. A
    unit of work that takes no files (an event without evidence) has none."""

    def __init__(self, store: ContentStore, policy: EvidencePolicy | None) -> None:
        self.store, self.policy = store, policy
        self._received: dict[int, tuple[Submission, Received]] = {}

    def receive(self, submission: Submission) -> Received:
        """Receive ``submission``'s file (once). Raises ``UnreadableEvidence`` (``OutsideFolder``
        for a file outside the folder it must come from)."""
        known = self._received.get(id(submission))
        if known is not None:
            return known[1]
        if self.policy is None:
            raise RuntimeError("a unit of work without an evidence policy was given a file")
        from evidence.intake import receive

        received = receive(
            submission.file,
            submission.kind,
            self.store,
            within=submission.within,
            declared=submission.declared,
            policy=self.policy,
        )
        self._received[id(submission)] = (submission, received)
        return received

    def receive_all(self, events: Iterable[Event]) -> None:
        for event in events:
            for submission in event.evidence:
                self.receive(submission)

    def commit(self) -> None:
        """The transaction that recorded these files committed: keep their bytes. This never
        raises (the command has happened): bytes that cannot be linked into place now stay
        staged, where ``adjudicator store gc`` makes them objects later."""
        for _, received in self._received.values():
            if received.staged is None:
                continue
            try:
                received.staged.commit()
            except (OSError, StoreError) as exc:
                _log.warning(
                    "evidence %s stays staged (%s); `adjudicator store gc` will keep it",
                    received.staged.sha256,
                    exc,
                )
        self._received.clear()

    def discard(self) -> None:
        for _, received in self._received.values():
            received.discard()
        self._received.clear()


@dataclass(frozen=True)
class Examined:
    submission: Submission
    record: EvidenceRecord
    verdict: Verdict
    submitted_at: datetime


class Examiner:
    """Judges each received submission in its dispute context (the workflow's examiner)."""

    def __init__(self, intake: Intake, prior: PriorEvidence | None = None) -> None:
        self.intake = intake
        self.prior = prior or KnownEvidence()
        self.examined: list[Examined] = []

    def __call__(self, sub: Submission, context: DisputeContext, id_: str) -> EvidenceRecord:
        context = replace(context, prior=self.prior)
        verdict = self.intake.receive(sub).inspected.judge(context)
        record = record_of(sub, context, verdict, id_)
        assert context.submitted_at is not None  # the workflow always says when
        self.examined.append(Examined(sub, record, verdict, context.submitted_at))
        return record


def record_of(
    sub: Submission, context: DisputeContext, verdict: Verdict, id_: str
) -> EvidenceRecord:
    """What the decision sees of a validated submission."""
    return EvidenceRecord(
        id=id_,
        party=context.party,
        kind=sub.kind,
        sha256=verdict.sha256,
        accepted=verdict.accepted,
        reasons=tuple(r.value for r in verdict.reasons),
        authoritative=verdict.facts.get("authoritative") is True,
        result=sub.declared.get("result"),
        status=sub.declared.get("status"),
        pre_shipment=verdict.facts.get("pre_shipment") is True,
        shows_serial=sub.declared.get("shows_serial"),
        near_duplicate="near_duplicate" in verdict.flags,
        description=sub.description,
    )


_scratch: FilesystemStore | None = None


def scratch_store() -> FilesystemStore:
    """A private store for replays that keep nothing: files are copied there to be inspected
    (so nothing can change them meanwhile) and discarded. Removed when the process exits."""
    global _scratch  # noqa: PLW0603 - one per process, made on first use
    if _scratch is None:
        folder = Path(tempfile.mkdtemp(prefix="adjudicator-scratch-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _scratch = FilesystemStore(folder, durable=False)
    return _scratch
