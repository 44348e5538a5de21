"""Fuzzed case files, rulebooks and exported logs get only the contracted outcomes.

The contract (CASE_FORMAT.md, "Command line"): every input that is not a valid case is exit 2
with a line ``adjudicator: invalid case: <file>: <pointer>: <message>``; ``replay`` otherwise
exits 0 or 1; reading a case either returns a :class:`CaseFile` or raises
:class:`InvalidCase`, nothing else; ``rules check FILE`` exits 0 or 1 listing problems;
``replay --rulebook BAD`` exits 2 with a one-line error; ``audit verify --log FILE`` exits 0
or 1 with a verdict line, whatever the bytes. Never a Python traceback, never a hang.

Each example case file is mutated at a random JSON pointer (a value replaced by deep nesting,
odd numbers, odd strings, odd instants, a list; a key removed, added or given twice) or byte by
byte (cut short, bytes overwritten, invalid UTF-8, a BOM). Most mutations go through
``read_case`` and in-memory ``replay`` in this process; fewer through the real command in a
subprocess. The runs are derandomized (the same examples every time) and bounded by
``max_examples``; the mutations are one step each, so a failure reads as its own reproducer.

Some mutations can only give a case that is not valid (an unknown or duplicated key, a value
nested in a list, invalid UTF-8, a lone surrogate, which I-JSON (RFC 7493) forbids, an amount
in non-ASCII digits or with a trailing newline, an instant in a form RFC 3339 does not have,
at an amount or instant field): for those, being accepted is a failure too. And the published
JSON Schema (``adjudicator schema``) and the reader agree on each changed case, but for what
the reader checks beyond any schema (evidence files, time order, amounts against each other,
an instant's year, lone surrogates).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import shutil
import subprocess
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from adjudicator.casefile import CaseFile, InvalidCase, read_case
from adjudicator.cli import main
from adjudicator.replay import replay
from adjudicator.rulebook import Rulebook, RulebookError, load_rulebook
from adjudicator.schema import case_schema
from tests.e2e.cli import run
from tests.e2e.jsontext import Pairs, Pointer, Raw, dump, get, pointer_text, pointers, put, short
from tests.e2e.tracebacks import traceback_summary

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
RULEBOOKS = REPO / "adjudicator" / "rulebooks"
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.glob("*.json"))
RULEBOOK_NAMES = sorted(p.name for p in RULEBOOKS.glob("*.toml"))
# a hang is a failure, not a stuck test run: far more than any of these runs takes
HANG = 120.0

# In this process: cheap, so many examples. The command in a subprocess: fewer, and not
# shrunk (each mutation is one step already, and each run starts an interpreter).
IN_PROCESS = settings(
    max_examples=1500,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SUBPROCESS = settings(
    max_examples=5,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)

# --- what goes in --------------------------------------------------------------------------


def _text(value: str) -> str:
    """A JSON string as a person would write it: the characters themselves, in UTF-8."""
    return json.dumps(value, ensure_ascii=False)


DEEP = 100_000
# (label, JSON text, what the value can only make of a case at that field: "invalid" anywhere,
# "amount", "instant", "file", "rulebook": invalid at such a field; "any": no telling)
GENERIC: list[tuple[str, str, str]] = [
    ("nested lists 100,000 deep", "[" * DEEP + "]" * DEEP, "invalid"),
    ("nested lists 1,000 deep", "[" * 1000 + "]" * 1000, "invalid"),
    ("nested objects 100,000 deep", '{"a": ' * DEEP + "1" + "}" * DEEP, "invalid"),
    ("zero", "0", "any"),
    ("minus one", "-1", "any"),
    ("a float", "1299.5", "any"),
    ("1e308", "1e308", "any"),
    ("1e400 (inf)", "1e400", "any"),
    ("NaN", "NaN", "any"),
    ("-Infinity", "-Infinity", "any"),
    ("29 nines", "9" * 29, "any"),
    ("5,000 digits", "9" * 5000, "any"),
    ("true", "true", "any"),
    ("null", "null", "any"),
    ("empty list", "[]", "any"),
    ("empty object", "{}", "any"),
    ("empty string", '""', "any"),
    ("NUL", '"\\u0000"', "any"),
    ("NUL inside", '"KS\\u0000-1"', "any"),
    ("lone high surrogate", '"\\ud800"', "invalid"),
    ("lone low surrogate inside", '"KS-\\udc00-1"', "invalid"),
    ("5,000 characters", json.dumps("a" * 5000), "any"),
    ("a newline", '"a\\nb"', "any"),
    ("an action", '"open"', "any"),
    ("a list of an action", '["open"]', "any"),
]
AMOUNTS: list[tuple[str, str, str]] = [
    ("29 nines amount", json.dumps("9" * 29 + ".00"), "any"),
    ("negative amount", '"-1.00"', "amount"),
    ("exponent amount", '"1e3"', "amount"),
    ("three decimals", '"1.000"', "amount"),
    ("full-width digits", _text("\uff11\uff12\uff19\uff19.\uff10\uff10"), "amount"),
    ("Arabic-Indic digits", _text("\u0661\u0662\u0669\u0669.\u0660\u0660"), "amount"),
    ("trailing newline amount", '"1299.00\\n"', "amount"),
    ("leading space amount", '" 1299.00"', "amount"),
    ("a number amount", "1299.00", "amount"),
]
INSTANTS: list[tuple[str, str, str]] = [
    ("year 9999", '"9999-12-31T23:59:59+00:00"', "any"),
    ("year 9999 east", '"9999-12-31T23:00:00+08:00"', "any"),
    ("year 1 +14:00", '"0001-01-01T00:00:00+14:00"', "any"),
    ("year 1 -14:00", '"0001-01-01T00:00:00-14:00"', "any"),
    ("ISO week date", '"2026-W10-1T10:00:00+08:00"', "instant"),
    ("basic format", '"20260305T120000+0800"', "instant"),
    ("offset with seconds", '"2026-03-05T12:00:00+08:00:30"', "instant"),
    ("ordinal date", '"2026-064T12:00:00+08:00"', "instant"),
    ("hour only", '"2026-03-05T12+08:00"', "instant"),
    ("full-width instant", _text("\uff12\uff10\uff12\uff16-03-05T12:00:00+08:00"), "instant"),
    ("no offset", '"2026-03-05T12:00:00"', "instant"),
    ("a date", '"2026-03-05"', "instant"),
]
FILES: list[tuple[str, str, str]] = [
    ("absolute path", '"/etc/passwd"', "file"),
    ("parent path", '"../../../../../../etc/passwd"', "file"),
    ("/proc/self/environ", '"/proc/self/environ"', "file"),
    ("/dev/zero", '"/dev/zero"', "file"),
    ("the case folder", '"."', "file"),
    ("5,000 characters", json.dumps("a" * 5000), "any"),
    ("a newline", '"evidence/\\nx.jpg"', "any"),
    ("NUL", '"evidence/\\u0000.jpg"', "any"),
]
RULEBOOK_IDS: list[tuple[str, str, str]] = [
    ("a rulebook file", json.dumps(str(RULEBOOKS / "kuaishou.general.toml")), "rulebook"),
    ("a relative rulebook file", '"adjudicator/rulebooks/kuaishou.used_3c.toml"', "rulebook"),
    ("an unknown rulebook", '"kuaishou.nothing"', "rulebook"),
]
PAYLOADS = GENERIC + AMOUNTS + INSTANTS + FILES + RULEBOOK_IDS
SHALLOW = [p for p in PAYLOADS if "deep" not in p[0]]
AMOUNT_KEYS = {"paid_amount", "price", "requested_amount", "refund_amount"}
INSTANT_KEYS = {"at", "paid_at", "shipped_at", "signed_at", "until"}


def field_kind(at: Pointer) -> str:
    """What the case format makes of the field at ``at``: an amount, an instant, an evidence
    file, the rulebook id, or something else ("any")."""
    if not at or not isinstance(at[-1], str):
        return "any"
    key = at[-1]
    if key in AMOUNT_KEYS and at[0] != "expected":  # /expected is compared as text
        return "amount"
    # the case's own instants (a submitter's declared ones are evidence findings)
    top_level = len(at) == 1
    if key in INSTANT_KEYS and (top_level or at[0] == "order" or len(at) == 3):
        return "instant"
    if key == "file":
        return "file"
    if key == "rulebook" and top_level:
        return "rulebook"
    return "any"


TYPED = {"amount": AMOUNTS, "instant": INSTANTS, "file": FILES, "rulebook": RULEBOOK_IDS}


class Mutation:
    """A mutated case file: its bytes, and what was done to which example (its repr, which is
    what a failure shows)."""

    def __init__(self, example: str, what: str, at: str, data: bytes, must_be_invalid: bool):
        self.example, self.what, self.at = example, what, at
        self.data, self.must_be_invalid = data, must_be_invalid

    def __repr__(self) -> str:
        invalid = ", only invalid" if self.must_be_invalid else ""
        return f"<{self.example} {self.at or '(root)'}: {self.what}{invalid}>"


def _load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text("utf-8"))


@st.composite
def changed_values(draw: st.DrawFn) -> Mutation:
    """One change at one JSON pointer of one example: a value replaced or put in a list, a key
    or an item removed, an unknown key added."""
    name = draw(st.sampled_from(EXAMPLE_NAMES))
    doc = _load(name)
    at = draw(st.sampled_from(list(pointers(doc))))
    where = pointer_text(at)
    value = get(doc, at)
    ops = ["replace", "replace", "wrap"]
    if at:
        ops.append("remove")
    if isinstance(value, dict):
        ops.append("add")
    op = draw(st.sampled_from(ops))
    if op == "replace":
        kind = field_kind(at)
        # half the time a value made for that kind of field, so that the odd ones meet it
        pool = draw(st.sampled_from([TYPED[kind], PAYLOADS])) if kind in TYPED else PAYLOADS
        label, text, effect = draw(st.sampled_from(pool))
        invalid = effect == "invalid" or (effect != "any" and effect == kind)
        return Mutation(name, label, where, dump(put(doc, at, Raw(text))).encode(), invalid)
    if op == "wrap":
        return Mutation(name, "put in a list", where, dump(put(doc, at, [value])).encode(), True)
    if op == "add":
        changed = {**value, "x_fuzz": 1}
        return Mutation(
            name, "unknown key added", where, dump(put(doc, at, changed)).encode(), True
        )
    parent_at, key = at[:-1], at[-1]
    parent = get(doc, parent_at)
    if isinstance(parent, dict):
        smaller: Any = {k: v for k, v in parent.items() if k != key}
    else:
        smaller = [v for i, v in enumerate(parent) if i != key]
    return Mutation(name, "removed", where, dump(put(doc, parent_at, smaller)).encode(), False)


@st.composite
def duplicated_keys(draw: st.DrawFn) -> Mutation:
    """A key of one object of one example twice, once with another value, once as it was, in
    either order (what ``json.loads`` reads as the last one)."""
    name = draw(st.sampled_from(EXAMPLE_NAMES))
    doc = _load(name)
    at = draw(st.sampled_from([p for p in pointers(doc) if p and isinstance(p[-1], str)]))
    where = pointer_text(at)
    parent_at, key = at[:-1], at[-1]
    parent = get(doc, parent_at)
    kind = field_kind(at)
    pool = draw(st.sampled_from([TYPED[kind], SHALLOW])) if kind in TYPED else SHALLOW
    label, text, _ = draw(st.sampled_from(pool))
    first = draw(st.booleans())
    items: list[tuple[str, Any]] = []
    for k, v in parent.items():
        if k == key:
            items += [(k, Raw(text)), (k, v)] if first else [(k, v), (k, Raw(text))]
        else:
            items.append((k, v))
    data = dump(put(doc, parent_at, Pairs(tuple(items)))).encode()
    order = "before" if first else "after"
    return Mutation(name, f"key twice, {label} {order} the original", where, data, True)


INVALID_UTF8 = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe4\xb8", b"\x80"]


@st.composite
def byte_level(draw: st.DrawFn) -> Mutation:
    """The raw bytes of one example: cut short, overwritten, not UTF-8, with a BOM."""
    name = draw(st.sampled_from(EXAMPLE_NAMES))
    data = (EXAMPLES / name).read_bytes()
    op = draw(st.sampled_from(["truncate", "overwrite", "invalid-utf8", "bom", "utf16"]))
    if op == "truncate":
        at = draw(st.integers(0, len(data) - 1))
        return Mutation(name, f"cut after {at} bytes", "", data[:at], at < len(data.rstrip()))
    if op == "overwrite":
        at = draw(st.integers(0, len(data) - 1))
        new = draw(st.binary(min_size=1, max_size=4))
        return Mutation(name, f"bytes {new!r} at {at}", "", data[:at] + new + data[at + 1 :], False)
    if op == "invalid-utf8":
        at = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from(INVALID_UTF8))
        return Mutation(name, f"{bad!r} at byte {at}", "", data[:at] + bad + data[at:], True)
    if op == "bom":
        return Mutation(name, "a UTF-8 BOM", "", b"\xef\xbb\xbf" + data, False)
    text = data.decode("utf-8")
    return Mutation(name, "UTF-16", "", text.encode("utf-16"), True)


mutations = st.one_of(changed_values(), duplicated_keys(), byte_level())

# --- where the mutated files go ------------------------------------------------------------


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/cases (the evidence beside it), for mutated cases to sit in."""
    folder = tmp_path_factory.mktemp("fuzz") / "cases"
    shutil.copytree(EXAMPLES, folder)
    return folder


