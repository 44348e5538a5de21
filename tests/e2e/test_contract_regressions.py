"""The inputs named in the case-file contract's issue, each run through the real command.

Every input that is not a valid case is exit 2 with a line
``adjudicator: invalid case: <file>: <pointer>: <message>`` naming the JSON pointer of the bad
field; limits on every string, number, date range and nesting depth; evidence files inside the
case file's folder; a case's ``rulebook`` an id, never a path; ``rules check`` exit 0 or 1 with
the problems listed; ``replay --rulebook BAD`` exit 2 in one line; ``audit verify --log`` exit
0 or 1 with a verdict, whatever the bytes; an operational failure (disk full, database
unavailable) exit 3 in one line. Never a Python traceback, never a hang.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adjudicator.cli import main
from tests.e2e.cli import run
from tests.e2e.jsontext import Pairs, Raw, dump
from tests.e2e.tracebacks import traceback_summary

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
GENERAL = REPO / "adjudicator" / "rulebooks" / "kuaishou.general.toml"
USED_3C = REPO / "adjudicator" / "rulebooks" / "kuaishou.used_3c.toml"
# a hang fails the test instead of stopping the run: far more than any of these runs takes
HANG = 30.0
BUYER_VIDEO = "/events/3/evidence/0/file"  # KS-2026-000123's first evidence file


def command(*argv: str) -> subprocess.CompletedProcess[str]:
    try:
        return run(*argv, timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail(f"adjudicator {' '.join(argv)[:300]} did not finish: a hang")


def here(*argv: str) -> subprocess.CompletedProcess[str]:
    """``adjudicator ARGV`` run by ``main`` in this process (a process start costs a second,
    and these are many): what escapes ``main`` is written as the traceback the installed
    command would print. Only for inputs that cannot block (no FIFOs or devices)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except Exception:
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess(["adjudicator", *argv], code, out.getvalue(), err.getvalue())


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    """No Python traceback; when there is one, its last line and innermost project frame."""
    if "Traceback (most recent call last)" in done.stderr:
        exception, inner = traceback_summary(done.stderr)
        pytest.fail(f"exit {done.returncode} with a traceback: {exception} ({inner})")


def pointer_named(done: subprocess.CompletedProcess[str], file: Path) -> str:
    """Exit 2 and a line ``adjudicator: invalid case: FILE: POINTER: MESSAGE``: the pointer."""
    no_traceback(done)
    if done.returncode in (0, 1):
        pytest.fail(f"accepted and replayed (exit {done.returncode}): {done.stdout[-300:]!r}")
    assert done.returncode == 2, (done.returncode, done.stderr[-1000:])
    head = f"adjudicator: invalid case: {file}: "
    lines = [line for line in done.stderr.splitlines() if line.startswith(head)]
    assert lines, f"no line names {file}: {done.stderr[-1000:]!r}"
    pointer, _, message = lines[0][len(head) :].partition(": ")
    assert pointer.startswith("/"), lines[0]
    assert message, lines[0]
    return pointer


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    """A copy of examples/cases, its evidence beside it, for changed cases to sit in."""
    folder = tmp_path / "cases"
    shutil.copytree(EXAMPLES, folder)
    return folder


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    return data


def write(folder: Path, case: Any, name: str = "changed.json") -> Path:
    path = folder / name
    path.write_text(dump(case), "utf-8")
    return path


# --- case files that end in a traceback today ------------------------------------------------

DEEP = 100_000
TOO_BIG = "9" * 29 + ".00"


def _in_year_9999(case: dict[str, Any]) -> None:
    # KS-EX-0006 (not shipped, never signed for): every event on the last day of 9999, so
    # that the first deadline (answer within 24 hours of opening) is past the year 9999
    for hour, event in enumerate(case["events"], start=10):
        event["at"] = f"9999-12-31T{hour}:00:00+08:00"


