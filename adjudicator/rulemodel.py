"""The shape and the ranges of a rulebook file, declared once (pydantic models).

Every rule is one of the kinds below, told apart by its ``kind``; each field says what it may
hold (its type, its range, its allowed values) and, in words, what that is. The loader
(:mod:`adjudicator.rulebook`) validates each rule with these models and then checks what no
single rule can say (one settings rule, every deadline the workflow needs, a decision row for
every claim type, the weighing table covering every situation, every liability reachable);
``adjudicator schema --rulebook`` prints the JSON Schema made from the same models.

A problem is said as ``rule ID: FIELD = VALUE must be WHAT`` (or ``missing key(s)``, ``unknown
key(s)``, ``unknown kind``), the loader adding the file.
"""

from __future__ import annotations

import functools
import math
import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.fields import FieldInfo

from adjudicator.domain import ClaimType, Remedy
from evidence import EvidenceKind

RULEBOOK_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}", re.ASCII)
"""What a rulebook id looks like (``kuaishou.used_3c``): never a path."""
VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}", re.ASCII)
RULE_ID = re.compile(r"[a-z][a-z0-9_.-]{0,127}", re.ASCII)
CODE = r"^[a-z][a-z0-9_]{0,63}$"  # violations, exclusion codes
MAX_DEADLINE_DAYS = 3660  # no deadline of the rules comes near ten years
QUALIFIERS = ("pre_shipment", "pass", "fail", "shipped", "delivered")
EVIDENCE_SPEC = re.compile(
    rf"^({'|'.join(k.value for k in EvidenceKind)})(:({'|'.join(QUALIFIERS)}))?$"
)
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)*", re.ASCII)

# the vocabulary as literals (tests/unit/test_rulemodel.py keeps them equal to the enums)
ClaimName = Literal[
    "visible_defect",
    "invisible_defect",
    "wrong_item",
    "missing_parts",
    "not_shipped",
    "not_received",
    "not_as_described",
    "illegal_origin",
    "unofficial_repair",
    "no_reason_return",
]
LiabilityName = Literal["merchant", "buyer", "both", "neither"]
FindingName = Literal["illegal_origin", "unofficial_repair", "carrier_loss"]
RequestableName = Literal[
    "refund_only", "return_and_refund", "partial_refund", "exchange", "reshipment", "repair"
]
CategoryName = Literal[
    "general",
    "used_3c.phone",
    "used_3c.tablet",
    "used_3c.computer",
    "used_3c.appliance",
    "used_3c.digital",
]
Payer = Literal["buyer", "merchant"]
RemedyChoice = Literal[
    "requested",
    "rejection",
    "refund_only",
    "return_and_refund",
    "partial_refund",
    "reject_refund",
    "reject_return",
    "exchange",
    "reshipment",
    "repair",
]
SpecialWhen = Literal[
    "no_finding", "merchant_unproven", "ineligible", "both_liable", "merchant_liable"
]
ReviewWhen = Literal["paid_amount_at_least", "near_duplicate", "unused_finding"]
Refund = Literal["disputed", "zero", "ratio"]


def whole(least: int, most: int) -> Any:
    """The metadata of a whole number in [least, most] (never a float, nor true/false)."""
    return Field(
        strict=True, ge=least, le=most, description=f"a whole number from {least:,} to {most:,}"
    )


def number(least: float, most: float, *, above: bool = False) -> Any:
    """The metadata of a finite number in [least, most], or above ``least`` and at most
    ``most`` when ``above``."""
    if above:
        return Field(
            strict=True,
            gt=least,
            le=most,
            allow_inf_nan=False,
            description=f"a number above {least:g}, at most {most:,g}",
        )
    return Field(
        strict=True,
        ge=least,
        le=most,
        allow_inf_nan=False,
        description=f"a number from {least:,g} to {most:,g}",
    )


