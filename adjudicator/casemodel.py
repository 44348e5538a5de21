"""The case file's shape and limits, declared once (``"format": "dispute-case/1"``,
docs/case-files.md).

The reader (:func:`adjudicator.casefile.read_case`) validates every parsed case file with
:class:`Case`, and ``adjudicator schema`` prints ``Case``'s JSON Schema
(:func:`adjudicator.schema.case_schema`): neither has a second copy of a field, a pattern or a
limit. Strings, numbers and booleans are strict (``"1"`` is not 1, 1 is not ``"1"``), unknown
fields are refused, enumerations are ``Literal`` types made from the domain's enums, and each
event's fields and the parties that may act are those of its ``action`` (a tagged union).

What a model cannot say stays in the reader, after this validation: duplicate keys in the
JSON text, evidence files inside the case file's folder, events in time order, a requested
amount at most what was paid for the claimed items (which must be the order's), and an
instant's year within the limits and its date real.

Each constrained type carries :class:`Says`, how its problems are put in an
:class:`~adjudicator.errors.InvalidCase`; :func:`problem` turns pydantic's errors into the
JSON pointer and the words of the first one in document order.
"""

import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import ErrorDetails, core_schema

from adjudicator.domain import (
    CATEGORIES,
    REQUESTABLE,
    ClaimType,
    Liability,
    PlatformFinding,
    Remedy,
)
from adjudicator.rulebook import RULEBOOK_ID
from adjudicator.rulemodel import VERSION as RULEBOOK_VERSION
from adjudicator.workflow import ACTORS, STATEMENT_CHARS
from evidence import EvidenceKind, Party
from evidence.declared import REQUIRED

FORMAT = "dispute-case/1"


@dataclass(frozen=True)
class Limits:
    """What a case file may hold (every limit inclusive)."""

    file_bytes: int = 4 * 1024 * 1024
    id_chars: int = 128  # case_id, order_id, sku, serial, tracking numbers, declared fields
    name_chars: int = 500  # an item's name
    text_chars: int = 2000  # a claim's description, an event's reason
    statement_chars: int = STATEMENT_CHARS  # a party's statement
    path_chars: int = 1024  # an evidence file's path; each part at most 255 bytes
    amount_digits: int = 12  # before the point; two after it at most
    quantity: int = 1_000_000
    items: int = 1000
    events: int = 1000
    evidence_per_event: int = 100
    exclusions: int = 100
    first_year: int = 1970
    last_year: int = 2999


LIMITS = Limits()
# what a submitter may declare beside the file: capture details, and each kind's fields
DECLARED = (
    "captured_at",
    "shows_serial",
    *REQUIRED[EvidenceKind.INSPECTION_CERTIFICATE],
    *REQUIRED[EvidenceKind.LOGISTICS_RECORD],
)
EXPECTED = (
    "liability",
    "remedy",
    "refund_amount",
    "state",
    "resolution",
    "return_shipping_payer",
    "penalty_amount",
)
"""The outcome fields an ``expected`` block may pin: each a string, or null where the
outcome has none."""
EXPECTED_LISTS = ("violations", "rules")
"""The outcome fields an ``expected`` block pins as lists of strings."""
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "submit_evidence": ("evidence",),
    "appeal": ("evidence",),
    "finding": ("finding",),
    "decide": ("liability", "remedy", "refund_amount"),
    "return_shipped": ("tracking_no",),
    "statement": ("text",),
    "offer": ("remedy", "amount"),
    "accept_offer": ("offer",),
    "decline_offer": ("offer",),
    "merchant_shipped": ("tracking_no",),
}
"""Each action's own fields (besides ``at``, ``actor``, ``action`` and ``reason``); the
actions themselves, and who may do each, are the workflow's ``ACTORS``."""
OPTIONAL_ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "appeal": ("evidence",),
    "decide": ("refund_amount",),
    "offer": ("amount",),
}