class Out:
    """A text stream like the command's real ones: UTF-8, strict, so that what cannot be
    written fails as it would on a terminal or a pipe."""

    def __init__(self) -> None:
        self.raw = io.BytesIO()
        self.stream = io.TextIOWrapper(self.raw, encoding="utf-8", errors="strict")

    def text(self) -> str:
        self.stream.flush()
        return self.raw.getvalue().decode("utf-8")


def where(exc: BaseException) -> str:
    """Where ``exc`` was raised: the innermost frame of the project's code, then the frame
    that raised it when that is elsewhere (the standard library)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if _ours(f.filename)]
    shown: list[str] = []
    for frame in ours[-1:] + frames[-1:]:
        name = Path(frame.filename)
        place = f"{name.relative_to(REPO) if _ours(frame.filename) else name.name}:{frame.lineno}"
        text = f"{place} ({frame.line})"
        if text not in shown:
            shown.append(text)
    return " -> ".join(shown)


def _ours(filename: str) -> bool:
    path = Path(filename)
    return path.is_relative_to(REPO) and not path.is_relative_to(REPO / "tests")


@contextlib.contextmanager
def only(
    contracted: tuple[type[BaseException], ...], doing: str, subject: object
) -> Iterator[None]:
    """Let the contracted exceptions through; any other fails the test in a few lines that say
    what was raised where and for what input (and not in a screenful of nested brackets).
    Hypothesis still tells failures apart by the exception underneath (its context)."""
    try:
        yield
    except contracted:
        raise
    except Exception as exc:
        message = short(str(exc), 160)
        raise AssertionError(
            f"{doing} raised {type(exc).__name__} ({message}) at {where(exc)}, for {subject!r}"
        ) from None


def in_process(*argv: str, subject: object = None) -> tuple[int, str, str]:
    """``adjudicator ARGV`` in this process: its exit status, stdout and stderr. An exception
    that escapes ``main`` is what the installed command prints as a traceback: it fails the
    test."""
    out, err = Out(), Out()
    shown = " ".join(a if len(a) < 80 else "..." + a[-40:] for a in argv)
    with (
        only((), f"adjudicator {shown} (a traceback)", subject),
        contextlib.redirect_stdout(out.stream),
        contextlib.redirect_stderr(err.stream),
    ):
        code = main(list(argv))
    return code, out.text(), err.text()


def command(*argv: str) -> subprocess.CompletedProcess[str]:
    try:
        return run(*argv, timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail(f"adjudicator {' '.join(argv)[:300]} did not finish: a hang")


def no_traceback(done: subprocess.CompletedProcess[str], subject: object) -> None:
    """The command ended with one of its exit statuses, and without a Python traceback (shown
    here as its last line and the innermost frame of the project's code)."""
    if "Traceback (most recent call last)" in done.stderr:
        exception, inner = traceback_summary(done.stderr)
        raise AssertionError(f"a traceback, {exception} ({inner}), for {subject!r}")
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr[-2000:], subject)