CRASHES: list[tuple[str, str, Callable[[dict[str, Any]], Any], tuple[str, ...]]] = [
    # (id, example, change, the pointers the error may name)
    (
        "nesting-100000-deep",
        "KS-2026-000123",
        lambda c: c["claim"].update(description=Raw("[" * DEEP + "]" * DEEP)),
        ("/", "/claim/description"),
    ),
    ("events-in-year-9999", "KS-EX-0006", _in_year_9999, ("/events/0/at", "/events/0")),
    (
        "event-at-year-1-plus-14",
        "KS-EX-0013",
        lambda c: c["events"][0].update(at="0001-01-01T00:00:00+14:00"),
        ("/events/0/at", "/events/0"),
    ),
    (
        "signed-at-year-1-plus-14",
        "KS-EX-0013",
        lambda c: c["order"].update(signed_at="0001-01-01T00:00:00+14:00"),
        ("/order/signed_at",),
    ),
    (
        "signed-at-end-of-9999",
        "KS-EX-0011",
        lambda c: c["order"].update(signed_at="9999-12-31T23:00:00+08:00"),
        ("/order/signed_at",),
    ),
    (
        "action-empty-list",
        "KS-2026-000123",
        lambda c: c["events"][1].update(action=[]),
        ("/events/1/action",),
    ),
    (
        "evidence-file-name-5000-characters",
        "KS-2026-000123",
        lambda c: c["events"][3]["evidence"][0].update(file="a" * 5000),
        (BUYER_VIDEO,),
    ),
    (
        "case-id-lone-surrogate",
        "KS-2026-000123",
        lambda c: c.update(case_id=Raw('"\\ud800"')),
        ("/case_id",),
    ),
    (
        "reason-lone-surrogate",
        "KS-2026-000123",
        lambda c: c["events"][1].update(reason=Raw('"\\udc00"')),
        ("/events/1/reason",),
    ),
    (
        "paid-amount-29-nines",
        "KS-EX-0013",
        lambda c: c["order"].update(paid_amount=TOO_BIG),
        ("/order/paid_amount",),
    ),
    (
        "decided-refund-29-nines",
        "KS-EX-0017",
        lambda c: c["events"][6].update(refund_amount=TOO_BIG),
        ("/events/6/refund_amount",),
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "pointers"),
    [pytest.param(name, change, pointers, id=id_) for id_, name, change, pointers in CRASHES],
)
def test_an_input_that_ends_in_a_traceback_today_is_an_invalid_case(
    cases: Path, name: str, change: Callable[[dict[str, Any]], Any], pointers: tuple[str, ...]
) -> None:
    case = example(name)
    change(case)
    path = write(cases, case)
    pointer = pointer_named(here("replay", str(path)), path)
    assert pointer in pointers or any(pointer.startswith(f"{p}/") for p in pointers[1:]), pointer


# --- case files accepted today that are not valid --------------------------------------------


def _twice(key: str, first: Any) -> Callable[[dict[str, Any]], Pairs]:
    """The case with ``key`` twice: first ``first``, then the value it had (which
    ``json.loads`` keeps)."""

    def change(case: dict[str, Any]) -> Pairs:
        items: list[tuple[str, Any]] = []
        for k, v in case.items():
            items += [(k, first), (k, v)] if k == key else [(k, v)]
        return Pairs(tuple(items))

    return change


def _order_twice(case: dict[str, Any]) -> dict[str, Any]:
    items: list[tuple[str, Any]] = []
    for k, v in case["order"].items():
        items += [(k, "1.00"), (k, v)] if k == "paid_amount" else [(k, v)]
    return {**case, "order": Pairs(tuple(items))}


