"""Functions the sandbox tests send to the worker (importable there by module name)."""

from __future__ import annotations

import os
import signal
import time


def add(a: int, b: int) -> int:
    return a + b


def sleep_forever() -> None:
    while True:
        time.sleep(60)


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def raise_value_error() -> None:
    raise ValueError("bad input")


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def worker_pid() -> int:
    return os.getpid()


def not_json() -> object:
    return {1, 2, 3}


def start_host_and_hang(seconds: float) -> None:
    """Run in a host process: print the worker's pid, then wait on a call that hangs."""
    from evidence import DecoderSandbox

    box = DecoderSandbox(seconds=seconds, memory_bytes=0)
    print(box.call(worker_pid), flush=True)
    box.call(sleep_forever)


def spin(seconds: float) -> float:
    """Compute for ``seconds`` of this process's CPU time, then answer how long that was."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return time.process_time() - start
