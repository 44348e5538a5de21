"""Content-addressed storage of evidence bytes: each distinct content once, under its SHA-256.

Bytes are streamed (never held whole in memory) into a temporary file in the store, flushed
to disk, and then hard-linked into place: ``link`` never replaces an existing object, so two
processes storing the same bytes at once both succeed and one copy remains, and a crash at any
point leaves either no object or a complete one (a stray temporary file at worst).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from evidence.errors import NoSuchObject, StoreError

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredObject:
    sha256: str
    size: int
    created: bool  # False when the same bytes were already stored


class ContentStore(Protocol):
    """Where evidence bytes live. An object store can implement this later."""

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
        """Hash on this thread while a writer thread writes: both release the GIL, so storing
        costs little more than hashing alone. At most ``_IN_FLIGHT`` chunks are in memory."""
        digest = hashlib.sha256()
        size = 0
        fd, temp = tempfile.mkstemp(dir=self._tmp, prefix="incoming-")
        try:
            with os.fdopen(fd, "wb") as out:  # buffered: write() writes every byte
                writer = _Writer(out, durable=self.durable)
                try:
                    while chunk := stream.read(CHUNK):
                        writer.put(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                finally:
                    writer.finish()
                out.flush()
                if self.durable:
                    os.fsync(out.fileno())
            return self._commit(temp, digest.hexdigest(), size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def _commit(self, temp: str, sha256: str, size: int) -> StoredObject:
        target = self.path_of(sha256)
        self._make_dirs(target.parent)
        os.chmod(temp, 0o444)
        try:
            os.link(temp, target)
        except FileExistsError:
            return StoredObject(sha256, size, created=False)
        if self.durable:
            _fsync_dir(target.parent)
        return StoredObject(sha256, size, created=True)

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


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries (a new name in it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