def _set(pointer: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *path, last = [int(p) if p.isdigit() else p for p in pointer.split("/")[1:]]

    def change(case: dict[str, Any]) -> None:
        target: Any = case
        for step in path:
            target = target[step]
        target[last] = value

    return change


ACCEPTED: list[tuple[str, str, Callable[[dict[str, Any]], Any], str]] = [
    # (id, example, change (its result, when not None, is the case), the pointer)
    ("case-id-twice", "KS-2026-000123", _twice("case_id", "KS-OTHER"), "/case_id"),
    ("paid-amount-twice", "KS-2026-000123", _order_twice, "/order/paid_amount"),
    (
        "amount-arabic-indic-digits",
        "KS-2026-000123",
        _set("/order/paid_amount", "\u0661\u0662\u0669\u0669.\u0660\u0660"),
        "/order/paid_amount",
    ),
    (
        "amount-full-width-digits",
        "KS-2026-000123",
        _set("/order/paid_amount", "\uff11\uff12\uff19\uff19.\uff10\uff10"),
        "/order/paid_amount",
    ),
    (
        "amount-trailing-newline",
        "KS-2026-000123",
        _set("/order/paid_amount", "1299.00\n"),
        "/order/paid_amount",
    ),
    (
        "item-price-full-width-digits",
        "KS-2026-000123",
        _set("/order/items/0/price", "\uff11\uff12\uff19\uff19.\uff10\uff10"),
        "/order/items/0/price",
    ),
    (
        "instant-iso-week-date",
        "KS-2026-000123",
        _set("/events/0/at", "2026-W10-3T18:00:00+08:00"),
        "/events/0/at",
    ),
    (
        "instant-basic-format",
        "KS-2026-000123",
        _set("/events/2/at", "20260305T120000+0800"),
        "/events/2/at",
    ),
    (
        "instant-offset-with-seconds",
        "KS-2026-000123",
        _set("/events/2/at", "2026-03-05T12:00:00+08:00:30"),
        "/events/2/at",
    ),
    (
        "instant-hour-only",
        "KS-2026-000123",
        _set("/events/2/at", "2026-03-05T12+08:00"),
        "/events/2/at",
    ),
    (
        "shipped-at-iso-week-date",
        "KS-2026-000123",
        _set("/order/shipped_at", "2026-W10-1T09:00:00+08:00"),
        "/order/shipped_at",
    ),
    (
        "evidence-proc-self-environ",
        "KS-2026-000123",
        _set(BUYER_VIDEO, "/proc/self/environ"),
        BUYER_VIDEO,
    ),
    ("evidence-dev-zero", "KS-2026-000123", _set(BUYER_VIDEO, "/dev/zero"), BUYER_VIDEO),
    (
        "description-lone-surrogate",
        "KS-2026-000123",
        _set("/claim/description", Raw('"\\ud800"')),
        "/claim/description",
    ),
    (
        "rulebook-a-path",
        "KS-2026-000123",
        _set("/rulebook", str(USED_3C)),
        "/rulebook",
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "pointer"),
    [pytest.param(name, change, pointer, id=id_) for id_, name, change, pointer in ACCEPTED],
)
def test_an_input_accepted_today_is_an_invalid_case(
    cases: Path, name: str, change: Callable[[dict[str, Any]], Any], pointer: str
) -> None:
    case = example(name)
    changed = change(case)
    path = write(cases, case if changed is None else changed)
    assert pointer_named(command("replay", str(path)), path) == pointer


def test_a_lone_surrogate_is_an_invalid_case_in_a_database_too(cases: Path) -> None:
    case = example("KS-2026-000123")
    case["order"]["items"][0]["sku"] = Raw('"\\ud800"')
    path = write(cases, case)
    done = command("replay", "--db", f"sqlite:///{cases.parent / 'disputes.db'}", str(path))
    assert pointer_named(done, path) == "/order/items/0/sku"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        pytest.param(
            lambda c: c["order"].update({"x\ny": 1}), "/order/", id="unknown-key-with-newline"
        ),
        pytest.param(
            lambda c: c["events"][3]["evidence"][0].update(file="evidence/\nx.mp4"),
            BUYER_VIDEO,
            id="evidence-file-with-newline",
        ),
    ],
)
def test_an_invalid_case_is_named_in_one_line(
    cases: Path, change: Callable[[dict[str, Any]], Any], pointer: str
) -> None:
    case = example("KS-2026-000123")
    change(case)
    path = write(cases, case)
    done = here("replay", str(path))
    assert pointer_named(done, path).startswith(pointer)
    assert done.stderr.count("\n") == 1, done.stderr


def _outside(cases: Path) -> Path:
    """A regular evidence file outside the case file's folder."""
    outside = cases.parent / "outside"
    outside.mkdir(exist_ok=True)
    video = outside / "unboxing.mp4"
    shutil.copy(cases / "evidence" / "KS-2026-000123" / "buyer-unboxing.mp4", video)
    return video


def _absolute(cases: Path) -> str:
    return str(_outside(cases))


def _parent(cases: Path) -> str:
    return f"../{_outside(cases).parent.name}/unboxing.mp4"


def _symlink_out(cases: Path) -> str:
    link = cases / "evidence" / "link-out.mp4"
    link.symlink_to(_outside(cases))
    return "evidence/link-out.mp4"


def _symlinked_folder_out(cases: Path) -> str:
    link = cases / "evidence" / "elsewhere"
    link.symlink_to(_outside(cases).parent, target_is_directory=True)
    return "evidence/elsewhere/unboxing.mp4"


def _fifo(cases: Path) -> str:
    os.mkfifo(cases / "evidence" / "pipe.mp4")
    return "evidence/pipe.mp4"


def _folder(cases: Path) -> str:
    return "evidence/KS-2026-000123"