# --- case files ----------------------------------------------------------------------------


def read_and_replay(cases: Path, mutation: Mutation) -> None:
    """``read_case`` gives a CaseFile or raises InvalidCase, then so does ``replay``, and the
    output line can be written; a case that can only be invalid is not accepted."""
    path = cases / "mutated.json"
    path.write_bytes(mutation.data)
    invalid: InvalidCase | None = None
    try:
        with only((InvalidCase,), "read_case", mutation):
            case = read_case(path)
        assert isinstance(case, CaseFile)
        with only((InvalidCase,), "replay", mutation):
            replayed = replay(case)
            # what the command then writes, on a stream like the real one (UTF-8, strict)
            Out().stream.write(json.dumps(replayed.output, ensure_ascii=False) + "\n")
    except InvalidCase as exc:
        invalid = exc
    if invalid is None:
        assert not mutation.must_be_invalid, f"accepted, though not a valid case: {mutation!r}"
        return
    # what the command prints for it: one line that names the file and a JSON pointer
    line = f"adjudicator: invalid case: {invalid}"
    assert "\n" not in line, f"not one line: {line[:300]!r}, for {mutation!r}"
    assert "\r" not in line, f"not one line: {line[:300]!r}, for {mutation!r}"
    assert invalid.file == str(path)
    assert invalid.pointer == "" or invalid.pointer.startswith("/"), invalid.pointer
    assert invalid.message


