"""The audit reads the log and the tables in chunks (``adjudicator.audit.CHUNK`` rows at a
time), and dispute by dispute: what it finds does not depend on where the chunks end, and a
break beyond the first chunk is named with its entry's number. Chunks of a few rows here, so
that the examples' log spans many of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from adjudicator import audit
from adjudicator.audit import Audit
from adjudicator.casefile import read_case
from adjudicator.replay import replay_into
from adjudicator.service import Adjudicator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
SMALL = 7  # rows a chunk: the log (hundreds of entries), 27 disputes, their decisions...


@pytest.fixture
def loaded(service: Adjudicator) -> Adjudicator:
    for path in sorted(EXAMPLES.glob("*.json")):
        replay_into(service, read_case(path))
    return service


def said(found: Audit) -> tuple[int, int | None, str, list[str]]:
    return found.entries, found.disputes, found.head, [str(p) for p in found.problems]


def in_small_chunks(service: Adjudicator, monkeypatch: pytest.MonkeyPatch) -> Audit:
    with monkeypatch.context() as patch:
        patch.setattr(audit, "CHUNK", SMALL)
        return service.audit()


def test_an_intact_log_over_many_chunks_is_intact(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = loaded.audit()
    assert whole.intact
    assert whole.entries > 20 * SMALL
    assert whole.disputes == 27
    assert said(in_small_chunks(loaded, monkeypatch)) == said(whole)
    with monkeypatch.context() as patch:
        patch.setattr(audit, "CHUNK", SMALL)
        assert loaded.verify_log() == (whole.entries, None)


def test_a_break_in_the_second_chunk_is_named_with_its_entry(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    seq = SMALL + 3  # in the second chunk
    with loaded.engine.begin() as connection:
        stored = text("SELECT entry FROM log WHERE seq = :seq")
        entry = json.loads(connection.execute(stored, {"seq": seq}).scalar_one())
        entry["at"] = "2026-01-01T00:00:00+08:00"  # edited, its hash left as it was
        connection.execute(
            text("UPDATE log SET entry = :entry WHERE seq = :seq"),
            {"entry": json.dumps(entry, ensure_ascii=False, sort_keys=True), "seq": seq},
        )
    whole = loaded.audit()
    chunked = in_small_chunks(loaded, monkeypatch)
    assert said(chunked) == said(whole)
    assert str(chunked.problems[0]) == (
        f"entry {seq}: its content does not match its hash (edited)"
    )
    with monkeypatch.context() as patch:
        patch.setattr(audit, "CHUNK", SMALL)
        entries, broken = loaded.verify_log()
    assert entries == whole.entries
    assert broken is not None
    assert (broken.seq, broken.problem) == (seq, "its content does not match its hash (edited)")


def test_an_entry_filed_under_another_dispute_is_read_with_its_own(
    loaded: Adjudicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second read takes each dispute's entries by the rows' case_id column: an entry
    whose row names another dispute is still read with its own dispute's entries (the row
    is named, and nothing else differs)."""
    with loaded.engine.begin() as connection:
        seq, case_id = connection.execute(
            text("SELECT seq, case_id FROM log WHERE case_id <> 'KS-EX-0002' ORDER BY seq DESC")
        ).first() or (0, "")
        connection.execute(
            text("UPDATE log SET case_id = 'KS-EX-0002' WHERE seq = :seq"), {"seq": seq}
        )
    expected = [
        f"entry {seq}: its row's case_id column is 'KS-EX-0002' but the entry is about {case_id!r}"
    ]
    assert said(loaded.audit())[3] == expected
    assert said(in_small_chunks(loaded, monkeypatch))[3] == expected
