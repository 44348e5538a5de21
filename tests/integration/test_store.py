"""The content-addressed store, on a real filesystem, with real concurrent processes."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from evidence import FilesystemStore, NoSuchObject, UnreadableEvidence


class _Pattern(io.RawIOBase):
    """``size`` bytes of a repeating pattern, produced as read (never held whole)."""

    def __init__(self, size: int, fail_after: int | None = None) -> None:
        self.left = size
        self.read_so_far = 0
        self.fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.fail_after is not None and self.read_so_far >= self.fail_after:
            raise OSError("connection reset while uploading")
        n = min(len(buffer), self.left)
        buffer[:n] = (b"0123456789abcdef" * (n // 16 + 1))[:n]
        self.left -= n
        self.read_so_far += n
        return n


def _store_same(args: tuple[str, bytes]) -> tuple[str, bool]:
    root, data = args
    stored = FilesystemStore(root).put_stream(io.BytesIO(data))
    return stored.sha256, stored.created


def test_bytes_are_stored_once_under_their_sha256(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "store")
    data = b"photo bytes" * 1000
    first = store.put_stream(io.BytesIO(data))
    again = store.put_stream(io.BytesIO(data))
    assert first.sha256 == again.sha256 == hashlib.sha256(data).hexdigest()
    assert (first.created, again.created) == (True, False)
    assert first.size == len(data)
    with store.open(first.sha256) as stream:
        assert stream.read() == data
    assert store.contains(first.sha256)
    objects = [p for p in (tmp_path / "store" / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1
    assert list((tmp_path / "store" / "tmp").iterdir()) == []


def test_put_file_of_a_real_video(corpus: Path, tmp_path: Path) -> None:
    video = corpus / "videos" / "white.mp4"
    stored = FilesystemStore(tmp_path).put_file(video)
    assert stored.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()


def test_unknown_and_malformed_hashes_are_no_such_object(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    with pytest.raises(NoSuchObject):
        store.open("0" * 64)
    with pytest.raises(NoSuchObject):
        store.open("../../etc/passwd")
    assert not store.contains("f" * 64)


def test_a_failed_upload_leaves_no_object_and_no_temporary(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    with pytest.raises(UnreadableEvidence, match="connection reset"):
        store.put_stream(io.BufferedReader(_Pattern(10 * 1024 * 1024, fail_after=3 * 1024 * 1024)))
    assert [p for p in (tmp_path / "objects").rglob("*") if p.is_file()] == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_memory_does_not_grow_with_the_size_of_what_is_stored(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path, durable=False)
    peaks = []
    for size in (8 * 1024 * 1024, 64 * 1024 * 1024):
        tracemalloc.start()
        store.put_stream(io.BufferedReader(_Pattern(size), buffer_size=1024 * 1024))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 12 * 1024 * 1024  # a few 1 MiB chunks in flight, not 64 MiB
    assert peaks[1] < 2 * peaks[0] + 1024 * 1024


def test_processes_storing_the_same_bytes_at_once_all_succeed(tmp_path: Path) -> None:
    root = tmp_path / "shared-store"
    FilesystemStore(root)
    data = os.urandom(3 * 1024 * 1024)
    with ProcessPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_store_same, [(str(root), data)] * 12))
    digests = {sha for sha, _ in results}
    assert digests == {hashlib.sha256(data).hexdigest()}
    assert sum(created for _, created in results) == 1  # link() lets exactly one win
    objects = [p for p in (root / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1
    assert objects[0].read_bytes() == data
    assert list((root / "tmp").iterdir()) == []