def _decimal_text(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("not a decimal string")
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("not a decimal") from None
    if not parsed.is_finite():
        raise ValueError("not finite")
    return parsed


def _between(least: Decimal, most: Decimal) -> Any:
    def within(value: Decimal) -> Decimal:
        if not least <= value <= most:
            raise ValueError("out of range")
        return value

    return AfterValidator(within)


Ratio = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    _between(Decimal(0), Decimal(1)),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(0(\.[0-9]+)?|1(\.0+)?)$"},
                {"type": "integer", "minimum": 0, "maximum": 1},
            ],
            "description": 'a decimal string from 0 to 1, such as "0.5" (never a float)',
        }
    ),
    Field(description='a decimal string from 0 to 1, such as "0.5" (never a float)'),
]
Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    _between(Decimal(0), Decimal(10) ** 12),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^([0-9]{1,12}(\.[0-9]+)?|1000000000000(\.0+)?)$"},
                {"type": "integer", "minimum": 0, "maximum": 10**12},
            ],
            "description": 'a decimal string from 0 to 10^12, such as "50.00" (never a float)',
        }
    ),
    Field(description='a decimal string from 0 to 10^12, such as "50.00" (never a float)'),
]


@functools.cache
def known_zone(name: str) -> bool:
    if not _ZONE.fullmatch(name):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _zone(name: str) -> str:
    if not known_zone(name):
        raise ValueError("not an IANA time zone")
    return name


def _zone_schema() -> dict[str, Any]:
    """The real IANA zones this machine knows (its tz database), as the schema's enum."""
    zones = sorted(z for z in zoneinfo.available_timezones() if _ZONE.fullmatch(z))
    what = {"description": "an IANA time zone such as Asia/Shanghai"}
    if not zones:  # no tz database: the loader refuses every zone anyway
        return {"type": "string", "pattern": f"^{_ZONE.pattern}$", **what}
    return {"type": "string", "enum": zones, **what}


class _ZoneSchema:
    """The zone's schema, made when a schema is asked for (listing the tz database at import
    would slow every start)."""

    def __get_pydantic_json_schema__(self, core: Any, handler: Any) -> dict[str, Any]:
        return _zone_schema()


Zone = Annotated[
    str,
    AfterValidator(_zone),
    _ZoneSchema(),
    Field(description="an IANA time zone such as Asia/Shanghai", strict=True),
]
Code = Annotated[
    str, Field(strict=True, pattern=CODE, description="a code of lower-case letters, digits and _")
]
EvidenceSpecText = Annotated[
    str,
    Field(
        strict=True,
        pattern=EVIDENCE_SPEC.pattern,
        description="an evidence kind ("
        + ", ".join(k.value for k in EvidenceKind)
        + "), optionally ':' and a qualifier ("
        + ", ".join(QUALIFIERS)
        + "), such as video:pre_shipment",
    ),
]
Strength = Annotated[int, whole(0, 100)]
Registry = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64)]],
    Field(max_length=100_000, description="a list of accreditation numbers"),
]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class SettingsRule(_Rule):
    kind: Literal["settings"]
    zone: Zone
    both_ratio: Ratio
    sharpness_threshold: Annotated[float, number(0, 1)]
    near_duplicate_distance: Annotated[int, whole(0, 64)]
    accreditation_registry: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=100_000)
        ]
        | None
    ) = None
    jpeg_max_scans: Annotated[int, whole(1, 10_000)] | None = None
    jpeg_max_segments: Annotated[int, whole(1, 1_000_000)] | None = None
    decoder_cpu_seconds: Annotated[float, number(0, 3600, above=True)] | None = None
    video_timing_tolerance: Annotated[float, number(1, 1000, above=True)] | None = None
    # 2026.1's manual review settings (later rulebooks say it with review rules)
    manual_review_amount: Amount | None = None
    manual_review_near_duplicate: bool | None = None


class StrengthRule(_Rule):
    kind: Literal["strength"]
    photo: Strength
    chat_record: Strength
    video: Strength
    logistics_record: Strength
    inspection_certificate: Strength
    inspection_certificate_accredited: Strength
    # 2026.1 gave findings a strength; no rule weighs them (special and review rows do)
    platform_finding: Strength | None = None


