"""One streaming pass over a file: size, SHA-256, the head for libmagic and the tail.

Memory stays bounded whatever the file size: only ``HEAD_BYTES`` and ``TAIL_BYTES`` are kept.
The file is opened without blocking and checked to be a regular file on the open descriptor
(a FIFO, a device or ``/proc`` entry is never read), and a file over the size limit is not
read past its head: its SHA-256 is left empty.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
        handle = _open_libmagic()
        _local.magic = handle
    return str(handle.from_buffer(head)) if head else "application/x-empty"


class _MimeOf(Protocol):
    def from_buffer(self, buf: bytes) -> str: ...


def _open_libmagic() -> _MimeOf:
    """A libmagic handle answering MIME types: the system's ``libmagic.so.1`` through
    :class:`_Libmagic`, else (another system) python-magic's ``Magic(mime=True)``."""
    global _libmagic  # noqa: PLW0603 - loaded once, on first use
    if _libmagic is None:
        try:
            _libmagic = _bind(ctypes.CDLL("libmagic.so.1"))
        except (OSError, AttributeError):
            _libmagic = False
    if _libmagic is False:
        import magic

        return magic.Magic(mime=True)
    return _Libmagic(_libmagic)


_libmagic: Any = None  # the bound library; False where there is no libmagic.so.1
_MAGIC_MIME_TYPE = 0x10
_MAGIC_PARAM_NAME_MAX = 1


def _bind(lib: Any) -> Any:
    lib.magic_open.restype = ctypes.c_void_p
    lib.magic_open.argtypes = [ctypes.c_int]
    lib.magic_close.restype = None
    lib.magic_close.argtypes = [ctypes.c_void_p]
    lib.magic_error.restype = ctypes.c_char_p
    lib.magic_error.argtypes = [ctypes.c_void_p]
    lib.magic_load.restype = ctypes.c_int
    lib.magic_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.magic_buffer.restype = ctypes.c_char_p
    lib.magic_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.magic_setparam.restype = ctypes.c_int
    lib.magic_setparam.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t)]
    return lib


class MagicException(Exception):
    """What python-magic raises when libmagic fails (its name, its ``message``)."""

    def __init__(self, message: bytes | None) -> None:
        super().__init__(message)
        self.message = message


class _Libmagic:
    """What python-magic's ``Magic(mime=True).from_buffer`` does, call for call: the same
    library, flags (``MAGIC_MIME_TYPE``), database (the default) and parameter (a name/use
    limit of 64), so the same types. Importing python-magic finds the library with
    ``ctypes.util.find_library``, which runs ``ldconfig -p`` twice, forking this process:
    0.02 s of CPU, a twentieth of a short replay. One handle per thread, as before."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self._cookie = lib.magic_open(_MAGIC_MIME_TYPE)
        if lib.magic_load(self._cookie, None) == -1:
            raise MagicException(lib.magic_error(self._cookie))
        limit = ctypes.c_size_t(64)  # python-magic's, for files over libmagic's own limit
        lib.magic_setparam(self._cookie, _MAGIC_PARAM_NAME_MAX, ctypes.byref(limit))

    def from_buffer(self, buf: bytes) -> str:
        found = self._lib.magic_buffer(self._cookie, buf, len(buf))
        if found is None:
            error = self._lib.magic_error(self._cookie)
            if error is None:  # libmagic 5.09's failure without a message: as python-magic
                return "application/octet-stream"
            raise MagicException(error)
        return str(found.decode("utf-8", "backslashreplace"))

    def __del__(self) -> None:
        if getattr(self, "_cookie", None):
            self._lib.magic_close(self._cookie)
            self._cookie = None


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