@IN_PROCESS
@given(mutation=changed_values())
def test_a_case_with_a_changed_value_replays_or_is_invalid(cases: Path, mutation: Mutation) -> None:
    read_and_replay(cases, mutation)


@settings(IN_PROCESS, max_examples=400)
@given(mutation=duplicated_keys())
def test_a_case_with_a_key_twice_is_invalid(cases: Path, mutation: Mutation) -> None:
    read_and_replay(cases, mutation)


@settings(IN_PROCESS, max_examples=400)
@given(mutation=byte_level())
def test_a_case_with_changed_bytes_replays_or_is_invalid(cases: Path, mutation: Mutation) -> None:
    read_and_replay(cases, mutation)


def _whole_text_pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[jsonschema.ValidationError]:
    """``pattern`` as JSON Schema means it (ECMA-262): ``$`` is the end of the text, where
    Python's ``re`` also lets it match before a final newline."""
    if isinstance(instance, str) and not re.search(re.sub(r"\$$", r"\\Z", pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


SCHEMA = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _whole_text_pattern}
)(case_schema())
# what the reader refuses beyond the schema (docs/case-files.md): evidence files, time order,
# the requested amount, an instant's year or date (said as the schema's pattern is), and
# lone surrogates (I-JSON)
BEYOND_THE_SCHEMA = (
    "no such file",
    "not a regular file",
    "leaves the case file's folder",
    "must be a path relative",
    "has a path component",
    "is before the event above it",
    "is more than the paid amount",
    "must be an RFC 3339 time",
)