# Patterns are anchored (JSON Schema searches) and spell digits [0-9]: pydantic's regex engine,
# like Python's, takes ``\d`` for any script's digits. An instant's year and whether its date
# exists are the reader's to check.
AMOUNT = rf"^[0-9]{{1,{LIMITS.amount_digits}}}(\.[0-9]{{1,2}})?$"
INSTANT = (  # RFC 3339 (section 5.6) and nothing else of ISO 8601
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
CASE_ID = rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{LIMITS.id_chars - 1}}}$"
# no control characters (free text may hold tabs and newlines); a lone surrogate is refused
# by pydantic before any pattern (a ``string_unicode`` error)
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
NO_CONTROL_BUT_LINES = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"
OFFER_ID = r"^O[1-9][0-9]{0,5}$"  # the engine numbers offers O1, O2, ... in a dispute


# --- how problems are said -------------------------------------------------------------------


@dataclass(frozen=True)
class Says:
    """How the problems of a value are said: ``default``, or the message ``by_type`` gives
    for pydantic's error type. In a message ``{length}`` is the length of what was given,
    and the error's context gives ``{max_length}`` and the like."""

    default: str
    by_type: tuple[tuple[str, str], ...] = ()

    def say(self, error_type: str, given: Any, context: Mapping[str, Any]) -> str:
        message = dict(self.by_type).get(error_type, self.default)
        values = {**context, "length": len(given) if isinstance(given, str | list | dict) else 0}
        # only the names it knows are put in: other braces are words ("used_3c.{phone,...}")
        return _PLACE.sub(lambda found: str(values.get(found[1], found[0])), message)


_PLACE = re.compile(r"\{(\w+)\}")


def _says(default: str, **by_type: str) -> Says:
    return Says(default, tuple(by_type.items()))


CONTROL = "must not hold control characters or lone surrogates"
NOT_AN_INSTANT = (
    "must be an RFC 3339 time with an offset, such as 2026-03-05T12:00:00+08:00, in the "
    f"years {LIMITS.first_year} to {LIMITS.last_year}"
)
"""What is said of an instant the pattern refuses, and of one the reader then does (its year
outside the limits, its date or time not real)."""
_TEXT = _says(
    "must be a non-empty string",
    string_too_long="is {length} characters long; at most {max_length}",
    string_pattern_mismatch=CONTROL,
    string_unicode=CONTROL,
)
_FREE_TEXT = _says(
    "must be a string",
    string_too_long="is {length} characters long; at most {max_length}",
    string_pattern_mismatch=CONTROL,
    string_unicode=CONTROL,
)


class Keywords:
    """JSON Schema keywords added to a type's schema (a description, a format)."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: Any
    ) -> JsonSchemaValue:
        out: JsonSchemaValue = handler(schema)
        out.update(self.keywords)
        return out


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _absent() -> Any:
    """The default of a field that may be left out but never be null: None stands for absent
    and is not a default the schema states."""
    return Field(default=None, json_schema_extra=_no_default)


def _one_of(values: Iterable[str], says: str | None = None) -> Any:
    """A ``Literal`` of ``values`` (the domain's enums' values, in their order)."""
    names = tuple(str(getattr(v, "value", v)) for v in values)
    return Annotated[Literal[names], _says(says or f"must be one of {', '.join(names)}")]


# --- the types of values -------------------------------------------------------------------

Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=LIMITS.id_chars, pattern=NO_CONTROL),
    _TEXT,
]
"""An id, a number or a word: 1 to ``id_chars`` characters, no control characters."""
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=LIMITS.name_chars, pattern=NO_CONTROL),
    _TEXT,
]
FreeText = Annotated[
    str,
    StringConstraints(max_length=LIMITS.text_chars, pattern=NO_CONTROL_BUT_LINES),
    _FREE_TEXT,
]
"""Words a person wrote: maybe empty, tabs and newlines allowed."""
Statement = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=LIMITS.statement_chars, pattern=NO_CONTROL_BUT_LINES
    ),
    _says(
        "must be a non-empty string",
        string_too_long="is {length} characters long; at most {max_length}",
        string_pattern_mismatch=CONTROL,
        string_unicode=CONTROL,
    ),
]
"""What a party says in its own words: 1 to ``STATEMENT_CHARS`` characters."""
EvidencePath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=LIMITS.path_chars, pattern=NO_CONTROL),
    _TEXT,
    Keywords(description="relative to the case file; a regular file inside its folder"),
]
Amount = Annotated[
    str,
    StringConstraints(pattern=AMOUNT),
    _says(
        f'must be a decimal string such as "1299.00" (ASCII digits, at most '
        f"{LIMITS.amount_digits} before the point and 2 after it)"
    ),
]
Instant = Annotated[
    str,
    StringConstraints(pattern=INSTANT),
    _says(NOT_AN_INSTANT),
    Keywords(
        format="date-time",
        description=f"RFC 3339 with an offset, years {LIMITS.first_year} to {LIMITS.last_year}",
    ),
]
CaseId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=LIMITS.id_chars, pattern=CASE_ID),
    _says(
        f"must be letters, digits and . _ : - (at most {LIMITS.id_chars}, ASCII)",
        string_type="must be a non-empty string",
        string_too_short="must be a non-empty string",
        string_too_long="is {length} characters long; at most {max_length}",
        string_unicode=CONTROL,
    ),
]
RulebookId = Annotated[
    str,
    StringConstraints(pattern=f"^{RULEBOOK_ID.pattern}(@{RULEBOOK_VERSION.pattern})?$"),
    _says(
        "must be a rulebook id such as kuaishou.general, or a built-in rulebook's release "
        "such as kuaishou.general@2026.2"
    ),
]
Quantity = Annotated[
    int,
    Field(ge=1, le=LIMITS.quantity),
    _says(f"must be a whole number from 1 to {LIMITS.quantity}"),
]
Flag = Annotated[bool, _says("must be true or false")]


def _count(least: int, most: int) -> Any:
    """A list's length: from ``least`` to ``most`` items."""
    return Field(min_length=least, max_length=most) if least else Field(max_length=most)