@pytest.mark.parametrize(
    "evidence",
    [_absolute, _parent, _symlink_out, _symlinked_folder_out, _fifo, _folder],
    ids=["absolute", "parent", "symlink-out", "symlinked-folder-out", "fifo", "folder"],
)
def test_an_evidence_file_must_be_a_regular_file_inside_the_case_folder(
    cases: Path, evidence: Callable[[Path], str]
) -> None:
    case = example("KS-2026-000123")
    case["events"][3]["evidence"][0]["file"] = evidence(cases)
    path = write(cases, case)
    assert pointer_named(command("replay", str(path)), path) == BUYER_VIDEO


def test_a_symlink_that_stays_inside_the_case_folder_is_followed(cases: Path) -> None:
    link = cases / "evidence" / "link-in.mp4"
    link.symlink_to(cases / "evidence" / "KS-2026-000123" / "buyer-unboxing.mp4")
    case = example("KS-2026-000123")
    case["events"][3]["evidence"][0]["file"] = "evidence/link-in.mp4"
    path = write(cases, case)
    done = command("replay", "--json", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["expected_match"] is True


def test_a_fifo_among_the_case_files_is_named_invalid_and_the_others_replayed(
    cases: Path,
) -> None:
    os.mkfifo(cases / "0-pipe.json")
    done = command("replay", "--json", str(cases))
    assert pointer_named(done, cases / "0-pipe.json") == "/"
    assert len(done.stdout.splitlines()) == len(list(EXAMPLES.glob("*.json")))


# --- rulebooks -------------------------------------------------------------------------------

GENERAL_TEXT = GENERAL.read_text("utf-8")
USED_3C_TEXT = USED_3C.read_text("utf-8")


def _general(old: str, new: str) -> bytes:
    assert old in GENERAL_TEXT
    return GENERAL_TEXT.replace(old, new, 1).encode()


def _used_3c(old: str, new: str) -> bytes:
    assert old in USED_3C_TEXT
    return USED_3C_TEXT.replace(old, new, 1).encode()


UNSOUND: list[tuple[str, bytes]] = [
    # rulebooks that cannot work: `rules check` must say so (exit 1, the problems listed)
    ("kind-a-list", _general('kind = "settings"', "kind = []")),
    ("not-utf8", GENERAL_TEXT.encode() + b"\n# \xff\xfe\n"),
    ("serial-bonus-a-word", _used_3c("serial_bonus = 1", 'serial_bonus = "x"')),
    ("serial-bonus-a-list", _used_3c("serial_bonus = 1", "serial_bonus = [1]")),
    (
        "exclusions-a-number",
        _general(
            'exclusions = ["custom_made", "perishable", "opened_digital", "periodical"]',
            "exclusions = 1",
        ),
    ),
    ("hours-infinite", _general("hours = 24", "hours = inf")),
    ("hours-nan", _general("hours = 24", "hours = nan")),
    ("days-beyond-timedelta", _general("days = 15", "days = 99999999999")),
    (
        "violation-a-datetime",
        _general('violation = "prohibited_goods"', "violation = 1979-05-27T07:32:00Z"),
    ),
    ("extends-nul", _used_3c('extends = "kuaishou.general"', 'extends = "kuaishou\\u0000"')),
    ("zone-unknown", _general('zone = "Asia/Shanghai"', 'zone = "Mars/Olympus_Mons"')),
    ("zone-not-normalized", _general('zone = "Asia/Shanghai"', 'zone = "Asia/Shanghai/"')),
    ("hours-rounding-to-zero", _general("hours = 24", "hours = 1e-300")),
    ("penalty-multiplier-nan", _general('penalty_multiplier = "3"', 'penalty_multiplier = "NaN"')),
    ("both-ratio-infinite", _general('both_ratio = "0.5"', 'both_ratio = "Infinity"')),
]


@pytest.mark.parametrize("text", [pytest.param(text, id=id_) for id_, text in UNSOUND])
def test_a_rulebook_that_cannot_work_is_not_sound_and_refused_in_one_line(
    tmp_path: Path, text: bytes
) -> None:
    path = tmp_path / "rulebook.toml"
    path.write_bytes(text)
    checked = here("rules", "check", str(path))
    no_traceback(checked)
    assert checked.returncode == 1, checked.stdout
    assert checked.stdout.strip(), "no problem listed"
    replayed = here("replay", "--rulebook", str(path), str(EXAMPLES / "KS-2026-000123.json"))
    no_traceback(replayed)
    assert replayed.returncode == 2
    assert replayed.stderr.startswith("adjudicator: ")
    assert replayed.stderr.count("\n") == 1, replayed.stderr


def test_a_rulebook_with_many_problems_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "rulebook.toml"
    path.write_text('id = "x"\nversion = "1"\nclaim_types = ["visible_defect"]\n', "utf-8")
    checked = here("rules", "check", str(path))
    assert checked.returncode == 1
    assert len(checked.stdout.splitlines()) > 1  # the problems, one a line
    replayed = here("replay", "--rulebook", str(path), str(EXAMPLES / "KS-2026-000123.json"))
    no_traceback(replayed)
    assert replayed.returncode == 2
    assert replayed.stderr.count("\n") == 1, replayed.stderr


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_general("days = 7", "days = 3000000"), id="deadline-past-year-9999"),
        pytest.param(
            _general(
                'finding = "illegal_origin"\nliability = "merchant"\n',
                'finding = "illegal_origin"\n',
            ),
            id="special-row-without-liability",
        ),
    ],
)
def test_a_rulebook_is_refused_or_replays_without_a_traceback(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "rulebook.toml"
    path.write_bytes(text)
    checked = here("rules", "check", str(path))
    no_traceback(checked)
    assert checked.returncode in (0, 1)
    replayed = here("replay", "--rulebook", str(path), str(EXAMPLES))
    no_traceback(replayed)
    assert replayed.returncode in (0, 1, 2)
    if checked.returncode == 1:
        assert replayed.returncode == 2
        assert replayed.stderr.count("\n") == 1, replayed.stderr


# --- exported logs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The examples' decision log, replayed into SQLite and exported: its lines."""
    url = f"sqlite:///{tmp_path_factory.mktemp('log') / 'disputes.db'}"
    assert command("replay", "--db", url, str(EXAMPLES)).returncode == 0
    exported = command("audit", "export", "--db", url)
    assert exported.returncode == 0, exported.stderr
    return exported.stdout.splitlines()


def _entry_with(lines: list[str], key: str, raw: str) -> bytes:
    entry = json.loads(lines[1])
    entry[key] = Raw(raw)
    return "\n".join([lines[0], dump(entry), *lines[2:]]).encode() + b"\n"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda lines: "\n".join(lines).encode() + b"\n\xff\n", id="not-utf8"),
        pytest.param(
            lambda lines: _entry_with(lines, "actor", "[" * DEEP + "]" * DEEP), id="nested"
        ),
        pytest.param(lambda lines: _entry_with(lines, "actor", '"\\ud800"'), id="lone-surrogate"),
    ],
)
def test_a_log_with_bad_bytes_is_broken_not_a_traceback(
    tmp_path: Path, log: list[str], make: Callable[[list[str]], bytes]
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(make(log))
    done = here("audit", "verify", "--log", str(path))
    no_traceback(done)
    assert done.returncode == 1
    assert re.match(rf"{re.escape(str(path))}: broken at entry \d+: .+\n", done.stdout), done.stdout


# --- operational failures --------------------------------------------------------------------

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/disputes"  # nothing listens on port 1


def operational(done: subprocess.CompletedProcess[str]) -> None:
    """Its own exit status (3), one line, no traceback."""
    no_traceback(done)
    assert done.returncode == 3, (done.returncode, done.stderr)
    assert done.stderr.startswith("adjudicator: "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["replay", "--db", UNREACHABLE, str(EXAMPLES)], id="replay"),
        pytest.param(["audit", "verify", "--db", UNREACHABLE], id="audit-verify"),
        pytest.param(["show", "KS-2026-000123", "--db", UNREACHABLE], id="show"),
    ],
)
def test_a_database_that_is_unavailable_is_exit_3_in_one_line(argv: list[str]) -> None:
    operational(command(*argv))


def test_an_sqlite_database_that_cannot_be_opened_is_exit_3_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'disputes.db'}"
    operational(command("replay", "--db", url, str(EXAMPLES)))


def test_a_full_disk_is_exit_3_in_one_line(tmp_path: Path) -> None:
    """No file may grow past 128 KiB (RLIMIT_FSIZE; Python ignores SIGXFSZ, so a write past it
    fails as on a full disk): the database fills up while the examples replay into it."""

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (128 * 1024, 128 * 1024))

    url = f"sqlite:///{tmp_path / 'disputes.db'}"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "adjudicator", "replay", "--db", url, str(EXAMPLES)],
            capture_output=True,
            text=True,
            timeout=HANG,
            check=False,
            preexec_fn=small_files,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("replay into a full disk did not finish: a hang")
    operational(done)
