"""Taking a submitted file in: opened once, confined, size-checked, copied, then inspected.

A file named by untrusted input (a case file's evidence ``file``) must not reach anything but
a regular file inside the folder it is allowed to come from. :func:`open_confined` opens it
without blocking (a FIFO cannot stall the open), then checks *the file it opened* (``fstat``
and the descriptor's own path), so a symlink or a rename between a check and the open cannot
swap in ``/etc/shadow`` or ``/proc/self/environ``. :func:`receive` then copies the bytes into
the store's staging area (a file over the kind's size limit is refused by ``fstat`` before
any byte is read) and inspects that copy, which nobody else can change.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from evidence.errors import UnreadableEvidence
from evidence.kinds import EvidenceKind
from evidence.policy import DEFAULT_POLICY, EvidencePolicy
from evidence.sandbox import DecoderSandbox
from evidence.sniff import HEAD_BYTES, mime_of
from evidence.store import ContentStore, Staged
from evidence.validate import Inspected, inspect, too_large


class OutsideFolder(UnreadableEvidence):
    """The file is not a regular file inside the folder it must come from."""


def open_confined(path: Path, within: Path | None = None) -> tuple[BinaryIO, os.stat_result]:
    """Open ``path`` for reading; it must be a regular file and, with ``within``, inside that
    folder once every symlink is resolved. Raises :class:`OutsideFolder` or
    :class:`UnreadableEvidence`; never blocks on a FIFO or device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UnreadableEvidence(f"{path}: cannot open: {exc.strerror or exc}") from exc
    stream = os.fdopen(fd, "rb")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OutsideFolder(f"{path}: not a regular file")
        if within is not None:
            opened = _opened_path(fd, path)
            root = Path(os.path.realpath(within))
            if not opened.is_relative_to(root):
                raise OutsideFolder(f"{path}: resolves to {opened}, outside {root}")
    except BaseException:
        stream.close()
        raise
    return stream, st


def _opened_path(fd: int, path: Path) -> Path:
    """The path of the file the descriptor holds (Linux: from ``/proc``; elsewhere the path's
    resolution, checked against the descriptor's device and inode)."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        resolved = Path(os.path.realpath(path))
        here, there = os.fstat(fd), os.stat(resolved)
        if (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino):
            raise OutsideFolder(f"{path}: changed while it was opened") from None
        return resolved


@dataclass(frozen=True)
class Received:
    """A submitted file, inspected from the store's copy; ``staged`` is that copy (None when
    the file was over the size limit and was not copied)."""

    inspected: Inspected
    staged: Staged | None

    def discard(self) -> None:
        if self.staged is not None:
            self.staged.discard()


def receive(
    path: Path,
    kind: EvidenceKind | str,
    store: ContentStore,
    *,
    within: Path | None = None,
    declared: Mapping[str, Any] | None = None,
    policy: EvidencePolicy = DEFAULT_POLICY,
    sandbox: DecoderSandbox | None = None,
) -> Received:
    """Open ``path`` confined to ``within``, stage its bytes in ``store`` and inspect the copy.
    The caller commits or discards :attr:`Received.staged`. Raises :class:`OutsideFolder` or
    :class:`UnreadableEvidence`."""
    kind = EvidenceKind(kind)
    stream, st = open_confined(path, within)
    with stream:
        if st.st_size > policy.size_limit(kind):
            head = stream.read(HEAD_BYTES)
            return Received(too_large(kind, st.st_size, mime_of(head), declared, policy), None)
        try:
            staged = store.stage_stream(stream)
        except OSError as exc:
            raise UnreadableEvidence(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        inspected = inspect(staged.path, kind, declared=declared, policy=policy, sandbox=sandbox)
    except BaseException:
        staged.discard()
        raise
    return Received(inspected, staged)
