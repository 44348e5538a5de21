"""One streaming pass over a file: size, SHA-256, the head for libmagic and the tail.

Memory stays bounded whatever the file size: only ``HEAD_BYTES`` and ``TAIL_BYTES`` are kept.
"""

from __future__ import annotations

import hashlib
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


def sniff(path: Path) -> Sniffed:
    digest = hashlib.sha256()
    head = bytearray()
    tail = b""
    size = 0
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise UnreadableEvidence(f"{path}: not a regular file")
        identity = identity_of(path)
        with path.open("rb") as stream:
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