@settings(IN_PROCESS, max_examples=600)
@given(mutation=changed_values())
def test_the_schema_and_the_reader_agree_on_a_changed_case(cases: Path, mutation: Mutation) -> None:
    """A case the published schema refuses, the reader refuses; one the reader refuses, the
    schema refuses too, unless for what the schema cannot say."""
    path = cases / "agreed.json"
    path.write_bytes(mutation.data)
    refused: InvalidCase | None = None
    try:
        with only((InvalidCase,), "read_case", mutation):
            read_case(path)
    except InvalidCase as exc:
        refused = exc
    try:
        doc = json.loads(mutation.data)
    except (ValueError, RecursionError):
        assert refused is not None, f"not JSON, yet read: {mutation!r}"
        return
    schema_refuses = next(SCHEMA.iter_errors(doc), None) is not None
    if refused is None:
        assert not schema_refuses, f"read, but the schema refuses it: {mutation!r}"
    elif not schema_refuses:
        beyond = refused.message.startswith(BEYOND_THE_SCHEMA) or "\\ud" in mutation.data.decode(
            "utf-8", "replace"
        )
        assert beyond, f"refused ({refused}), but the schema allows it: {mutation!r}"


_LINE = re.compile(r"^adjudicator: invalid case: (?P<rest>.*)$")
_NUMBERS = itertools.count(1)


