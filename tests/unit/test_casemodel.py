"""The case file model is the one source of the case file's shape and limits: the published
JSON Schema is exactly what it produces, every limit the schema states is a limit of
``LIMITS`` that the reader holds to at that very place (the value at the limit is read, one
more is refused there), and the reader's errors name the place by JSON pointer in the
project's words."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from adjudicator.casefile import InvalidCase, read_case
from adjudicator.casemodel import (
    ACTION_FIELDS,
    DECLARED,
    EVENTS,
    EXPECTED,
    EXPECTED_LISTS,
    LIMITS,
    Case,
    Claim,
    ClaimedItem,
    EvidenceModel,
    Item,
    Order,
    PublishedSchema,
    json_schema,
)
from adjudicator.cli import main
from adjudicator.domain import CATEGORIES, ClaimType, Liability, PlatformFinding, Remedy
from adjudicator.schema import DIALECT, ID, case_schema
from adjudicator.workflow import ACTORS
from evidence import EvidenceKind

Doc = dict[str, Any]
Path_ = list[str | int]
LIMIT_KEYWORDS = ("maxLength", "maxItems", "maximum")


def instant(hour: int) -> str:
    return f"2026-03-05T{hour:02d}:00:00+08:00"


def full_case() -> Doc:
    """A valid case file with every field the format has: every optional field, an event of
    every action with each of its fields, and every declared evidence field."""
    evidence = {
        "kind": "inspection_certificate",
        "file": "e.pdf",
        "description": "检测报告",
        **dict.fromkeys(DECLARED, "x"),
    }
    own = {
        "evidence": [evidence],
        "finding": "carrier_loss",
        "liability": "buyer",
        "remedy": "reject_refund",
        "refund_amount": "0.00",
        "tracking_no": "SF2",
        "text": "商品与描述不符, 我有照片",
        "amount": "10.00",
        "offer": "O1",
    }
    for_action = {("offer", "remedy"): "partial_refund"}  # an offer offers what a buyer asks
    events = [
        {
            "at": instant(hour),
            "actor": sorted(p.value for p in ACTORS[action])[0],
            "action": action,
            "reason": "because",
            **{
                name: copy.deepcopy(for_action.get((action, name), own[name]))
                for name in ACTION_FIELDS.get(action, ())
            },
        }
        for hour, action in enumerate(ACTORS)
    ]
    return {
        "format": "dispute-case/1",
        "case_id": "KS-1",
        "rulebook": "kuaishou.general",
        "order": {
            "order_id": "O-1",
            "category": "general",
            "paid_amount": "100.00",
            "currency": "CNY",
            "items": [{"sku": "S", "name": "N", "price": "100.00", "quantity": 1, "serial": "SN"}],
            "seven_day_return": True,
            "exclusions": ["custom_made"],
            "paid_at": instant(0),
            "shipped_at": instant(0),
            "tracking_no": "SF1",
            "signed_at": instant(0),
            "return_insurance": True,
        },
        "claim": {
            "type": "visible_defect",
            "requested_remedy": "refund_only",
            "requested_amount": "100.00",
            "description": "broken\tscreen\n",  # free text: tabs and newlines
            "items": [{"sku": "S", "quantity": 1}],
        },
        "events": events,
        "expected": {
            **dict.fromkeys(EXPECTED, "x"),
            **{name: ["x"] for name in EXPECTED_LISTS},
        },
        "until": instant(23),
    }


def write(folder: Path, case: Any) -> Path:
    (folder / "e.pdf").write_bytes(b"%PDF-1.4\n")
    path = folder / "case.json"
    path.write_text(json.dumps(case), "utf-8")  # lone surrogates as escapes
    return path


def refusal(folder: Path, case: Any) -> InvalidCase:
    with pytest.raises(InvalidCase) as caught:
        read_case(write(folder, case))
    return caught.value


def put(doc: Any, path: Path_, value: Any) -> Any:
    changed = copy.deepcopy(doc)
    node = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def get(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def pointer(path: Path_) -> str:
    return "".join(f"/{part}" for part in path)


# --- the schema is the model's -------------------------------------------------------------


def test_the_published_schema_is_exactly_what_the_model_produces() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["schema"]) == 0
    published = json.loads(out.getvalue())
    assert published == case_schema()
    assert published == {"$schema": DIALECT, "$id": ID, **json_schema()}
    assert json_schema() == Case.model_json_schema(schema_generator=PublishedSchema)


def _resolve(schema: Doc, sub: Doc) -> Doc:
    while "$ref" in sub:
        sub = schema["$defs"][sub["$ref"].rsplit("/", 1)[1]]
    return sub


def test_every_object_of_the_schema_has_exactly_its_models_fields() -> None:
    schema = case_schema()
    expected = Case.model_fields["expected"].annotation
    assert isinstance(expected, type)
    assert issubclass(expected, BaseModel)
    models: list[type[BaseModel]] = [
        Item,
        Order,
        ClaimedItem,
        Claim,
        EvidenceModel,
        expected,
        *EVENTS.values(),
    ]
    by_name: dict[str, type[BaseModel]] = {model.__name__: model for model in models}
    assert set(schema["$defs"]) == set(by_name)
    for name, sub in [*schema["$defs"].items(), ("Case", schema)]:
        fields = (Case if name == "Case" else by_name[name]).model_fields
        assert list(sub["properties"]) == list(fields), name
        assert sub.get("required", []) == [k for k, f in fields.items() if f.is_required()], name
        assert sub["additionalProperties"] is False, name


def _enum(schema: Doc, sub: Doc) -> list[str]:
    sub = _resolve(schema, sub)
    return [sub["const"]] if "const" in sub else list(sub["enum"])


def test_the_schemas_enumerations_are_the_domains() -> None:
    schema = case_schema()
    defs = schema["$defs"]
    assert _enum(schema, defs["Order"]["properties"]["category"]) == list(CATEGORIES)
    assert _enum(schema, defs["Claim"]["properties"]["type"]) == [c.value for c in ClaimType]
    assert _enum(schema, defs["Evidence"]["properties"]["kind"]) == [k.value for k in EvidenceKind]
    decide, finding = defs["DecideEvent"]["properties"], defs["FindingEvent"]["properties"]
    assert _enum(schema, decide["liability"]) == [v.value for v in Liability]
    assert _enum(schema, decide["remedy"]) == [r.value for r in Remedy]
    assert _enum(schema, finding["finding"]) == [f.value for f in PlatformFinding]
    members = schema["properties"]["events"]["items"]["oneOf"]
    by_action = {
        _resolve(schema, m)["properties"]["action"]["const"]: _resolve(schema, m) for m in members
    }
    assert list(by_action) == list(ACTORS)
    for action, event in by_action.items():
        assert set(_enum(schema, event["properties"]["actor"])) == {p.value for p in ACTORS[action]}
        own = set(event["properties"]) - {"at", "actor", "action", "reason"}
        assert own == set(ACTION_FIELDS.get(action, ()))


# --- every limit the schema states is LIMITS', and the reader holds to it --------------------


def _limited_places(schema: Doc, node: Any, sub: Doc, at: Path_, out: list[Any]) -> set[int]:
    """Walk a document and its schema together: each place with a limit keyword, and the
    schema objects (by id) that were reached."""
    sub = _resolve(schema, sub)
    reached = {id(sub)}
    if "oneOf" in sub:  # the events: the member for this action
        sub = next(
            _resolve(schema, m)
            for m in sub["oneOf"]
            if _resolve(schema, m)["properties"]["action"]["const"] == node["action"]
        )
        reached.add(id(sub))
    if "anyOf" in sub:  # nullable: the value's own type
        sub = next(_resolve(schema, a) for a in sub["anyOf"] if a.get("type") != "null")
        reached.add(id(sub))
    for keyword in LIMIT_KEYWORDS:
        if keyword in sub:
            out.append((at, keyword, sub[keyword]))
    if isinstance(node, dict):
        for key, value in node.items():
            reached |= _limited_places(schema, value, sub["properties"][key], [*at, key], out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            reached |= _limited_places(schema, value, sub["items"], [*at, index], out)
    return reached


def _schema_objects_with_limits(node: Any) -> set[int]:
    found: set[int] = set()
    if isinstance(node, dict):
        if any(k in node for k in LIMIT_KEYWORDS):
            found.add(id(node))
        for value in node.values():
            found |= _schema_objects_with_limits(value)
    elif isinstance(node, list):
        for value in node:
            found |= _schema_objects_with_limits(value)
    return found


SCHEMA = case_schema()
PLACES: list[tuple[Path_, str, int]] = []
REACHED = _limited_places(SCHEMA, full_case(), SCHEMA, [], PLACES)


def test_the_full_case_is_read_and_reaches_every_limit_of_the_schema(tmp_path: Path) -> None:
    read_case(write(tmp_path, full_case()))
    assert _schema_objects_with_limits(SCHEMA) <= REACHED


def _long_path(folder: Path, length: int) -> str:
    """An evidence path of ``length`` characters (parts of at most 200) naming a file."""
    parts: list[str] = []
    while length - sum(len(p) + 1 for p in parts) > 201:
        parts.append(chr(ord("a") + len(parts)) * 200)
    parts.append("f" * (length - sum(len(p) + 1 for p in parts)))
    (folder / "/".join(parts[:-1])).mkdir(parents=True, exist_ok=True)
    (folder / "/".join(parts)).write_bytes(b"%PDF-1.4\n")
    return "/".join(parts)


def _of_size(folder: Path, case: Doc, at: Path_, keyword: str, size: int) -> Any:
    if keyword == "maximum":
        return size
    if at == ["claim", "items"]:  # a claim names each SKU once
        return [{"sku": f"S{n}", "quantity": 1} for n in range(size)]
    if keyword == "maxItems":
        return [copy.deepcopy(get(case, at)[0]) for _ in range(size)]
    if at[-1] == "file":
        return _long_path(folder, size)
    return "a" * size


def _consistent(case: Doc, at: Path_) -> Doc:
    """The claim's items made the order's again: a limit of the claim's items is tried on an
    order with those items (each at most as long and as many as the order's limits allow);
    any other limit on a claim about the whole order."""
    if at[:2] != ["claim", "items"]:
        del case["claim"]["items"]
        return case
    case["order"]["items"] = [
        {
            "sku": item["sku"][: LIMITS.id_chars],
            "name": "N",
            "price": "1.00",
            "quantity": min(item["quantity"], LIMITS.quantity),
        }
        for item in case["claim"]["items"][: LIMITS.items]
    ]
    case["claim"]["requested_amount"] = "0.01"
    return case


@pytest.mark.parametrize(
    ("at", "keyword", "limit"),
    [pytest.param(at, kw, limit, id=f"{pointer(at)}:{kw}") for at, kw, limit in PLACES],
)
def test_each_limit_of_the_schema_is_a_limit_the_reader_holds_to_there(
    tmp_path: Path, at: Path_, keyword: str, limit: int
) -> None:
    assert limit in asdict(LIMITS).values()
    case = full_case()
    at_limit = _consistent(put(case, at, _of_size(tmp_path, case, at, keyword, limit)), at)
    read_case(write(tmp_path, at_limit))
    over = _consistent(put(case, at, _of_size(tmp_path, case, at, keyword, limit + 1)), at)
    refused = refusal(tmp_path, over)
    assert refused.pointer == pointer(at)
    assert str(limit) in refused.message


def test_the_limits_the_schema_states_in_patterns_and_words_are_the_readers(
    tmp_path: Path,
) -> None:
    most = "9" * LIMITS.amount_digits + ".99"
    assert f"{{1,{LIMITS.amount_digits}}}" in SCHEMA["$defs"]["Order"]["properties"][
        "paid_amount"
    ].get("pattern", "")
    for amount, valid in [(most, True), ("9" + most, False)]:
        case = put(full_case(), ["order", "paid_amount"], amount)
        case["order"]["items"][0]["price"] = amount
        case["claim"]["requested_amount"] = amount
        if valid:
            read_case(write(tmp_path, case))
        else:
            assert refusal(tmp_path, case).pointer == "/order/paid_amount"
    years = f"years {LIMITS.first_year} to {LIMITS.last_year}"
    assert years in SCHEMA["properties"]["until"]["anyOf"][0]["description"]
    for year, valid in [
        (LIMITS.first_year, True),
        (LIMITS.last_year, True),
        (LIMITS.first_year - 1, False),
        (LIMITS.last_year + 1, False),
    ]:
        case = put(full_case(), ["until"], f"{year}-06-01T00:00:00Z")
        if valid:
            read_case(write(tmp_path, case))
        else:
            refused = refusal(tmp_path, case)
            assert (refused.pointer, years in refused.message) == ("/until", True)
    assert str(LIMITS.file_bytes) in SCHEMA["description"]
    padded = json.dumps(full_case())
    padded = padded[:-1] + " " * (LIMITS.file_bytes - len(padded.encode())) + "}"
    (tmp_path / "e.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "case.json").write_text(padded, "utf-8")
    read_case(tmp_path / "case.json")
    (tmp_path / "case.json").write_text(padded + " ", "utf-8")
    with pytest.raises(InvalidCase, match=f"larger than {LIMITS.file_bytes} bytes"):
        read_case(tmp_path / "case.json")


# --- errors: the place by JSON pointer, in the project's words ----------------------------


def _leaves(node: Any, at: Path_) -> list[Path_]:
    if isinstance(node, dict):
        return [at, *(p for k, v in node.items() for p in _leaves(v, [*at, k]))]
    if isinstance(node, list):
        return [at, *(p for i, v in enumerate(node) for p in _leaves(v, [*at, i]))]
    return [at]


@pytest.mark.parametrize(
    "at", [pytest.param(at, id=pointer(at)) for at in _leaves(full_case(), [])[1:]]
)
def test_a_value_of_the_wrong_type_anywhere_is_named_there_in_the_projects_words(
    tmp_path: Path, at: Path_
) -> None:
    case = full_case()
    wrong: Any = {} if isinstance(get(case, at), list) else []
    refused = refusal(tmp_path, put(case, at, wrong))
    assert refused.pointer == pointer(at)
    assert not refused.message.lower().startswith("input should"), refused.message
    if isinstance(get(case, at), dict):
        assert refused.message == "must be an object"


@pytest.mark.parametrize(
    ("at", "value"),
    [
        (["order", "items", 0, "quantity"], "1"),
        (["order", "items", 0, "quantity"], True),
        (["order", "items", 0, "quantity"], 1.0),
        (["order", "items", 0, "sku"], 1),
        (["order", "seven_day_return"], 1),
        (["order", "seven_day_return"], "true"),
        (["order", "paid_amount"], 100),
        (["order", "paid_amount"], "100.000"),
        (["order", "paid_amount"], "\u0661\u0660\u0660"),  # Arabic-Indic digits
        (["order", "paid_at"], "2026-03-05T12:00:00"),
        (["order", "paid_at"], "2026-03-05T12:00:00+08:00\n"),
        (["order", "paid_at"], "2026-02-30T12:00:00+08:00"),  # no such day
        (["order", "items", 0, "name"], "a\x7fb"),
        (["order", "items", 0, "name"], "a\nb"),
        (["claim", "description"], "a\rb"),
        (["claim", "description"], "a\ud800b"),
        (["claim", "type"], "VISIBLE_DEFECT"),
        (["events", 0, "actor"], "merchant"),
    ],
)
def test_values_are_taken_strictly(tmp_path: Path, at: Path_, value: Any) -> None:
    assert refusal(tmp_path, put(full_case(), at, value)).pointer == pointer(at)


def test_the_first_problem_in_document_order_is_named(tmp_path: Path) -> None:
    case = full_case()
    order = case["order"]
    # currency before order_id in the text, both wrong: currency; the other way: order_id
    case["order"] = {"currency": 1, **{k: v for k, v in order.items() if k != "currency"}}
    case["order"]["order_id"] = 2
    assert refusal(tmp_path, case).pointer == "/order/currency"
    case["order"] = {"order_id": 2, **{k: v for k, v in order.items() if k != "order_id"}}
    case["order"]["currency"] = 1
    assert refusal(tmp_path, case).pointer == "/order/order_id"
    # a missing field is at the end of its object; an unknown key where it stands
    case = full_case()
    del case["order"]["order_id"]
    case["order"]["signed_at"] = "soon"
    assert refusal(tmp_path, case).pointer == "/order/signed_at"
    case["order"] = {"colour": "red", **case["order"]}
    refused = refusal(tmp_path, case)
    assert (refused.pointer, refused.message) == ("/order/colour", "unknown field")
    case = full_case()
    del case["order"]["order_id"]
    refused = refusal(tmp_path, case)
    assert (refused.pointer, refused.message) == ("/order/order_id", "is required")
    # an earlier object's problem before a later one's, whatever the model's field order
    case = full_case()
    case = {"until": "soon", **{k: v for k, v in case.items() if k != "until"}}
    case["case_id"] = "no spaces"
    assert refusal(tmp_path, case).pointer == "/until"


def test_pointers_escape_keys_and_leave_out_the_union_tag(tmp_path: Path) -> None:
    case = full_case()
    case["order"]["a~b/c"] = 1
    assert refusal(tmp_path, case).pointer == "/order/a~0b~1c"
    decide = list(ACTORS).index("decide")
    refused = refusal(tmp_path, put(full_case(), ["events", decide, "liability"], "nobody"))
    assert refused.pointer == f"/events/{decide}/liability"
    assert refused.message == "must be one of merchant, buyer, both, neither"
    refused = refusal(tmp_path, put(full_case(), ["events", decide, "actor"], "buyer"))
    assert (refused.pointer, refused.message) == (
        f"/events/{decide}/actor",
        "decide is done by the platform",
    )
    action: Any
    for action in ("dance", [], None):
        refused = refusal(tmp_path, put(full_case(), ["events", 1, "action"], action))
        assert refused.pointer == "/events/1/action"
        assert refused.message == f"must be one of {', '.join(ACTORS)}"
    case = full_case()
    del case["events"][1]["action"]
    assert refusal(tmp_path, case).pointer == "/events/1/action"


def test_an_object_with_very_many_unknown_keys_is_named_quickly(tmp_path: Path) -> None:
    case = full_case()
    case["order"] |= {f"k{i}": 1 for i in range(100_000)}
    refused = refusal(tmp_path, case)
    assert (refused.pointer, refused.message) == ("/order/k0", "unknown field")
