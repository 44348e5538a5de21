"""The documentation says what the code does, and stays inside the repository.

docs/rules.md names every rule id of the built-in rulebooks (and only rule ids that exist),
every evidence rejection reason, the lifecycle's states and events (its state diagram too),
the deadlines, burdens, weighing, special, review and remedy rows with their values;
docs/cli.md names the exit statuses and the commands that cli.py has. The README and the docs
link only to files of the repository. Each test reads the Markdown tables it checks, so a
table that loses, gains or changes a row fails here; no process is started.
"""

from __future__ import annotations

import argparse
import ast
import re
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from adjudicator import cli
from adjudicator.decision import MANUAL, OVERRIDE
from adjudicator.domain import REMEDIES, ClaimType, Liability, Remedy
from adjudicator.lifecycle import FINAL_STATES, MACHINE, TABLE, State
from adjudicator.rulebook import BUILTIN, DEADLINES, OPTIONAL_DEADLINES, Rulebook, load_rulebook
from evidence import EvidenceKind, Reason

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
RULE_PREFIXES = ("burden", "weigh", "special", "remedy", "deadline", "scope", "review")


def _doc(name: str) -> str:
    return (DOCS / name).read_text("utf-8")


def _books() -> list[Rulebook]:
    return [load_rulebook(rulebook_id) for rulebook_id in BUILTIN]