@SUBPROCESS
@given(
    batch=st.lists(mutations, min_size=1, max_size=4),
    as_json=st.booleans(),
    into_db=st.booleans(),
)
def test_the_command_replays_mutated_cases_or_names_them_invalid(
    cases: Path, batch: list[Mutation], as_json: bool, into_db: bool
) -> None:
    """In memory or into a fresh SQLite database (where two cases with one case_id are also
    an invalid case: the second is already in the database)."""
    number = next(_NUMBERS)
    files = []
    for index, mutation in enumerate(batch):
        path = cases / f"cli-{number}-{index}.json"
        path.write_bytes(mutation.data)
        files.append(str(path))
    options = ["--json"] if as_json else []
    if into_db:
        options += ["--db", f"sqlite:///{cases.parent / f'cli-{number}.db'}"]
    done = command("replay", *files, *options)
    no_traceback(done, batch)
    named: list[str] = []
    for line in done.stderr.splitlines():
        found = _LINE.match(line)
        assert found, f"not an invalid-case line on stderr: {line[:500]!r}"
        file = next((f for f in files if found["rest"].startswith(f"{f}: /")), None)
        assert file is not None, f"names none of the files with a pointer: {line[:500]!r}"
        named.append(file)
    assert (done.returncode == 2) == bool(named), done.stderr[-2000:]
    for mutation, file in zip(batch, files, strict=True):
        if mutation.must_be_invalid:
            assert file in named, f"accepted, though not a valid case: {mutation!r}"
    # the other cases were still replayed and reported
    results = done.stdout.splitlines()
    if as_json:
        assert len(results) + len(named) == len(files), done.stdout[-2000:]
    else:
        assert results[-1].startswith(f"{len(files)} case(s): {len(files) - len(named)} replayed")


# --- rulebooks -----------------------------------------------------------------------------

TOML_VALUES: list[tuple[str, str]] = [
    ("a negative number", "-1"),
    ("zero", "0"),
    ("a huge number", "9" * 30),
    ("2**63", str(2**63)),
    ("1e308", "1e308"),
    ("inf", "inf"),
    ("nan", "nan"),
    ("a tiny float", "1e-300"),
    ("a float", "0.5"),
    ("true", "true"),
    ("a string", '"x"'),
    ("an empty string", '""'),
    ("an unknown zone", '"Mars/Olympus_Mons"'),
    ("a zone path", '"../../../../etc/passwd"'),
    ("an empty list", "[]"),
    ("a list of numbers", "[1, 2]"),
    ("a list of lists", "[[1], [2]]"),
    ("a table", "{ a = 1 }"),
    ("a date-time", "1979-05-27T07:32:00Z"),
    ("a local date", "1979-05-27"),
    ("a decimal of 29 nines", '"' + "9" * 29 + '"'),
    ("a negative decimal", '"-0.5"'),
    ("a decimal of NaN", '"NaN"'),
    ("a decimal of Infinity", '"Infinity"'),
    ("a lone surrogate escape", '"\\ud800"'),
    ("a NUL", '"\\u0000"'),
]
_ASSIGNMENT = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*) = (?P<value>.*)$")


class RulebookMutation:
    def __init__(self, source: str, what: str, data: bytes) -> None:
        self.source, self.what, self.data = source, what, data

    def __repr__(self) -> str:
        return f"<{self.source}: {self.what}>"


@st.composite
def rulebook_mutations(draw: st.DrawFn) -> RulebookMutation:
    name = draw(st.sampled_from(RULEBOOK_NAMES))
    raw = (RULEBOOKS / name).read_bytes()
    lines = raw.decode("utf-8").split("\n")
    assignments = [i for i, line in enumerate(lines) if _ASSIGNMENT.match(line)]
    op = draw(st.sampled_from(["value", "value", "value", "remove", "garbage", "truncate"]))
    if op in ("value", "remove"):
        index = draw(st.sampled_from(assignments))
        found = _ASSIGNMENT.match(lines[index])
        assert found
        if op == "remove":
            what = f"line {index + 1} ({found['key']}) removed"
            changed = lines[:index] + lines[index + 1 :]
        else:
            label, value = draw(st.sampled_from(TOML_VALUES))
            what = f"line {index + 1}: {found['key']} = {label}"
            changed = [*lines[:index], f"{found['key']} = {value}", *lines[index + 1 :]]
        return RulebookMutation(name, what, "\n".join(changed).encode())
    at = draw(st.integers(0, len(raw) - 1))
    if op == "truncate":
        return RulebookMutation(name, f"cut after {at} bytes", raw[:at])
    junk = draw(st.binary(min_size=1, max_size=8))
    return RulebookMutation(name, f"bytes {junk!r} at {at}", raw[:at] + junk + raw[at + 1 :])


