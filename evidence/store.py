"""Content-addressed storage of evidence bytes: each distinct content once, under its SHA-256.

Bytes are streamed (never held whole in memory) into a temporary file in the store, flushed
to disk, and then hard-linked into place: ``link`` never replaces an existing object, so two
processes storing the same bytes at once both succeed and one copy remains, and a crash at any
point leaves either no object or a complete one.

A service *stages* bytes first (:meth:`FilesystemStore.stage_stream`): they are copied and
hashed into ``tmp/staged-<sha256>-*``, validated there (nobody else writes that copy), and
become an object only once the database transaction that records them has committed
(:meth:`Staged.commit`); a transaction that fails discards them, so nothing is stored for it.
What a crash leaves in ``tmp/`` (a temporary file, or staged bytes whose transaction did or did
not commit) is finished or removed by :meth:`FilesystemStore.collect` (``adjudicator store
gc``), which also removes objects no dispute refers to.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from evidence.errors import NoSuchObject, StoreError, UnreadableEvidence

CHUNK = 1024 * 1024
INCOMING = "incoming-"
STAGED = "staged-"
_TRASH = "trash-"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredObject:
    sha256: str
    size: int
    created: bool  # False when the same bytes were already stored


@dataclass(frozen=True)
class Staged:
    """Bytes copied into the store and hashed, not yet an object: :meth:`commit` once the
    transaction that records them has committed, :meth:`discard` if it did not."""

    path: Path
    sha256: str
    size: int
    store: FilesystemStore

    def commit(self) -> StoredObject:
        """Link the bytes into place as their object; the staged name goes only once they
        are there (if linking fails, they stay staged for ``collect`` to finish)."""
        created = self.store._link(self.path, self.sha256)
        _unlink(self.path)
        return StoredObject(self.sha256, self.size, created=created)

    def discard(self) -> None:
        _unlink(self.path)


@dataclass
class Collected:
    """What :meth:`FilesystemStore.collect` did."""

    recovered: list[str] = field(default_factory=list)  # staged bytes made objects
    staged: list[str] = field(default_factory=list)  # staged bytes nobody refers to, removed
    temporary: list[str] = field(default_factory=list)  # temporary files removed
    objects: list[str] = field(default_factory=list)  # unreferenced objects removed


class ContentStore(Protocol):
    """Where evidence bytes live. An object store can implement this later."""

    def stage_stream(self, stream: BinaryIO) -> Staged: ...

    def put_stream(self, stream: BinaryIO) -> StoredObject: ...

    def put_file(self, path: str | Path) -> StoredObject: ...

    def contains(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> BinaryIO: ...


class FilesystemStore:
    """Objects at ``root/objects/ab/cd/abcd...``; temporaries in ``root/tmp``."""

    def __init__(self, root: str | Path, *, durable: bool = True) -> None:
        self.root = Path(root)
        self.durable = durable
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"
        try:
            self._objects.mkdir(parents=True, exist_ok=True)
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot create the evidence store: {exc}") from exc

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise NoSuchObject(f"{sha256!r} is not a lowercase hex SHA-256")
        return self._objects / sha256[:2] / sha256[2:4] / sha256

    def contains(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path_of(sha256).open("rb")
        except FileNotFoundError:
            raise NoSuchObject(f"no stored object {sha256}") from None

    def put_file(self, path: str | Path) -> StoredObject:
        try:
            with Path(path).open("rb") as stream:
                return self.put_stream(stream)
        except OSError as exc:
            raise StoreError(f"{path}: cannot store: {exc}") from exc

    def put_stream(self, stream: BinaryIO) -> StoredObject:
        """Store the stream's bytes as an object at once (stage, then commit)."""
        return self.stage_stream(stream).commit()

    def stage_stream(self, stream: BinaryIO) -> Staged:
        """Copy the stream into ``tmp/staged-<sha256>-*``, durable but not yet an object.

        Hash on this thread while a writer thread writes: both release the GIL, so staging
        costs little more than hashing alone. At most ``_IN_FLIGHT`` chunks are in memory.
        Bytes that fit in one chunk (a photo, a document) are written here: starting a
        thread for them would cost more than it overlaps."""
        digest = hashlib.sha256()
        size = 0
        try:
            fd, temp = tempfile.mkstemp(dir=self._tmp, prefix=INCOMING)
        except OSError as exc:
            raise StoreError(f"{self._tmp}: cannot write to the evidence store: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as out:  # buffered: write() writes every byte
                first = _read(stream)
                second = _read(stream) if first else b""
                if not second:  # all of it in one chunk (or none)
                    out.write(first)
                    digest.update(first)
                    size = len(first)
                else:
                    writer = _Writer(out, durable=self.durable)
                    try:
                        for chunk in _chunks(stream, first, second):
                            writer.put(chunk)
                            digest.update(chunk)
                            size += len(chunk)
                    finally:
                        writer.finish()
                out.flush()
                if self.durable:
                    os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            os.chmod(temp, 0o444)
            staged = Path(temp).with_name(f"{STAGED}{sha256}-{Path(temp).name[len(INCOMING) :]}")
            os.rename(temp, staged)
            if self.durable:
                _fsync_dir(self._tmp)
        except OSError as exc:  # reading the source raised UnreadableEvidence instead
            _unlink(Path(temp))
            raise StoreError(f"{self._tmp}: cannot write to the evidence store: {exc}") from exc
        except BaseException:
            _unlink(Path(temp))
            raise
        return Staged(staged, sha256, size, self)

    def _link(self, source: Path, sha256: str) -> bool:
        """Link ``source`` into place as the object ``sha256``: True if it was new. An object
        already there has its time refreshed, so that :meth:`collect` sees it as in use."""
        target = self.path_of(sha256)
        self._make_dirs(target.parent)
        try:
            os.link(source, target)
        except FileExistsError:
            with contextlib.suppress(OSError):
                os.utime(target)
            return False
        if self.durable:
            _fsync_dir(target.parent)
        return True

    def collect(
        self, referenced: Callable[[str], bool], *, grace_seconds: float = 3600.0
    ) -> Collected:
        """Garbage collection, safe beside running services.

        - staged bytes whose SHA-256 a dispute refers to (their transaction committed, then
          the process died before linking them) become objects;
        - staged bytes no dispute refers to, and temporary files, older than ``grace_seconds``
          (their writer is long gone) are removed;
        - objects no dispute refers to, older than ``grace_seconds``, are removed: each is
          moved aside, ``referenced`` is asked again, and it is put back if a transaction that
          committed meanwhile now refers to it (a service links its bytes only after its
          commit, so either the question sees that commit or the link comes after the move).
        """
        report = Collected()
        cutoff = time.time() - grace_seconds
        for entry in sorted(self._tmp.iterdir()):
            name = entry.name
            old = _mtime(entry) < cutoff
            if name.startswith(STAGED) and _SHA256.match(name[len(STAGED) : len(STAGED) + 64]):
                sha256 = name[len(STAGED) : len(STAGED) + 64]
                if referenced(sha256):
                    if self._link(entry, sha256):
                        report.recovered.append(sha256)
                    _unlink(entry)
                elif old:
                    report.staged.append(name)
                    _unlink(entry)
            elif old and (name.startswith((INCOMING, STAGED, _TRASH))):
                report.temporary.append(name)
                _unlink(entry)
        for target in sorted(self._objects.glob("??/??/*")):
            sha256 = target.name
            if not _SHA256.match(sha256) or _mtime(target) >= cutoff or referenced(sha256):
                continue
            aside = self._tmp / f"{_TRASH}{sha256}"
            try:
                os.rename(target, aside)
            except FileNotFoundError:
                continue
            if referenced(sha256):
                self._link(aside, sha256)
            else:
                report.objects.append(sha256)
            _unlink(aside)
        return report

    def _make_dirs(self, leaf: Path) -> None:
        """``objects/ab/cd``, each new level made durable in its parent."""
        for directory in (leaf.parent, leaf):
            if directory.is_dir():
                continue
            directory.mkdir(exist_ok=True)
            if self.durable:
                _fsync_dir(directory.parent)


_IN_FLIGHT = 4
_SYNC_EVERY = 16 * CHUNK


class _Writer:
    """Writes chunks to ``out`` on its own thread; re-raises its error on the caller's.

    When durable, it also flushes to disk every ``_SYNC_EVERY`` bytes while the caller is still
    hashing, so the final ``fsync`` has little left to do.
    """

    def __init__(self, out: BinaryIO, *, durable: bool) -> None:
        self._out = out
        self._durable = durable
        self._unsynced = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_IN_FLIGHT)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="evidence-store-writer")
        self._thread.start()

    def put(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def finish(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._out.write(chunk)
                    self._unsynced += len(chunk)
                    if self._durable and self._unsynced >= _SYNC_EVERY:
                        self._out.flush()
                        os.fdatasync(self._out.fileno())
                        self._unsynced = 0
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc


def _chunks(stream: BinaryIO, *already: bytes) -> Iterator[bytes]:
    """The chunks ``already`` read, then the rest of the stream's."""
    yield from already
    while chunk := _read(stream):
        yield chunk


def _read(stream: BinaryIO) -> bytes:
    try:
        return stream.read(CHUNK)
    except OSError as exc:
        raise UnreadableEvidence(f"cannot read the file being stored: {exc}") from exc


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return time.time()


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries (a new name in it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