def _list_says(what: str, says: str = "must be a non-empty list") -> Says:
    return _says(says, too_long=f"has {{length}} {what}; at most {{max_length}}")


if TYPE_CHECKING:  # what the values are to the reader once validated
    FormatName: TypeAlias = str
    CategoryName: TypeAlias = str
    ClaimTypeName: TypeAlias = str
    RequestableName: TypeAlias = str
    EventModel: TypeAlias = Any
    ExpectedModel: TypeAlias = Any
else:
    FormatName = _one_of([FORMAT], f"must be {FORMAT!r}")
    CategoryName = _one_of(CATEGORIES, "must be general or used_3c.{phone,tablet,...}")
    ClaimTypeName = _one_of(ClaimType)
    _REQUESTABLE = [r.value for r in Remedy if r in REQUESTABLE]
    RequestableName = _one_of(
        _REQUESTABLE,
        f"a buyer requests {', '.join(_REQUESTABLE[:-1])} or {_REQUESTABLE[-1]}",
    )


# --- the models --------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class Item(_Strict):
    """An item of the order."""

    sku: Text
    name: Name
    price: Amount
    quantity: Quantity
    serial: Text | None = None


class Order(_Strict):
    """The order the dispute is about; ``shipped_at``, ``tracking_no`` and ``signed_at`` are
    null or absent when it was not shipped or not delivered; ``return_insurance``: the order
    has return-shipping insurance (运费险), whose insurer pays to send goods back."""

    order_id: Text
    category: CategoryName
    paid_amount: Amount
    currency: Text
    items: Annotated[list[Item], _count(1, LIMITS.items), _list_says("items")]
    seven_day_return: Flag = False
    exclusions: Annotated[
        list[Text],
        _count(0, LIMITS.exclusions),
        _list_says("exclusions", "must be a list of strings"),
    ] = Field(default_factory=list)  # a default list would be deep-copied for each file
    paid_at: Instant | None = None
    shipped_at: Instant | None = None
    tracking_no: Text | None = None
    signed_at: Instant | None = None
    return_insurance: Flag = False


class ClaimedItem(_Strict):
    """An item of the order the claim is about: its SKU, and how many of it."""

    sku: Text
    quantity: Quantity


class Claim(_Strict):
    """What the buyer claims and asks for; ``items`` the order's items it is about (absent or
    empty: the whole order), each an order line's SKU at most once."""

    type: ClaimTypeName
    requested_remedy: RequestableName
    requested_amount: Amount | None = None
    description: FreeText = ""
    items: Annotated[
        list[ClaimedItem],
        _count(0, LIMITS.items),
        _list_says("items", "must be a list of items"),
    ] = Field(default_factory=list)


