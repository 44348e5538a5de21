"""The sandbox's connection to its worker (``evidence._channel``): multiprocessing's framing
over a pipe each way, and what the sandbox makes of answers too large or cut short."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection

import pytest

from evidence import DecoderSandbox, SandboxFailure
from evidence._channel import Channel
from evidence.sandbox import MAX_ANSWER_BYTES

SIZES = [0, 1, 16384, 16385, 65536 + 3, 3 * 1024 * 1024 + 1]


def answer_of(size: int) -> str:
    """Run in the worker: an answer of about ``size`` bytes."""
    return "x" * size


@pytest.fixture
def pair() -> Iterator[tuple[Channel, Connection]]:
    """A Channel on one end of a socket pair, multiprocessing's Connection on the other."""
    ours, theirs = socket.socketpair()
    fd = ours.detach()
    channel = Channel(os.dup(fd), fd)
    connection = Connection(theirs.detach())
    yield channel, connection
    channel.close()
    connection.close()


@pytest.mark.parametrize("size", SIZES)
def test_messages_are_framed_as_multiprocessing_frames_them(
    pair: tuple[Channel, Connection], size: int
) -> None:
    channel, connection = pair
    message = os.urandom(size)
    # both ways at once: a message over the socket's buffer blocks its writer until read
    sent = threading.Thread(target=channel.send_bytes, args=(message,))
    sent.start()
    assert connection.recv_bytes() == message
    sent.join()
    sent = threading.Thread(target=connection.send_bytes, args=(message,))
    sent.start()
    assert channel.recv_bytes() == message
    sent.join()
    channel.send((answer_of, (size,), None))
    assert connection.recv() == (answer_of, (size,), None)


def test_a_message_over_the_limit_is_refused_unread(pair: tuple[Channel, Connection]) -> None:
    channel, connection = pair
    connection.send_bytes(b"12345")
    with pytest.raises(OSError, match="bad message length"):
        channel.recv_bytes(4)


def test_the_other_end_closing(pair: tuple[Channel, Connection]) -> None:
    channel, connection = pair
    assert not channel.poll(0.01)
    connection.close()
    assert channel.poll(0.01)  # readable: the end of the stream
    with pytest.raises(EOFError):
        channel.recv_bytes()


def test_a_message_cut_short() -> None:
    read, write = os.pipe()
    os.write(write, (100).to_bytes(4, "big") + b"only some")
    os.close(write)
    channel = Channel(read, os.open(os.devnull, os.O_WRONLY))
    with pytest.raises(OSError, match="end of file during message"):
        channel.recv_bytes()
    channel.close()
    with pytest.raises(OSError, match="closed"):
        channel.recv_bytes()


@pytest.mark.parametrize("fork", [False, True])
def test_answers_up_to_the_limit_and_one_over_it(fork: bool) -> None:
    """``fork=True`` forks only while this process has one thread: else both are fresh."""
    box = DecoderSandbox(seconds=60, memory_bytes=0, fork=fork)
    try:
        pid = box.call(os.getpid)
        big = MAX_ANSWER_BYTES - 100  # the JSON around it: ["ok", "..."]
        assert box.call(answer_of, big) == "x" * big
        assert box.call(os.getpid) == pid  # the same worker
        over = box.call(answer_of, MAX_ANSWER_BYTES)
        assert over == SandboxFailure("crash", "the decoder process died (exit code -9)")
        assert box.call(answer_of, 3) == "xxx"  # a new worker
        assert box.call(os.getpid) != pid
    finally:
        box.close()
