"""The rulebook model is the one source of the shape and ranges of a rulebook file: the loader
refuses what the published schema refuses, and the model's vocabulary is the domain's."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest

from adjudicator.domain import CATEGORIES, REQUESTABLE, ClaimType, Liability, PlatformFinding
from adjudicator.errors import RulebookError
from adjudicator.rulebook import load_rulebook
from adjudicator.rulemodel import (
    CategoryName,
    ClaimName,
    FindingName,
    LiabilityName,
    RequestableName,
    rulebook_schema,
)

BOOKS = resources.files("adjudicator") / "rulebooks"
GENERAL_TEXT = (BOOKS / "kuaishou.general.toml").read_text("utf-8")
SCHEMA = rulebook_schema()


def test_the_models_vocabulary_is_the_domains() -> None:
    assert set(get_args(ClaimName)) == {c.value for c in ClaimType}
    assert set(get_args(LiabilityName)) == {v.value for v in Liability}
    assert set(get_args(FindingName)) == {f.value for f in PlatformFinding}
    assert set(get_args(RequestableName)) == {r.value for r in REQUESTABLE}
    assert set(get_args(CategoryName)) == set(CATEGORIES)


def test_every_built_in_rulebook_file_meets_the_published_schema() -> None:
    files = [*BOOKS.iterdir(), *(BOOKS / "archive").iterdir()]
    checked = 0
    for entry in files:
        if entry.name.endswith(".toml"):
            jsonschema.validate(tomllib.loads(entry.read_text("utf-8")), SCHEMA)
            checked += 1
    assert checked == 6  # this release's two, and the four archived


def _refused_by_both(tmp_path: Path, old: str, new: str) -> tuple[str, str]:
    assert old in GENERAL_TEXT, old
    text = GENERAL_TEXT.replace(old, new, 1)
    data: dict[str, Any] = tomllib.loads(text)
    with pytest.raises(jsonschema.ValidationError) as by_schema:
        jsonschema.validate(data, SCHEMA)
    path = tmp_path / "variant.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(RulebookError) as by_loader:
        load_rulebook(path)
    return by_schema.value.message, str(by_loader.value)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("near_duplicate_distance = 6", "near_duplicate_distance = 65", "from 0 to 64"),
        ("near_duplicate_distance = 6", "near_duplicate_distance = 6.5", "whole number"),
        ('both_ratio = "0.5"', 'both_ratio = "1.5"', "both_ratio = '1.5' must be"),
        ('zone = "Asia/Shanghai"', 'zone = "Mars/Olympus"', "an IANA time zone"),
        ("hours = 72", "hours = 0", "a number above 0"),
        ("days = 15", "days = 4000", "at most 3,660"),
        ("photo_max_mib = 20", "photo_max_mib = 2049", "from 1 to 2,048"),
        ('proof = ["photo", "video"]', 'proof = ["photo", "video:blurry"]', "proof[1]"),
        ('party = "buyer"', 'party = "courier"', "party = 'courier' must be one of"),
        ('refund = "ratio"', 'refund = "half"', "refund = 'half' must be one of"),
        ('[rules."weigh.equal"]', '[rules."weigh.equal"]\nweight = 2', "unknown key(s) weight"),
        ('kind = "scope"', 'kind = "scope"\ncategories = ["used_3c.toaster"]', "categories[0]"),
    ],
)
def test_what_the_schema_refuses_the_loader_refuses_naming_the_field(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    _, loader = _refused_by_both(tmp_path, old, new)
    assert said in loader
    assert str(tmp_path / "variant.toml") in loader


def test_a_deadline_must_give_one_duration_in_the_schema_too() -> None:
    deadline = SCHEMA["$defs"]["DeadlineRule"]
    assert deadline["additionalProperties"] is False
    assert set(deadline["properties"]) == {"kind", "days", "hours"}