class DeadlineRule(_Rule):
    kind: Literal["deadline"]
    days: Annotated[float, number(0, MAX_DEADLINE_DAYS, above=True)] | None = None
    hours: Annotated[float, number(0, MAX_DEADLINE_DAYS * 24, above=True)] | None = None

    @model_validator(mode="after")
    def _one_duration(self) -> DeadlineRule:
        if (self.days is None) == (self.hours is None):
            raise ValueError("a deadline gives exactly one of days or hours")
        seconds = (self.days or 0) * 86400 + (self.hours or 0) * 3600
        if seconds < 1:
            raise ValueError("a deadline is at least a second long")
        return self


class BurdenRule(_Rule):
    kind: Literal["burden"]
    claim: ClaimName
    party: Literal["buyer", "merchant", "platform"]
    proof: Annotated[list[EvidenceSpecText], Field(max_length=50)]
    rebuttal: Annotated[list[EvidenceSpecText], Field(max_length=50)]
    serial_bonus: Annotated[int, whole(0, 10)] = 0


class WeighRule(_Rule):
    kind: Literal["weigh"]
    proof: Literal["none", "some"]
    rebuttal: Literal["any", "none", "weaker", "equal", "stronger"]
    liability: Literal["burdened", "other", "both"]


class SpecialRule(_Rule):
    kind: Literal["special"]
    claim: ClaimName
    finding: FindingName | None = None
    when: SpecialWhen | None = None
    liability: LiabilityName | None = None
    remedy: RemedyChoice | None = None
    violation: Code | None = None
    return_shipping: Payer | None = None
    exclusions: Annotated[list[Code], Field(max_length=100)] = []

    @model_validator(mode="after")
    def _coherent(self) -> SpecialRule:
        if self.when == "no_finding" and self.finding is None:
            raise ValueError("when = no_finding needs the finding it waits for")
        if self.finding is not None and self.when not in (None, "no_finding", "merchant_liable"):
            raise ValueError(f"a finding does not go with when = {self.when}")
        decides_first = (self.finding is not None and self.when != "merchant_unproven") or (
            self.when == "ineligible"
        )
        if decides_first and self.liability is None:
            raise ValueError("decides the dispute before any weighing, so it must give a liability")
        return self


class RemedyRule(_Rule):
    kind: Literal["remedy"]
    liability: LiabilityName
    remedy: RemedyChoice
    refund: Refund
    return_shipping: Payer | None = None
    penalty_multiplier: Amount
    penalty_minimum: Amount

    @model_validator(mode="after")
    def _rejection_refunds_zero(self) -> RemedyRule:
        rejects = self.remedy in ("rejection", Remedy.REJECT_REFUND, Remedy.REJECT_RETURN)
        if rejects != (self.refund == "zero"):
            raise ValueError("a rejection refunds zero, and only a rejection does")
        return self


class ScopeRule(_Rule):
    kind: Literal["scope"]
    claim: ClaimName
    categories: list[CategoryName] = []
    remedies: list[RequestableName] = []

    @model_validator(mode="after")
    def _says_something(self) -> ScopeRule:
        if not self.categories and not self.remedies:
            raise ValueError("a scope names categories, remedies or both")
        return self


class ReviewRule(_Rule):
    kind: Literal["review"]
    when: ReviewWhen
    amount: Amount | None = None

    @model_validator(mode="after")
    def _amount_with_its_when(self) -> ReviewRule:
        if (self.when == "paid_amount_at_least") != (self.amount is not None):
            raise ValueError("amount goes with (and only with) when = paid_amount_at_least")
        return self