EvidenceModel: type[BaseModel] = create_model(
    "Evidence",
    __base__=_Strict,
    __doc__="A submitted file, and what its submitter declares about it.",
    kind=(_one_of(EvidenceKind), ...),
    file=(EvidencePath, ...),
    description=(Statement, _absent()),
    **{name: (Text, _absent()) for name in DECLARED},  # type: ignore[call-overload]
)
_EVENT_FIELD_TYPES: dict[str, Any] = {
    "evidence": Annotated[
        list[EvidenceModel],  # type: ignore[valid-type]
        _count(1, LIMITS.evidence_per_event),
        _list_says("items"),
    ],
    "finding": _one_of(PlatformFinding),
    "liability": _one_of(Liability),
    "remedy": _one_of(Remedy),
    "refund_amount": Amount,
    "tracking_no": Text,
    "text": Statement,
    "amount": Amount,
    "offer": Annotated[
        str, StringConstraints(pattern=OFFER_ID), _says("must be an offer id: O1, O2, ...")
    ],
}
_ACTION_FIELD_TYPES: dict[tuple[str, str], Any] = {
    ("offer", "remedy"): _one_of(
        [r for r in Remedy if r in REQUESTABLE],
        "an offer is one of the remedies a buyer may request",
    ),
}
"""An action's field whose type is not the field's everywhere else."""


def _event_model(action: str) -> type[BaseModel]:
    """The model of one action's events: its own fields, and the parties that may act."""
    parties = [p for p in Party if p in ACTORS[action]]
    who = " or ".join(sorted(p.value for p in parties))
    optional = OPTIONAL_ACTION_FIELDS.get(action, ())
    own = {
        name: (
            _ACTION_FIELD_TYPES.get((action, name), _EVENT_FIELD_TYPES[name]),
            _absent() if name in optional else ...,
        )
        for name in ACTION_FIELDS.get(action, ())
    }
    return create_model(  # type: ignore[call-overload, no-any-return]
        "".join(word.capitalize() for word in action.split("_")) + "Event",
        __base__=_Strict,
        __doc__=f"An event whose action is {action}, done by the {who}.",
        at=(Instant, ...),
        actor=(_one_of(parties, f"{action} is done by the {who}"), ...),
        action=(_one_of([action]), ...),
        reason=(FreeText | None, None),
        **own,
    )


EVENTS: dict[str, type[BaseModel]] = {action: _event_model(action) for action in ACTORS}
"""Each action's event model, in the workflow's order of actions."""
_ACTIONS = _says(f"must be one of {', '.join(ACTORS)}")

if not TYPE_CHECKING:
    EventModel = Annotated[Union[tuple(EVENTS.values())], Field(discriminator="action")]  # noqa: UP007
    ExpectedModel = create_model(
        "Expected",
        __base__=_Strict,
        __doc__="The outcome the case must come to (each field it names is compared).",
        **{name: (Text | None, _absent()) for name in EXPECTED},
        **{
            name: (
                Annotated[
                    list[Text],
                    _count(0, LIMITS.events),
                    _list_says("strings", f"must be a list of at most {LIMITS.events} strings"),
                ],
                _absent(),
            )
            for name in EXPECTED_LISTS
        },
    )


class Case(_Strict):
    model_config = ConfigDict(title=f"Dispute case file ({FORMAT})")
    __doc__ = f"At most {LIMITS.file_bytes} bytes of UTF-8 JSON, no duplicate keys."

    format: FormatName
    case_id: CaseId
    rulebook: RulebookId = _absent()
    order: Order
    claim: Claim
    events: Annotated[list[EventModel], _count(1, LIMITS.events), _list_says("events")]
    expected: ExpectedModel = _absent()
    until: Instant | None = None


class PublishedSchema(GenerateJsonSchema):
    """The JSON Schema as published: properties untitled (their names say it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def json_schema() -> dict[str, Any]:
    """:class:`Case`'s JSON Schema (draft 2020-12)."""
    return Case.model_json_schema(schema_generator=PublishedSchema)


# --- problems, in words --------------------------------------------------------------------

Shape = tuple[str, ...]
"""Where a value is in the model: field names, ``*`` for a list's items, and the tag of a
tagged union's member."""


