"""A host process for the forked-worker tests: ``python -c "...fork_host import main; main(NAME)"``.

A worker is fork()ed only while its caller has one thread. The test session may have more (a
worker started by a fresh interpreter leaves its spawner thread behind), so each scenario runs
in a fresh process of its own, which prints what it saw as one JSON object. The functions
below the scenarios run in the worker (imported by this module's name: never ``-m``, which
would make them ``__main__``'s, which a fresh worker does not have).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evidence import DecoderSandbox, SandboxFailure
from evidence.sandbox import fork_workers_when_alone, shared_sandbox

GIB = 1024 * 1024 * 1024


# --- run in the worker ------------------------------------------------------------------------


def whoami() -> dict[str, Any]:
    """What the worker is: its pid, how it was started (its command line), what it holds open
    and where its standard streams go, its address-space limit and its signal handlers."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[name] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return {
        "pid": os.getpid(),
        "cmdline": Path("/proc/self/cmdline").read_bytes().decode(errors="replace"),
        "fds": fds,
        "address_space": list(resource.getrlimit(resource.RLIMIT_AS)),
        "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
        "sigint_interrupts": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
        "gc_frozen": gc.get_freeze_count() > 0,
    }


def spin(seconds: float) -> float:
    import time

    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return time.process_time() - start


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def sleep_forever() -> None:
    import time

    while True:
        time.sleep(60)


# --- the scenarios, each in a host process of its own ------------------------------------------


def _plain(result: Any) -> Any:
    if isinstance(result, SandboxFailure):
        return {"failure": result.cause, "detail": result.detail}
    return result


def _self_cmdline() -> str:
    return Path("/proc/self/cmdline").read_bytes().decode(errors="replace")


def forked() -> dict[str, Any]:
    """A worker fork()ed and cut off from its caller: a file and a socket the caller holds are
    not open in it, its standard streams are /dev/null, its limit and handlers a fresh one's."""
    signal.signal(signal.SIGTERM, lambda *_: None)  # a handler of the caller's
    held = tempfile.TemporaryFile()  # noqa: SIM115 - held open across the fork on purpose
    held_fd = held.fileno()
    box = DecoderSandbox(seconds=30, memory_bytes=GIB, fork=True)
    first = box.call(whoami)
    again = box.call(whoami)
    box.close()
    held.close()
    return {
        "host": {"pid": os.getpid(), "cmdline": _self_cmdline(), "held_fd": str(held_fd)},
        "first": first,
        "reused": again["pid"] == first["pid"],
        "reaped": not Path(f"/proc/{first['pid']}").exists(),
    }


def limits() -> dict[str, Any]:
    """The CPU budget and the memory limit stop a forked worker as they stop a fresh one."""
    box = DecoderSandbox(seconds=30, memory_bytes=GIB, fork=True)
    before = box.call(whoami)
    over_cpu = box.call(spin, 60.0, cpu_seconds=0.2)
    after_cpu = box.call(whoami)
    within = box.call(spin, 0.05, cpu_seconds=0.5)
    over_memory = box.call(allocate, 2048)
    small = box.call(allocate, 16)
    crash = box.call(segfault)
    after_crash = box.call(whoami)
    box.close()
    hanging = DecoderSandbox(seconds=0.5, memory_bytes=GIB, fork=True)
    hung = hanging.call(sleep_forever)
    after_hang = hanging.call(whoami)
    hanging.close()
    return {
        "host_cmdline": _self_cmdline(),
        "before": before,
        "over_cpu": _plain(over_cpu),
        "after_cpu": after_cpu,
        "within": _plain(within),
        "over_memory": _plain(over_memory),
        "small": _plain(small),
        "crash": _plain(crash),
        "after_crash": after_crash,
        "hung": _plain(hung),
        "after_hang": after_hang,
    }


def video_budget() -> dict[str, Any]:
    """FFmpeg in a forked worker, decoding 150 frames of 720p (~0.1 s of CPU) on a budget of
    a millisecond: killed, and the verdict says so."""
    from evidence import EvidenceKind, EvidencePolicy, validate
    from tests import derive

    box = DecoderSandbox(seconds=30, memory_bytes=3 * GIB, fork=True)
    with tempfile.TemporaryDirectory() as folder:
        clip = derive.clip(Path(folder) / "clip.mp4", seconds=6, size=(1280, 720))
        thorough = EvidencePolicy(video_frames_to_decode=150)
        sound = validate(clip, EvidenceKind.VIDEO, policy=thorough, sandbox=box)
        starved = EvidencePolicy(video_frames_to_decode=150, decoder_cpu_seconds=0.001)
        verdict = validate(clip, EvidenceKind.VIDEO, policy=starved, sandbox=box)
    worker = box.call(whoami)
    box.close()
    return {
        "host_cmdline": _self_cmdline(),
        "worker": worker,
        "sound": sound.accepted,
        "reasons": [r.value for r in verdict.reasons],
        "detail": verdict.findings[0].detail if verdict.findings else None,
    }


def with_a_thread() -> dict[str, Any]:
    """Another thread is running: the worker is a fresh interpreter, even when asked to fork."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        box = DecoderSandbox(seconds=30, memory_bytes=GIB, fork=True)
        worker = box.call(whoami)
        box.close()
    finally:
        stop.set()
        other.join()
    return {"host_cmdline": _self_cmdline(), "worker": worker}


def process_wide() -> dict[str, Any]:
    """``fork_workers_when_alone`` is the default of every sandbox, the shared ones too; a
    sandbox that says ``fork=False`` keeps the fresh interpreter."""
    fork_workers_when_alone()
    shared = shared_sandbox(30, GIB).call(whoami)
    fresh = DecoderSandbox(seconds=30, memory_bytes=GIB, fork=False)
    not_forked = fresh.call(whoami)
    fresh.close()
    return {"host_cmdline": _self_cmdline(), "shared": shared, "not_forked": not_forked}


def host_and_hang() -> None:
    """Print the forked worker's pid, then wait on a call that hangs (the test kills us)."""
    box = DecoderSandbox(seconds=600, memory_bytes=GIB, fork=True)
    print(json.dumps(box.call(whoami)), flush=True)
    box.call(sleep_forever)


SCENARIOS: dict[str, Callable[[], Any]] = {
    "forked": forked,
    "limits": limits,
    "video_budget": video_budget,
    "with_a_thread": with_a_thread,
    "process_wide": process_wide,
    "host_and_hang": host_and_hang,
}


def main(scenario: str) -> None:
    answer = SCENARIOS[scenario]()
    if answer is not None:
        print(json.dumps(answer))