class ShippingRule(_Rule):
    """Who pays the shipping of goods sent back when no decision says (an agreed, negotiated
    or timed-out return, exchange or repair), and for an insured order even when one does:
    ``when = "insured"`` (the insurer), a ``claim`` type's payer, or, naming neither, the
    payer for every other claim type."""

    kind: Literal["shipping"]
    payer: Literal["buyer", "merchant", "insurer"]
    claim: ClaimName | None = None
    when: Literal["insured"] | None = None

    @model_validator(mode="after")
    def _insurer_when_insured(self) -> ShippingRule:
        if self.claim is not None and self.when is not None:
            raise ValueError("a shipping rule names a claim type or when = insured, not both")
        if (self.when == "insured") != (self.payer == "insurer"):
            raise ValueError("the insurer pays when (and only when) the order is insured")
        return self


class FallbackRule(_Rule):
    """What a merchant who misses a shipment deadline (an exchange's replacement, a repaired
    item, a missing part) owes instead: the disputed amount, refunded (商家应及时处理…退款及
    赔付)."""

    kind: Literal["fallback"]
    when: Literal["merchant_missed_shipment"]
    refund: Literal["disputed"]


MIB_MOST = 2048
EVIDENCE_SIZES = {kind: f"{kind.value}_max_mib" for kind in EvidenceKind}


class EvidenceRule(_Rule):
    """The numbers of RULES.md section 6 (the sharpness threshold and near-duplicate distance
    are the settings rule's). A rulebook without one (2026.1's) takes the evidence policy's
    defaults, which are RULES.md's."""

    kind: Literal["evidence"]
    photo_max_mib: Annotated[int, whole(1, MIB_MOST)]
    inspection_certificate_max_mib: Annotated[int, whole(1, MIB_MOST)]
    video_max_mib: Annotated[int, whole(1, MIB_MOST)]
    logistics_record_max_mib: Annotated[int, whole(1, MIB_MOST)]
    chat_record_max_mib: Annotated[int, whole(1, MIB_MOST)]
    # above 100 MP an image does not decode within the decoder's memory and CPU bounds anyway
    max_pixels: Annotated[int, whole(1, 100_000_000)]
    photo_min_short_side: Annotated[int, whole(1, 65535)]  # JPEG's longest side
    video_min_short_side: Annotated[int, whole(1, 65535)]
    video_min_seconds: Annotated[float, number(0.001, 86400)]  # up to a day
    video_max_seconds: Annotated[float, number(0.001, 86400)]
    capture_tolerance_hours: Annotated[float, number(0, 8760)]  # none to a year
    certificate_max_age_days: Annotated[int, whole(1, 3660)]

    @model_validator(mode="after")
    def _consistent(self) -> EvidenceRule:
        shortest, longest = self.video_min_seconds, self.video_max_seconds
        if shortest > longest:
            raise ValueError(
                f"video_min_seconds = {shortest:g} is more than video_max_seconds = {longest:g}"
            )
        side = self.photo_min_short_side
        if side * side > self.max_pixels:
            raise ValueError(
                f"photo_min_short_side = {side} needs at least {side * side:,} pixels, more "
                f"than max_pixels = {self.max_pixels:,}: no photo could be accepted"
            )
        return self


KINDS: dict[str, type[_Rule]] = {
    "settings": SettingsRule,
    "strength": StrengthRule,
    "deadline": DeadlineRule,
    "burden": BurdenRule,
    "weigh": WeighRule,
    "special": SpecialRule,
    "remedy": RemedyRule,
    "scope": ScopeRule,
    "review": ReviewRule,
    "evidence": EvidenceRule,
    "shipping": ShippingRule,
    "fallback": FallbackRule,
}
AnyRule = (
    SettingsRule
    | StrengthRule
    | DeadlineRule
    | BurdenRule
    | WeighRule
    | SpecialRule
    | RemedyRule
    | ScopeRule
    | ReviewRule
    | EvidenceRule
    | ShippingRule
    | FallbackRule
)
Rule = Annotated[AnyRule, Field(discriminator="kind")]
_RULE: TypeAdapter[AnyRule] = TypeAdapter(Rule)