def _cells(line: str) -> list[str]:
    """A Markdown table row's cells (``\\|`` is a bar inside a cell)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _table(text: str, *header: str) -> list[list[str]]:
    """The rows of the one table in ``text`` whose header is ``header``."""
    lines = text.splitlines()
    found = [
        i for i, line in enumerate(lines) if line.startswith("|") and _cells(line) == list(header)
    ]
    assert len(found) == 1, f"expected one table headed {header}, found {len(found)}"
    rows = []
    for line in lines[found[0] + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    assert rows, f"the table headed {header} is empty"
    return rows


def _spans(text: str) -> list[str]:
    """What ``text`` has in backticks."""
    return re.findall(r"`([^`\n]+)`", text)


def _first_span(cell: str) -> str:
    spans = _spans(cell)
    assert spans, f"no backticked name in {cell!r}"
    return spans[0]


def _by_first_span(rows: list[list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in rows:
        name = _first_span(row[0])
        assert name not in out, f"{name} is documented twice"
        out[name] = row
    return out


# --- (a) rule ids -----------------------------------------------------------------------------


def _raw_rule_ids() -> set[str]:
    """Every rule id the built-in rulebook files hold (layered: the union of the files)."""
    folder = resources.files("adjudicator") / "rulebooks"
    ids: set[str] = set()
    for rulebook_id in BUILTIN:
        data = tomllib.loads((folder / f"{rulebook_id}.toml").read_text("utf-8"))
        ids |= set(data["rules"])
    return ids


def _code_rule_ids() -> set[str]:
    """Every rule id a decision, a review or a deadline of the built-in rulebooks can cite."""
    ids = {MANUAL, OVERRIDE}
    for book in _books():
        ids |= {b.id for b in book.burdens.values()}
        ids |= {w.id for w in book.weigh}
        ids |= set(book.specials)
        ids |= {r.id for r in book.remedies.values()}
        ids |= {s.id for s in book.scopes.values()}
        ids |= {r.id for r in book.reviews}
        ids |= set(book.deadlines)
    return ids | _raw_rule_ids()  # the settings and strength rules, and any kind added later


def test_the_built_in_rulebooks_have_the_rule_kinds_this_test_knows() -> None:
    assert {"settings", "strength", MANUAL, OVERRIDE} < _code_rule_ids()
    assert {i.split(".")[0] for i in _code_rule_ids() if "." in i} >= set(RULE_PREFIXES)


def test_every_rule_id_of_the_code_is_in_rules_md() -> None:
    documented = set(_spans(_doc("rules.md")))
    missing = sorted(_code_rule_ids() - documented)
    assert not missing, f"docs/rules.md does not name these rule ids (in backticks): {missing}"


def test_every_rule_id_the_docs_name_exists() -> None:
    code = _code_rule_ids()
    prefixes = set(RULE_PREFIXES) | {i.split(".")[0] for i in code if "." in i}
    pattern = re.compile(
        rf"(?<![\w./-])(?:{'|'.join(sorted(prefixes))})\.[a-z0-9_]+(?:\.[a-z0-9_]+)*(?![\w/])"
    )
    unknown = {
        f"{path.relative_to(REPO)}: {token}"
        for path in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
        for token in pattern.findall(path.read_text("utf-8"))
        if token not in code
    }
    assert not unknown, f"the docs name rule ids no built-in rulebook has: {sorted(unknown)}"


# --- (b) evidence rejection reasons -----------------------------------------------------------


def test_the_documented_rejection_reasons_are_the_codes() -> None:
    rows = _table(_doc("rules.md"), "reason", "the item was rejected because")
    documented = [_first_span(row[0]) for row in rows]
    assert len(documented) == len(set(documented))
    assert set(documented) == {reason.value for reason in Reason}


# --- (c) exit statuses and commands -----------------------------------------------------------


def _exit_constants() -> dict[str, int]:
    return {
        name: value
        for name, value in vars(cli).items()
        if name.startswith("EXIT_") and isinstance(value, int)
    }


def test_the_documented_exit_statuses_are_the_codes() -> None:
    rows = _table(_doc("cli.md"), "status", "meaning", "examples")
    documented = [int(row[0]) for row in rows]
    assert len(documented) == len(set(documented))
    assert set(documented) == set(_exit_constants().values())


def test_cli_exits_only_through_its_named_statuses() -> None:
    """A status written as a bare number would escape the check above."""
    tree = ast.parse(Path(cli.__file__).read_text("utf-8"))
    bare = []
    for node in ast.walk(tree):
        value = None
        if isinstance(node, ast.Return):
            value = node.value
        elif isinstance(node, ast.Call) and node.args:
            name = ast.unparse(node.func)
            if name in ("sys.exit", "exit", "SystemExit") or name.endswith(".exit"):
                value = node.args[0]
        if isinstance(value, ast.Constant) and type(value.value) is int:
            bare.append(f"line {value.lineno}: {ast.unparse(node)}")
    assert not bare, f"adjudicator/cli.py exits with bare numbers: {bare}"


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= _commands(sub, f"{prefix}{name} ") or {f"{prefix}{name}"}
    return found


def test_every_command_is_documented_with_known_statuses() -> None:
    rows = _table(_doc("cli.md"), "command", "what it does", "statuses")
    statuses = set(_exit_constants().values())
    documented = set()
    for row in rows:
        words = []
        for word in _first_span(row[0]).split():
            if not re.fullmatch(r"[a-z]+", word):
                break
            words.append(word)
        documented.add(" ".join(words))
        named = {int(n) for n in re.findall(r"\b\d+\b", row[2])}
        assert named <= statuses, f"{row[0]}: statuses {sorted(named - statuses)} do not exist"
    assert documented == _commands(cli._parser())


# --- (d) the lifecycle ------------------------------------------------------------------------


def test_the_documented_states_are_the_states() -> None:
    rows = _by_first_span(_table(_doc("rules.md"), "state", "what it means", "final"))
    assert set(rows) == {state.value for state in State}
    final = {name for name, row in rows.items() if row[2] == "yes"}
    assert final == {state.value for state in FINAL_STATES}
    assert {row[2] for row in rows.values()} == {"yes", "no"}


def test_the_documented_events_are_the_lifecycle_table() -> None:
    rows = _by_first_span(_table(_doc("rules.md"), "event", "who", "from", "to", "what happens"))
    assert set(rows) == {trigger for trigger, *_ in TABLE}
    for trigger, row in rows.items():
        moves = [(sources, dest) for name, sources, dest, _ in TABLE if name == trigger]
        assert set(_spans(row[2])) == {s.value for sources, _ in moves for s in sources}, trigger
        assert set(_spans(row[3])) == {d.value for _, d in moves if d is not None}, trigger
        assert ("unchanged" in row[3]) == any(d is None for _, d in moves), trigger


def test_the_state_diagram_is_the_lifecycle_table() -> None:
    blocks = re.findall(r"```mermaid\n(.*?)```", _doc("rules.md"), re.S)
    assert len(blocks) == 1
    lines = [line.strip() for line in blocks[0].splitlines()[1:] if line.strip()]
    assert lines[0] == f"[*] --> {MACHINE.initial}"
    drawn = set()
    for line in lines[1:]:
        match = re.fullmatch(r"(\w+) --> (\w+): (\w+)(?: \((\w+)\))?", line)
        assert match, f"not a transition: {line}"
        drawn.add(match.groups())
    table = {
        (source.value, dest.value, trigger, condition)
        for trigger, sources, dest, condition in TABLE
        if dest is not None
        for source in sources
    }
    assert drawn == table


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+) (h|days)", text)
    assert match, f"not a duration: {text!r}"
    number = int(match[1])
    return timedelta(hours=number) if match[2] == "h" else timedelta(days=number)


def test_the_documented_deadlines_are_the_rulebooks() -> None:
    header = ("rule", "built-in value", "runs from", "at its end")
    rows = _by_first_span(_table(_doc("rules.md"), *header))
    assert set(rows) == {*DEADLINES, *OPTIONAL_DEADLINES}
    for book in _books():
        assert set(book.deadlines) == {*DEADLINES, *OPTIONAL_DEADLINES}
        for rule, row in rows.items():
            assert _duration(row[1]) == book.deadline(rule), f"{book.label}: {rule}"


# --- the rows of the built-in rulebooks, as documented ----------------------------------------


def test_the_documented_burdens_are_the_rulebooks() -> None:
    header = ("rule", "claim type", "burden on", "proof", "rebuttal")
    rows = _by_first_span(_table(_doc("rules.md"), *header))
    burdens = {b.id: b for book in _books() for b in book.burdens.values()}
    assert set(rows) == set(burdens)
    kinds = {kind.value for kind in EvidenceKind}
    for book in _books():
        for burden in book.burdens.values():
            row = rows[burden.id]
            assert _first_span(row[1]) == burden.claim.value, burden.id
            assert row[2] == burden.party.value, burden.id
            for cell, specs in ((row[3], burden.proof), (row[4], burden.rebuttal)):
                named = {s for s in _spans(cell) if s.partition(":")[0] in kinds}
                assert named == {str(spec) for spec in specs}, f"{book.label}: {burden.id}"
            if burden.serial_bonus:
                assert "serial_bonus" in row[4], f"{book.label}: {burden.id}"


def test_the_documented_weighing_is_the_rulebooks() -> None:
    rows = _by_first_span(_table(_doc("rules.md"), "rule", "P", "R", "liability"))
    for book in _books():
        assert set(rows) == {row.id for row in book.weigh}
        for weigh in book.weigh:
            assert weigh.liability in rows[weigh.id][3], weigh.id


def test_the_documented_special_and_review_rows_are_the_rulebooks() -> None:
    specials = _by_first_span(
        _table(_doc("rules.md"), "rule", "claim type", "applies when", "effect")
    )
    reviews = _by_first_span(_table(_doc("rules.md"), "rule", "holds when"))
    every = {s.id: s for book in _books() for s in book.specials.values()}
    assert set(specials) == set(every)
    for special in every.values():
        assert _first_span(specials[special.id][1]) == special.claim.value, special.id
        for said in (special.violation, special.finding):
            assert said is None or f"`{said}`" in " ".join(specials[special.id]), special.id
    for book in _books():
        assert set(reviews) == {review.id for review in book.reviews}
        for review in book.reviews:
            assert review.amount is None or str(review.amount) in reviews[review.id][1]


def test_the_documented_remedy_rows_are_the_rulebooks() -> None:
    header = ("rule", "liability", "remedy", "refund", "return shipping paid by", "penalty")
    rows = _by_first_span(_table(_doc("rules.md"), *header))
    for book in _books():
        assert set(rows) == {row.id for row in book.remedies.values()}
        for row in book.remedies.values():
            cells = rows[row.id]
            assert _first_span(cells[1]) == row.liability.value, row.id
            payer = row.return_shipping.value if row.return_shipping else "-"
            assert cells[4] == payer, row.id
            if row.penalty_multiplier > 0:
                times = "\N{MULTIPLICATION SIGN}"
                expected = (
                    f"max({row.penalty_multiplier} {times} paid amount, {row.penalty_minimum})"
                )
                assert cells[5] == expected, row.id
            else:
                assert cells[5] == "0.00", row.id
            if row.refund == "ratio":
                assert f"({book.settings.both_ratio})" in cells[3], row.id


def test_the_documented_vocabulary_is_the_domain() -> None:
    text = _doc("rules.md")
    claims = _by_first_span(_table(text, "claim type", "the buyer says", "built-in scope"))
    assert set(claims) == {claim.value for claim in ClaimType}
    scopes = {s.claim.value: s.id for book in _books() for s in book.scopes.values()}
    for claim, row in claims.items():
        if claim in scopes:
            assert _first_span(row[2]) == scopes[claim], claim
        else:
            assert row[2] == "any", claim
    liabilities = _by_first_span(_table(text, "liability", "meaning"))
    assert set(liabilities) == {liability.value for liability in Liability}
    header = (
        "remedy",
        "money to the buyer",
        "goods back first",
        "rejection",
        "a buyer may request it",
        "the merchant ships",
    )
    remedies = _by_first_span(_table(text, *header))
    assert set(remedies) == {remedy.value for remedy in Remedy}
    for remedy, meaning in REMEDIES.items():
        said = [cell == "yes" for cell in remedies[remedy.value][1:5]]
        assert said == [meaning.money, meaning.goods_back, meaning.rejection, meaning.requestable]
        shipped = _spans(remedies[remedy.value][5])
        assert shipped == ([] if meaning.shipment is None else [meaning.shipment]), remedy


def test_the_documented_strengths_are_the_rulebooks() -> None:
    rows = _by_first_span(_table(_doc("rules.md"), "kind", "strength"))
    assert set(rows) == {kind.value for kind in EvidenceKind}
    for book in _books():
        for kind, row in rows.items():
            numbers = [int(n) for n in re.findall(r"\d+", row[1])]
            expected = [book.strength[kind]]
            if kind == EvidenceKind.INSPECTION_CERTIFICATE:
                expected.append(book.strength["inspection_certificate_accredited"])
            assert numbers == expected, f"{book.label}: {kind}"


# --- links ------------------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize(
    "path", [REPO / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name
)
def test_links_stay_inside_the_repository(path: Path) -> None:
    text = path.read_text("utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            raise AssertionError(f"{path.name} links outside the repository: {target}")
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.is_relative_to(REPO), f"{path.name}: {target} leaves the repository"
        assert linked.is_file(), f"{path.name}: {target} names no file"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", linked.read_text("utf-8"), re.M)
            assert anchor in {_slug(h) for h in headings}, f"{path.name}: no heading #{anchor}"


def test_the_readme_points_to_every_doc_and_nothing_outside() -> None:
    text = (REPO / "README.md").read_text("utf-8")
    linked = set(re.findall(r"\]\((docs/[^)#\s]+)", text))
    assert linked == {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert "../" not in text
