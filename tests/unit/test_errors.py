"""The error tree drawn in ``adjudicator/errors.py``'s docstring is the tree of classes
defined there, and every ``AdjudicationError`` of the package is one of them."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import adjudicator
from adjudicator import errors
from adjudicator.errors import AdjudicationError

# a branch of the drawing: the guides of the levels above ("│   " or four spaces), then
# "├── " or "└── " and the class name
_BRANCH = re.compile(r"(?P<guides>(?:│   |    )*)[├└]── (?P<name>\w+)(?:\s|$)")
_ROOT = re.compile(r"(?P<name>[A-Za-z_]\w*)(?:\s|$)")


def drawn_tree(doc: str) -> dict[str, str | None]:
    """Each class the docstring's ``::`` drawing names -> the class it hangs from (None for
    the root). Lines with no branch of their own continue the description above them."""
    block = doc.split("::\n", 1)[1].splitlines()
    while block and not block[0].strip():
        block.pop(0)
    drawing: list[str] = []
    for line in block:
        if line.strip() and not line.startswith("    "):
            break
        drawing.append(line[4:])
    root = _ROOT.match(drawing[0])
    assert root is not None, f"the drawing does not start with a class: {drawing[0]!r}"
    parents: dict[str, str | None] = {root["name"]: None}
    path = [root["name"]]  # the classes from the root down to the last one drawn
    for line in drawing[1:]:
        branch = _BRANCH.match(line)
        if branch is None:
            assert not _BRANCH.search(line), f"a branch drawn out of line: {line!r}"
            continue
        depth = len(branch["guides"]) // 4 + 1
        assert depth <= len(path), f"{branch['name']} hangs from nothing: {line!r}"
        assert branch["name"] not in parents, f"{branch['name']} is drawn twice"
        del path[depth:]
        parents[branch["name"]] = path[-1]
        path.append(branch["name"])
    return parents


def defined_tree() -> dict[str, str | None]:
    """Each AdjudicationError class defined in errors.py -> its parent in the tree."""
    tree: dict[str, str | None] = {}
    for name, value in vars(errors).items():
        if not (isinstance(value, type) and issubclass(value, AdjudicationError)):
            continue
        if value.__module__ != errors.__name__:
            continue
        bases = [b for b in value.__bases__ if issubclass(b, AdjudicationError)]
        assert len(bases) <= 1, f"{name} hangs from {bases}: the tree has one parent a class"
        tree[name] = bases[0].__name__ if bases else None
    return tree


def test_the_drawing_is_the_tree_of_classes() -> None:
    assert errors.__doc__ is not None
    assert drawn_tree(errors.__doc__) == defined_tree()


def test_the_drawing_is_read_as_drawn() -> None:
    doc = """Errors.

::

    Root
    ├── A          first
    │   ├── A1     under A
    │   │          (more about A1)
    │   └── A2     under A
    │       └── A21
    └── B          last
                   (more about B)

After the drawing.
"""
    assert drawn_tree(doc) == {
        "Root": None,
        "A": "Root",
        "A1": "A",
        "A2": "A",
        "A21": "A2",
        "B": "Root",
    }


def _modules() -> list[str]:
    """Every module of the package that can be imported on its own (Alembic's env.py and
    revisions run only inside a migration)."""
    names = [
        info.name
        for info in pkgutil.walk_packages(adjudicator.__path__, "adjudicator.")
        if not info.name.startswith("adjudicator.migrations.")
        and info.name != "adjudicator.__main__"
    ]
    assert "adjudicator.audit" in names
    return names


def test_every_adjudication_error_is_defined_in_errors() -> None:
    for name in _modules():
        importlib.import_module(name)
    found: list[type[AdjudicationError]] = []
    pending: list[type[AdjudicationError]] = [AdjudicationError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    elsewhere = {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in found
        if cls.__module__.startswith("adjudicator") and cls.__module__ != errors.__name__
    }
    assert not elsewhere, "define these in adjudicator/errors.py (and draw them there)"


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("adjudicator.rulebook", "RulebookError"),
        ("adjudicator.casefile", "InvalidCase"),
        ("adjudicator.lifecycle", "RefusedEvent"),
        ("adjudicator.audit", "BrokenLog"),
    ],
)
def test_the_old_homes_still_give_the_class(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)
