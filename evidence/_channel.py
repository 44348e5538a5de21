"""The decoder sandbox's connection to its worker: a pipe each way, messages framed as
``multiprocessing.connection`` frames them (a 4-byte big-endian length, or -1 and an 8-byte
one, then the bytes), calls pickled one way, answers sent as bytes the other.

It is what the sandbox used of ``multiprocessing.connection.Connection`` over a socket pair,
without importing ``multiprocessing``, ``socket`` and ``selectors`` into every process that
validates evidence (a hundredth of a second of a short command's CPU).
"""

from __future__ import annotations

import math
import os
import pickle
import select
import struct
from typing import Any

_SMALL = 16384  # a message this long or shorter is written in one go with its length


class Channel:
    """One end: it reads from ``read_fd`` and writes to ``write_fd``, and owns both."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._read: int | None = read_fd
        self._write: int | None = write_fd

    def send(self, obj: Any) -> None:
        self.send_bytes(pickle.dumps(obj))

    def recv(self) -> Any:
        return pickle.loads(self.recv_bytes())

    def send_bytes(self, data: bytes) -> None:
        size = len(data)
        header = struct.pack("!i", size) if size <= 0x7FFFFFFF else struct.pack("!iQ", -1, size)
        if size > _SMALL:
            self._write_all(header)
            self._write_all(data)
        else:
            self._write_all(header + data)

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        """The next message; ``OSError`` if it is longer than ``maxlength`` (nothing of it is
        read then), ``EOFError`` if the other end closed before it began."""
        (size,) = struct.unpack("!i", self._read_exact(4, first=True))
        if size == -1:
            (size,) = struct.unpack("!Q", self._read_exact(8))
        if maxlength is not None and size > maxlength:
            raise OSError("bad message length")
        return self._read_exact(size)

    def poll(self, timeout: float | None = None) -> bool:
        """Whether a message (or the other end's closing) can be read within ``timeout``
        seconds (None: waits for it)."""
        poller = select.poll()
        poller.register(self._fd(self._read), select.POLLIN)
        wait = None if timeout is None else max(0, math.ceil(timeout * 1000))
        return bool(poller.poll(wait))

    def close(self) -> None:
        for fd in (self._read, self._write):
            if fd is not None:
                os.close(fd)
        self._read = self._write = None

    def _write_all(self, data: bytes) -> None:
        fd = self._fd(self._write)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def _read_exact(self, size: int, *, first: bool = False) -> bytes:
        fd = self._fd(self._read)
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = os.readv(fd, [view[got:]])
            if not count:
                if first and not got:
                    raise EOFError
                raise OSError("got end of file during message")
            got += count
        return bytes(buffer)

    @staticmethod
    def _fd(fd: int | None) -> int:
        if fd is None:
            raise OSError("handle is closed")
        return fd