class RulebookTop(BaseModel):
    """A rulebook file's own fields (the rules aside)."""

    model_config = ConfigDict(extra="forbid", strict=True, title="rulebook", defer_build=True)

    id: Annotated[
        str,
        Field(pattern=f"^{RULEBOOK_ID.pattern}$", description="a rulebook id (kuaishou.general)"),
    ]
    version: Annotated[
        str, Field(pattern=f"^{VERSION.pattern}$", description="a version (such as 2026.2)")
    ]
    extends: (
        Annotated[
            str,
            Field(pattern=f"^{RULEBOOK_ID.pattern}$", description="the id of the rulebook below"),
        ]
        | None
    ) = None
    claim_types: Annotated[
        list[ClaimName],
        Field(
            min_length=1,
            description="a list of the claim types this rulebook decides, each one of "
            + ", ".join(c.value for c in ClaimType),
        ),
    ]


class RulebookFile(RulebookTop):
    """A rulebook file; each of its rules is a :data:`Rule`, keyed by rule id."""

    rules: dict[Annotated[str, Field(pattern=f"^{RULE_ID.pattern}$")], Rule] = {}


def validate_top(raw: dict[str, Any]) -> tuple[RulebookTop | None, list[str]]:
    """A rulebook file's own fields checked (its rules are checked one by one)."""
    try:
        return RulebookTop.model_validate({k: v for k, v in raw.items() if k != "rules"}), []
    except ValidationError as exc:
        return None, _sentences(exc, RulebookTop, raw, skip=0)


def validate_rule(raw: Any) -> tuple[AnyRule | None, list[str]]:
    """One rule checked against its kind's model: the rule, or the problems (each a sentence
    naming the field)."""
    if not isinstance(raw, dict):
        return None, ["must be a table"]
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        return None, [f"unknown kind {kind!r} (one of {', '.join(KINDS)})"]
    try:
        return _RULE.validate_python(raw), []
    except ValidationError as exc:
        return None, _sentences(exc, KINDS[kind], raw, skip=1)


def _sentences(
    exc: ValidationError, model: type[BaseModel], raw: dict[str, Any], *, skip: int
) -> list[str]:
    """Each error as a sentence; ``skip`` the leading parts of its location (the kind a rule
    was told apart by)."""
    missing, unknown, said = [], [], []
    for error in exc.errors(include_url=False):
        where = error["loc"][skip:]
        field = ".".join(map(str, where[:1])) + "".join(f"[{p}]" for p in where[1:])
        if error["type"] == "missing":
            missing.append(field)
        elif error["type"] == "extra_forbidden":
            unknown.append(field)
        elif not where:  # the rule as a whole (a model validator)
            said.append(str(error["msg"]).removeprefix("Value error, "))
        else:
            info = model.model_fields.get(str(where[0]))
            what = None
            if info is not None:
                what = info.description or _described(info.annotation) or _meaning(info.annotation)
            said.append(f"{field} = {_shown(error['input'])} must be {what or error['msg']}")
    out = []
    if unknown:
        of = f" for a {raw['kind']} rule" if "kind" in raw else ""
        out.append(f"unknown key(s) {', '.join(sorted(unknown))}{of}")
    if missing:
        out.append(f"missing key(s) {', '.join(sorted(missing))}")
    return out + said


def _described(annotation: Any) -> str | None:
    """The description inside an optional field's type (``Annotated[int, Field(...)] | None``)."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, FieldInfo) and meta.description:
            return meta.description
    for arg in getattr(annotation, "__args__", ()):
        found = _described(arg)
        if found:
            return found
    return None


def _meaning(annotation: Any) -> str | None:
    """Words for a field's type where it has no description: its allowed values."""
    values = _literals(annotation)
    return f"one of {', '.join(values)}" if values else None


def _literals(annotation: Any) -> list[str]:
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is Literal:
        return [str(a) for a in args]
    found: list[str] = []
    for arg in args:
        found += _literals(arg)
    return found


def _shown(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return repr(value)


def rulebook_schema() -> dict[str, Any]:
    """The JSON Schema of a rulebook file (TOML read as JSON), made from the models."""
    schema = RulebookFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dispute-adjudicator.example/schema/rulebook.json",
        **schema,
    }