# the examples that reach a decision, an agreement, a finding and an appeal under a rulebook
UNDER_RULEBOOK = ["KS-2026-000123.json", "KS-EX-0009.json", "KS-EX-0013.json", "KS-EX-0018.json"]


@settings(IN_PROCESS, max_examples=200)
@given(mutation=rulebook_mutations())
def test_a_mutated_rulebook_loads_or_is_refused_in_one_line(
    cases: Path, mutation: RulebookMutation
) -> None:
    path = cases.parent / "mutated.toml"
    path.write_bytes(mutation.data)
    refused: RulebookError | None = None
    try:
        with only((RulebookError,), "load_rulebook", mutation):
            book = load_rulebook(path)
    except RulebookError as exc:
        refused = exc
    if refused is not None:
        assert refused.problems
        code, out, _ = in_process("rules", "check", str(path), subject=mutation)
        assert code == 1
        assert out.strip(), "no problem listed"
        case = str(cases / "KS-EX-0013.json")
        code, out, err = in_process("replay", "--rulebook", str(path), case, subject=mutation)
        assert code == 2, (out, err)
        assert err.startswith("adjudicator: "), err
        assert err.count("\n") == 1, f"not one line: {err[:1000]!r}, for {mutation!r}"
        return
    assert isinstance(book, Rulebook)
    code, out, _ = in_process("rules", "check", str(path), subject=mutation)
    assert code == 0, out
    examples = [str(cases / name) for name in UNDER_RULEBOOK]
    code, _, err = in_process("replay", "--rulebook", str(path), *examples, subject=mutation)
    assert code in (0, 1, 2), err


@settings(SUBPROCESS, max_examples=3)
@given(mutation=rulebook_mutations())
def test_the_command_checks_a_mutated_rulebook(cases: Path, mutation: RulebookMutation) -> None:
    path = cases.parent / "cli-mutated.toml"
    path.write_bytes(mutation.data)
    checked = command("rules", "check", str(path))
    no_traceback(checked, mutation)
    assert checked.returncode in (0, 1)
    assert checked.stdout.strip(), "no verdict and no problems listed"
    replayed = command("replay", "--rulebook", str(path), str(cases / "KS-2026-000123.json"))
    no_traceback(replayed, mutation)
    if checked.returncode == 1:
        assert replayed.returncode == 2
        assert replayed.stderr.count("\n") == 1, f"not one line: {replayed.stderr[:1000]!r}"


# --- exported decision logs ----------------------------------------------------------------


