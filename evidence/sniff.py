"""One streaming pass over a file: size, SHA-256, the head for libmagic and the tail.

Memory stays bounded whatever the file size: only ``HEAD_BYTES`` and ``TAIL_BYTES`` are kept.
The file is opened without blocking and checked to be a regular file on the open descriptor
(a FIFO, a device or ``/proc`` entry is never read), and a file over the size limit is not
read past its head: its SHA-256 is left empty.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import magic

from evidence.errors import UnreadableEvidence

CHUNK = 1024 * 1024
HEAD_BYTES = 1024 * 1024
TAIL_BYTES = 65535 + 22  # the largest ZIP end record, for polyglot checks

_local = threading.local()


@dataclass(frozen=True)
class Sniffed:
    size: int
    sha256: str
    mime: str
    head: bytes
    tail: bytes
    identity: tuple[int, int, int, int] = (0, 0, 0, 0)  # device, inode, size, mtime (ns)


def identity_of(path: Path) -> tuple[int, int, int, int]:
    """What changes when the file at ``path`` is replaced or rewritten."""
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def mime_of(head: bytes) -> str:
    """libmagic's MIME type for these leading bytes (one libmagic handle per thread)."""
    handle = getattr(_local, "magic", None)
    if handle is None:
        handle = magic.Magic(mime=True)
        _local.magic = handle
    return str(handle.from_buffer(head)) if head else "application/x-empty"


def sniff(path: Path, limit: int | None = None) -> Sniffed:
    """Size, SHA-256, MIME type, head and tail of the regular file at ``path``. Over ``limit``
    bytes (by ``fstat``, before anything is read) only the head is read, for the type, and
    ``sha256`` is ``""``."""
    digest = hashlib.sha256()
    head = bytearray()
    tail = b""
    size = 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as stream:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnreadableEvidence(f"{path}: not a regular file")
            identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            if limit is not None and st.st_size > limit:
                head += stream.read(HEAD_BYTES)
                return Sniffed(st.st_size, "", mime_of(bytes(head)), bytes(head), b"", identity)
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                tail = (tail + chunk)[-TAIL_BYTES:]
    except OSError as exc:
        raise UnreadableEvidence(
            f"{path}: cannot read evidence file: {exc.strerror or exc}"
        ) from exc
    return Sniffed(
        size=size,
        sha256=digest.hexdigest(),
        mime=mime_of(bytes(head)),
        head=bytes(head),
        tail=tail,
        identity=identity,
    )
