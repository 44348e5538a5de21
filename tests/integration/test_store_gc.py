"""The store's garbage collection: staged bytes of committed disputes are recovered, garbage
older than the grace period goes, and nothing a dispute refers to is ever removed."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from adjudicator.examine import Intake
from adjudicator.rulebook import load_rulebook
from adjudicator.workflow import Submission
from evidence import EvidenceKind, FilesystemStore


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_staged_bytes_become_objects_only_when_a_dispute_refers_to_them(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    kept = store.stage_stream(io.BytesIO(b"committed, then the process died"))
    dropped = store.stage_stream(io.BytesIO(b"its transaction rolled back"))
    young = store.stage_stream(io.BytesIO(b"a command still running"))
    for staged in (kept, dropped):
        age(staged.path, 7200)
    done = store.collect(lambda sha: sha == kept.sha256)
    assert done.recovered == [kept.sha256]
    assert done.staged == [dropped.path.name]
    assert store.contains(kept.sha256)
    assert not store.contains(dropped.sha256)
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == [young.path.name]


def test_unreferenced_objects_older_than_the_grace_period_are_removed(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    orphan = store.put_stream(io.BytesIO(b"stored for a case that did not commit"))
    used = store.put_stream(io.BytesIO(b"evidence of a dispute"))
    fresh = store.put_stream(io.BytesIO(b"just linked"))
    age(store.path_of(orphan.sha256), 7200)
    age(store.path_of(used.sha256), 7200)
    done = store.collect(lambda sha: sha == used.sha256)
    assert done.objects == [orphan.sha256]
    assert not store.contains(orphan.sha256)
    assert store.contains(used.sha256)
    assert store.contains(fresh.sha256)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_an_object_a_dispute_comes_to_refer_to_during_gc_is_put_back(tmp_path: Path) -> None:
    """A dispute that commits between gc's first look and its removal keeps its bytes."""
    store = FilesystemStore(tmp_path)
    item = store.put_stream(io.BytesIO(b"reused by a dispute committing right now"))
    age(store.path_of(item.sha256), 7200)
    answers = iter([False, True])  # not referenced at first; referenced when asked again
    done = store.collect(lambda sha: next(answers))
    assert done.objects == []
    assert store.contains(item.sha256)
    assert store.open(item.sha256).read() == b"reused by a dispute committing right now"


def test_linking_bytes_already_stored_refreshes_their_time(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    first = store.put_stream(io.BytesIO(b"same bytes"))
    age(store.path_of(first.sha256), 7200)
    again = store.stage_stream(io.BytesIO(b"same bytes")).commit()
    assert not again.created
    assert store.collect(lambda sha: False).objects == []  # young again: in use


def test_bytes_that_cannot_be_linked_after_the_commit_stay_staged_for_gc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command has happened once its transaction commits: a failure to link its bytes
    does not undo or repeat it; they stay staged, and gc makes them objects."""
    store = FilesystemStore(tmp_path)
    intake = Intake(store, load_rulebook("kuaishou.general").evidence_policy())
    item = Submission(EvidenceKind.CHAT_RECORD, tmp_path / "chat.txt")
    item.file.write_text("买家: 屏幕有裂痕", "utf-8")
    received = intake.receive(item)
    assert received.staged is not None

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", full)
    intake.commit()  # does not raise
    monkeypatch.undo()
    assert received.staged.path.exists()
    assert store.collect(lambda sha: sha == received.inspected.sha256).recovered == [
        received.inspected.sha256
    ]
    assert store.contains(received.inspected.sha256)