class Exported:
    """An exported decision log (its repr is short: hypothesis shows it with each failure)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<the examples' exported log, {len(self.data.splitlines())} entries>"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """The decision log of every example, replayed into SQLite and exported."""
    folder = tmp_path_factory.mktemp("log")
    url = f"sqlite:///{folder / 'disputes.db'}"
    done = command("replay", "--db", url, str(EXAMPLES))
    assert done.returncode == 0, done.stderr
    log = command("audit", "export", "--db", url)
    assert log.returncode == 0, log.stderr
    assert len(log.stdout.splitlines()) > 50
    return Exported(log.stdout.encode("utf-8"))


class LogMutation:
    def __init__(self, what: str, data: bytes, edited: bool) -> None:
        # edited: the entries now differ, other than by losing a tail
        self.what, self.data, self.edited = what, data, edited

    def __repr__(self) -> str:
        return f"<log: {self.what}>"


def _entries(data: bytes) -> list[Any] | None:
    try:
        return [json.loads(line) for line in data.decode("utf-8").splitlines()]
    except (ValueError, RecursionError):
        return None


@st.composite
def log_mutations(draw: st.DrawFn, original: bytes) -> LogMutation:
    lines = original.split(b"\n")[:-1]
    op = draw(
        st.sampled_from(["value", "value", "delete", "swap", "copy", "bytes", "utf8", "cut", "bom"])
    )
    index = draw(st.integers(0, len(lines) - 1))
    if op == "value":
        entry = json.loads(lines[index])
        field = draw(st.sampled_from(list(pointers(entry))[1:]))
        label, text, _ = draw(st.sampled_from(PAYLOADS))
        new = dump(put(entry, field, Raw(text))).encode()
        what = f"entry {index + 1} {pointer_text(field)}: {label}"
        changed = [*lines[:index], new, *lines[index + 1 :]]
    elif op == "delete":
        what, changed = f"entry {index + 1} deleted", lines[:index] + lines[index + 1 :]
    elif op == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        changed = list(lines)
        changed[index], changed[other] = changed[other], changed[index]
        what = f"entries {index + 1} and {other + 1} swapped"
    elif op == "copy":
        what, changed = f"entry {index + 1} twice", [*lines[: index + 1], *lines[index:]]
    else:
        data = b"\n".join(lines) + b"\n"
        byte = draw(st.integers(0, len(data) - 1))
        if op == "bytes":
            junk = draw(st.binary(min_size=1, max_size=8))
            mutated, what = data[:byte] + junk + data[byte + 1 :], f"bytes {junk!r} at {byte}"
        elif op == "utf8":
            bad = draw(st.sampled_from(INVALID_UTF8))
            mutated, what = data[:byte] + bad + data[byte:], f"{bad!r} at byte {byte}"
        elif op == "cut":
            mutated, what = data[:byte], f"cut after {byte} bytes"
        else:
            mutated, what = b"\xef\xbb\xbf" + data, "a UTF-8 BOM"
        return LogMutation(what, mutated, False)
    data = b"\n".join(changed) + b"\n"
    before, after = _entries(original), _entries(data)
    assert before is not None
    edited = after is None or after != before[: len(after)]
    return LogMutation(what, data, edited)


def is_verdict(out: str, file: str, code: int) -> bool:
    """``audit verify``'s answer: one ``intact`` line (exit 0), or a ``broken at`` line per
    problem and a last ``broken`` summary (exit 1)."""
    name = re.escape(file)
    lines = out.splitlines()
    if code == 0:
        return (
            len(lines) == 1 and re.match(rf"{name}: intact \(\d+ entries\)", lines[0]) is not None
        )
    summary = rf"{name}: broken \(\d+ problem\(s\); read \d+ entries\)"
    return (
        len(lines) >= 2
        and all(re.fullmatch(rf"{name}: broken at .+?: .+", line) for line in lines[:-1])
        and re.fullmatch(summary, lines[-1]) is not None
    )


@settings(IN_PROCESS, max_examples=300)
@given(data=st.data())
def test_a_mutated_log_gets_a_verdict(cases: Path, exported: Exported, data: st.DataObject) -> None:
    mutation = data.draw(log_mutations(exported.data))
    path = cases.parent / "mutated.jsonl"
    path.write_bytes(mutation.data)
    code, out, err = in_process("audit", "verify", "--log", str(path), subject=mutation)
    assert code in (0, 1), err
    assert is_verdict(out, str(path), code), f"not a verdict: {out[:1000]!r}, for {mutation!r}"
    if mutation.edited:
        assert code == 1, f"an edited log verified as intact: {mutation!r}"


@settings(SUBPROCESS, max_examples=3)
@given(data=st.data())
def test_the_command_verifies_a_mutated_log(
    cases: Path, exported: Exported, data: st.DataObject
) -> None:
    mutation = data.draw(log_mutations(exported.data))
    path = cases.parent / "cli-mutated.jsonl"
    path.write_bytes(mutation.data)
    done = command("audit", "verify", "--log", str(path))
    no_traceback(done, mutation)
    assert done.returncode in (0, 1)
    assert is_verdict(done.stdout, str(path), done.returncode), done.stdout[:1000]