def _walk(
    annotation: Any, metadata: Sequence[Any], at: Shape, says: dict[Shape, Says], tags: set[Shape]
) -> None:
    while get_origin(annotation) is Annotated:
        annotation, *more = get_args(annotation)
        metadata = [*more, *metadata]
    found = [m for m in metadata if isinstance(m, Says)]
    if found:
        says.setdefault(at, found[0])
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        arms = [a for a in get_args(annotation) if a is not type(None)]
        tagged = any(isinstance(m, FieldInfo) and m.discriminator for m in metadata)
        if tagged:
            tags.add(at)
        for arm in arms:
            tag = get_args(arm.model_fields["action"].annotation) if tagged else ()
            _walk(arm, [], (*at, *tag), says, tags)
    elif origin is list:
        _walk(get_args(annotation)[0], [], (*at, "*"), says, tags)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            _walk(field.annotation, field.metadata, (*at, name), says, tags)


_SAYS: dict[Shape, Says] = {}
_TAGGED: set[Shape] = set()
_walk(Case, [], (), _SAYS, _TAGGED)
_OBJECT = {"model_type", "model_attributes_type", "dict_type"}
_TAG = {"union_tag_invalid", "union_tag_not_found"}


def problem(errors: Iterable[ErrorDetails], data: Any) -> tuple[str, str]:
    """The JSON pointer and the words of the first of pydantic's ``errors`` in ``data``'s
    document order (a missing field is at the end of its object). The errors need not hold
    their input: it is taken from ``data``."""
    places: dict[int, dict[str, int]] = {}  # each object's keys' places, made once
    first: tuple[list[int], list[str | int], ErrorDetails] | None = None
    unknown_in: tuple[Any, ...] | None = None
    for error in errors:
        if error["type"] == "extra_forbidden":
            # an object's unknown keys come in its order: only its first can be the first
            if error["loc"][:-1] == unknown_in:
                continue
            unknown_in = error["loc"][:-1]
        path = _path(error)
        at = _position(data, path, places)
        if first is None or at < first[0]:
            first = (at, path, error)
    assert first is not None, "a validation error without errors"
    _, path, error = first
    return pointer(path), _words(error, _value_at(data, path))


def _path(error: ErrorDetails) -> list[str | int]:
    """Where the error is in the document: its ``loc`` without the tags of tagged unions
    (pydantic puts the tag after the union's place), and ``action`` for a tag's own error."""
    path: list[str | int] = []
    shape: Shape = ()
    skip = False
    for part in error["loc"]:
        shape = (*shape, "*" if isinstance(part, int) else part)
        if skip:
            skip = False
            continue
        path.append(part)
        skip = shape in _TAGGED
    if error["type"] in _TAG:
        path.append("action")
    return path


def _position(data: Any, path: list[str | int], places: dict[int, dict[str, int]]) -> list[int]:
    """Where ``path`` is in the JSON text: the place of each key in its object (the object's
    length for a key it lacks) or of each item in its list."""
    out: list[int] = []
    node = data
    for part in path:
        if isinstance(node, dict):
            keys = places.get(id(node))
            if keys is None:
                keys = places[id(node)] = {key: index for index, key in enumerate(node)}
            out.append(keys.get(part, len(keys)))  # type: ignore[arg-type]
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        else:
            break
    return out


def _value_at(data: Any, path: list[str | int]) -> Any:
    """What ``data`` holds at ``path`` (None where it holds nothing)."""
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _words(error: ErrorDetails, given: Any) -> str:
    kind = error["type"]
    if kind in _TAG:
        return _ACTIONS.default
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in _OBJECT:
        return "must be an object"
    shape = _shape(error)
    says = _SAYS.get(shape)
    if says is None:  # a type the model does not give words for: pydantic's own
        return error["msg"][:1].lower() + error["msg"][1:]
    return says.say(kind, given, error.get("ctx") or {})


def _shape(error: ErrorDetails) -> Shape:
    return tuple("*" if isinstance(part, int) else part for part in error["loc"])


def pointer(path: Iterable[str | int]) -> str:
    """The JSON pointer (RFC 6901) of a place: each key with ``~`` and ``/`` escaped."""
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)
