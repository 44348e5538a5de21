"""Rulebooks load, layer and refuse to load when unsound (RULES.md section 1)."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

import adjudicator
from adjudicator.domain import ClaimType, Remedy
from adjudicator.rulebook import (
    BUILTIN,
    DEADLINES,
    OPTIONAL_DEADLINES,
    RulebookError,
    archived_versions,
    load_released,
    load_rulebook,
)
from evidence import DEFAULT_POLICY, EvidenceKind, EvidencePolicy
from evidence.policy import MIB

GENERAL_TEXT = (resources.files("adjudicator") / "rulebooks" / "kuaishou.general.toml").read_text()


def _variant(tmp_path: Path, old: str, new: str, name: str = "variant.toml") -> Path:
    assert old in GENERAL_TEXT, old
    path = tmp_path / name
    path.write_text(GENERAL_TEXT.replace(old, new, 1))
    return path


def _problems(path: Path) -> str:
    with pytest.raises(RulebookError) as caught:
        load_rulebook(path)
    return str(caught.value)


def test_the_built_in_rulebooks_layer() -> None:
    general = load_rulebook("kuaishou.general")
    used = load_rulebook("kuaishou.used_3c")
    assert (general.label, used.label) == ("kuaishou.general@2026.3", "kuaishou.used_3c@2026.3")
    assert ClaimType.UNOFFICIAL_REPAIR in used.claim_types
    assert ClaimType.UNOFFICIAL_REPAIR not in general.claim_types
    # the overlay replaces burden.wrong_item, and keeps what it does not say
    assert used.burdens[ClaimType.WRONG_ITEM].serial_bonus == 1
    assert general.burdens[ClaimType.WRONG_ITEM].serial_bonus == 0
    assert used.deadline("deadline.evidence") == timedelta(hours=72)
    assert general.digest != used.digest


def test_the_digest_follows_the_content(tmp_path: Path) -> None:
    same = _variant(tmp_path, 'version = "2026.3"', 'version = "2026.3"')
    changed = _variant(tmp_path, 'both_ratio = "0.5"', 'both_ratio = "0.6"', "changed.toml")
    general = load_rulebook("kuaishou.general")
    assert load_rulebook(same).digest == general.digest
    assert load_rulebook(changed).digest != general.digest


def test_an_overlay_file_extends_a_file_beside_it(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(GENERAL_TEXT.replace("kuaishou.general", "base"))
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(
        'id = "overlay"\nversion = "1"\nextends = "base"\n'
        f"claim_types = {_claim_types()}\n"
        '[rules."deadline.evidence"]\nkind = "deadline"\nhours = 96\n'
    )
    assert load_rulebook(overlay).deadline("deadline.evidence") == timedelta(hours=96)


def _claim_types() -> str:
    general = load_rulebook("kuaishou.general")
    return repr(sorted(c.value for c in general.claim_types)).replace("'", '"')


def test_the_rulebook_sets_the_decoding_bounds(tmp_path: Path) -> None:
    policy = load_rulebook("kuaishou.general").evidence_policy()
    assert (policy.jpeg_max_scans, policy.jpeg_max_segments) == (32, 1000)
    assert (policy.decoder_cpu_seconds, policy.video_timing_tolerance) == (2.0, 1.5)
    stricter = _variant(tmp_path, SETTINGS, f"{SETTINGS}\njpeg_max_scans = 12")
    assert load_rulebook(stricter).evidence_policy().jpeg_max_scans == 12


SETTINGS = "near_duplicate_distance = 6"  # the last line of the settings rule
LIMITS = "certificate_max_age_days = 365"  # the last line of the evidence rule

# RULES.md section 6, number by number: what the built-in evidence rule must state
SECTION_6 = {
    "photo_max_mib": 20,
    "inspection_certificate_max_mib": 20,
    "video_max_mib": 200,
    "logistics_record_max_mib": 5,
    "chat_record_max_mib": 5,
    "max_pixels": 40_000_000,
    "photo_min_short_side": 480,
    "video_min_short_side": 240,
    "video_min_seconds": 1,
    "video_max_seconds": 600,
    "capture_tolerance_hours": 24,
    "certificate_max_age_days": 365,
}


def test_the_built_in_rulebook_states_every_number_of_section_6() -> None:
    """Nothing of RULES.md section 6 falls back to a default in code: the general rulebook
    says each number (the overlay inherits them)."""
    rules = tomllib.loads(GENERAL_TEXT)["rules"]
    assert rules["evidence.limits"] == {"kind": "evidence", **SECTION_6}
    assert rules["settings"]["sharpness_threshold"] == 0.10
    assert rules["settings"]["near_duplicate_distance"] == 6
    for rulebook_id in BUILTIN:
        book = load_rulebook(rulebook_id)
        assert book.evidence.rule == "evidence.limits"
        policy = book.evidence_policy()
        assert {kind: policy.size_limit(kind) for kind in EvidenceKind} == {
            kind: SECTION_6[f"{kind.value}_max_mib"] * MIB for kind in EvidenceKind
        }
        assert policy.capture_tolerance == timedelta(hours=24)
        assert policy.certificate_max_age_days == 365


def test_every_number_of_section_6_comes_from_the_rulebook(tmp_path: Path) -> None:
    """Each number the rulebook states is the one validation applies: a rulebook that says
    other numbers gives a policy in which every one of them differs from the default."""
    other = {name: value + 1 for name, value in SECTION_6.items()}
    evidence = "".join(f"{name} = {value}\n" for name, value in other.items())
    path = tmp_path / "other.toml"
    text = GENERAL_TEXT.replace("sharpness_threshold = 0.10", "sharpness_threshold = 0.2")
    text = text.replace("near_duplicate_distance = 6", "near_duplicate_distance = 3")
    start = text.index("photo_max_mib")
    end = text.index(LIMITS) + len(LIMITS) + 1
    path.write_text(text[:start] + evidence + text[end:])
    policy = load_rulebook(path).evidence_policy()
    for kind in EvidenceKind:
        assert policy.size_limit(kind) == other[f"{kind.value}_max_mib"] * MIB
    assert policy.max_pixels == 40_000_001
    assert (policy.photo_min_short_side, policy.video_min_short_side) == (481, 241)
    assert (policy.video_min_seconds, policy.video_max_seconds) == (2.0, 601.0)
    assert policy.capture_tolerance == timedelta(hours=25)
    assert policy.certificate_max_age_days == 366
    assert (policy.sharpness_threshold, policy.near_duplicate_distance) == (0.2, 3)
    rule_numbers = (
        "size_limits",
        "max_pixels",
        "photo_min_short_side",
        "video_min_short_side",
        "video_min_seconds",
        "video_max_seconds",
        "capture_tolerance",
        "certificate_max_age_days",
        "sharpness_threshold",
        "near_duplicate_distance",
    )
    for name in rule_numbers:
        assert getattr(policy, name) != getattr(DEFAULT_POLICY, name), name


def test_the_evidence_rule_sets_the_evidence_policy(tmp_path: Path) -> None:
    path = _variant(tmp_path, "photo_max_mib = 20", "photo_max_mib = 1")
    path.write_text(
        path.read_text()
        .replace("capture_tolerance_hours = 24", "capture_tolerance_hours = 72")
        .replace(LIMITS, "certificate_max_age_days = 30")
    )
    policy = load_rulebook(path).evidence_policy()
    assert policy.size_limit(EvidenceKind.PHOTO) == MIB
    assert policy.size_limit(EvidenceKind.VIDEO) == 200 * MIB
    assert policy.capture_tolerance == timedelta(hours=72)
    assert policy.certificate_max_age_days == 30
    # fractional hours and seconds are durations too
    half = _variant(tmp_path, "capture_tolerance_hours = 24", "capture_tolerance_hours = 0.5")
    assert load_rulebook(half).evidence_policy().capture_tolerance == timedelta(minutes=30)


def test_the_archived_releases_have_no_evidence_rule_and_keep_the_default_policy() -> None:
    """2026.1 said none of these numbers: its disputes are still judged by the defaults (which
    are RULES.md's, the numbers 2026.2 states)."""
    for rulebook_id in BUILTIN:
        released = load_rulebook(rulebook_id, version="2026.1")
        assert released.evidence.rule is None
        assert released.evidence_policy() == EvidencePolicy()
        assert load_rulebook(rulebook_id).evidence_policy() == EvidencePolicy()


def test_an_overlay_may_replace_the_evidence_rule(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(GENERAL_TEXT.replace("kuaishou.general", "base"))
    overlay = tmp_path / "overlay.toml"
    numbers = {**SECTION_6, "video_max_seconds": 300}
    overlay.write_text(
        'id = "overlay"\nversion = "1"\nextends = "base"\n'
        f"claim_types = {_claim_types()}\n"
        '[rules."evidence.limits"]\nkind = "evidence"\n'
        + "".join(f"{name} = {value}\n" for name, value in numbers.items())
    )
    assert load_rulebook(overlay).evidence_policy().video_max_seconds == 300.0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("hours = 72", 'hours = 72\ncolour = "red"', "deadline.evidence: unknown key(s) colour"),
        ("hours = 72", "hours = 0", "deadline.evidence: hours = 0 must be a number above 0"),
        ("hours = 72", "hours = -3", "hours = -3 must be a number above 0"),
        ("hours = 72", "days = 3\nhours = 72", "exactly one of days or hours"),
        (
            '[rules."burden.not_shipped"]\nkind = "burden"',
            '[rules."burden.not_shipped"]\nkind = "burdn"',
            "burden.not_shipped: unknown kind 'burdn'",
        ),
        (
            '[rules."burden.missing_parts"]\nkind = "burden"\nclaim = "missing_parts"',
            '[rules."burden.missing_parts"]\nkind = "burden"\nclaim = "wrong_item"',
            "claim type missing_parts has no decision row",
        ),
        (
            'rebuttal = "weaker"\nliability = "other"',
            'rebuttal = "equal"\nliability = "other"',
            "matches the same situation",
        ),
        (
            '[rules."special.carrier_loss"]\nkind = "special"\nclaim = "not_received"\n'
            'finding = "carrier_loss"\nliability = "neither"\nremedy = "refund_only"',
            "",
            "remedy.neither: no row can reach it",
        ),
        (
            'both_ratio = "0.5"',
            "both_ratio = 0.5",
            'both_ratio = 0.5 must be a decimal string from 0 to 1, such as "0.5" (never a float)',
        ),
        (
            'proof = ["photo", "video"]',
            'proof = ["selfie"]',
            "proof[0] = 'selfie' must be an evidence kind",
        ),
        ('id = "kuaishou.general"', 'id = "kuaishou.general"\nauthor = "me"', "unknown top-level"),
        (SETTINGS, f"{SETTINGS}\njpeg_max_scans = 0", "jpeg_max_scans = 0 must be a whole number"),
        (SETTINGS, f"{SETTINGS}\njpeg_max_scans = 3.5", "jpeg_max_scans = 3.5 must be a whole"),
        (SETTINGS, f"{SETTINGS}\ndecoder_cpu_seconds = 0", "must be a number above 0"),
        (SETTINGS, f"{SETTINGS}\nvideo_timing_tolerance = 1", "must be a number above 1"),
        # the evidence rule: every number checked, the rule and the field named
        (
            "max_pixels = 40_000_000",
            "max_pixels = 40_000_000.5",
            "rule evidence.limits: max_pixels = 40000000.5 must be a whole number "
            "from 1 to 100,000,000",
        ),
        (
            "photo_max_mib = 20",
            "photo_max_mib = -20",
            "rule evidence.limits: photo_max_mib = -20 must be a whole number from 1 to 2,048",
        ),
        ("video_max_mib = 200", "video_max_mib = 0", "video_max_mib = 0 must be a whole number"),
        ("video_max_mib = 200", "video_max_mib = 4096", "video_max_mib = 4096 must be"),
        ("video_max_mib = 200", 'video_max_mib = "200"', "video_max_mib = '200' must be"),
        (LIMITS, "certificate_max_age_days = 365.0", "certificate_max_age_days = 365.0 must be"),
        (LIMITS, "certificate_max_age_days = 36500", "from 1 to 3,660"),
        ("photo_min_short_side = 480", "photo_min_short_side = true", "= True must be"),
        (
            "capture_tolerance_hours = 24",
            "capture_tolerance_hours = -1",
            "capture_tolerance_hours = -1 must be a number from 0 to 8,760",
        ),
        ("capture_tolerance_hours = 24", "capture_tolerance_hours = nan", "= nan must be"),
        ("video_min_seconds = 1", "video_min_seconds = inf", "video_min_seconds = inf must be"),
        ("video_min_seconds = 1", "video_min_seconds = 0", "from 0.001 to 86,400"),
        (
            "video_min_seconds = 1",
            "video_min_seconds = 700",
            "rule evidence.limits: video_min_seconds = 700 is more than video_max_seconds = 600",
        ),
        (
            "photo_min_short_side = 480",
            "photo_min_short_side = 8000",
            "photo_min_short_side = 8000 needs at least 64,000,000 pixels, more than "
            "max_pixels = 40,000,000: no photo could be accepted",
        ),
        ("video_max_seconds = 600\n", "", "evidence.limits: missing key(s) video_max_seconds"),
        (LIMITS, f"{LIMITS}\ncolour = 1", "evidence.limits: unknown key(s) colour"),
        (
            '[rules."evidence.limits"]',
            '[rules."evidence.other"]\nkind = "evidence"\n'
            + "".join(f"{name} = {value}\n" for name, value in SECTION_6.items())
            + '[rules."evidence.limits"]',
            "has 2 evidence rules (evidence.limits, evidence.other); it may have one",
        ),
    ],
)
def test_unsound_rulebooks_do_not_load(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = _variant(tmp_path, old, new)
    message = _problems(path)
    assert expected in message
    assert str(path) in message  # every problem names the file


def test_a_missing_remedy_row_is_named(tmp_path: Path) -> None:
    path = _variant(
        tmp_path,
        '[rules."remedy.both"]\nkind = "remedy"\nliability = "both"',
        '[rules."remedy.both"]\nkind = "remedy"\nliability = "neither"',
    )
    message = _problems(path)
    assert "liability both can be decided but has no remedy row" in message


def test_bad_toml_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("id = ")
    assert "not valid TOML" in _problems(broken)
    assert "cannot read rulebook" in _problems(tmp_path / "nope.toml")


def test_a_rulebook_without_a_deadline_the_workflow_needs_is_unsound(tmp_path: Path) -> None:
    path = _variant(tmp_path, '[rules."deadline.appeal"]\nkind = "deadline"', "")
    assert "has no deadline.appeal rule, which the workflow needs" in _problems(path)


def test_every_deadline_the_code_looks_up_is_required() -> None:
    """The list of required deadlines is the code's: every deadline rule id named anywhere in
    the adjudicator's source is in it (a new one must be added there, or rulebooks without it
    would load and then fail in the middle of a dispute)."""
    source = Path(adjudicator.__file__).parent
    named = {
        match
        for file in source.glob("*.py")
        for match in re.findall(r'"(deadline\.[a-z_.]+[a-z])"', file.read_text("utf-8"))
    }
    known = {*DEADLINES, *OPTIONAL_DEADLINES}
    assert named <= known, sorted(named - known)


def test_a_rulebook_without_the_optional_deadlines_takes_no_offers_nor_shipments() -> None:
    older = load_rulebook("kuaishou.general@2026.2")
    assert not set(OPTIONAL_DEADLINES) & set(older.deadlines)
    for remedy in (Remedy.EXCHANGE, Remedy.RESHIPMENT, Remedy.REPAIR):
        said = older.admits(remedy)
        assert said is not None
        assert said.startswith("rulebook kuaishou.general@2026.2 has no deadline.")
        assert said.endswith(f"fallback rule: it does not admit {remedy}")
        assert load_rulebook("kuaishou.general").admits(remedy) is None
    assert older.admits(Remedy.RETURN_AND_REFUND) is None


def test_a_fractional_near_duplicate_distance_is_unsound(tmp_path: Path) -> None:
    path = _variant(tmp_path, "near_duplicate_distance = 6", "near_duplicate_distance = 6.5")
    assert "near_duplicate_distance = 6.5 must be a whole number" in _problems(path)


# Every release of a built-in rulebook, and the digest of its resolved content. Disputes keep
# the digest; a change to a built-in rulebook changes it, so the change needs a new version
# and the old file goes to adjudicator/rulebooks/archive/ (named id@version.toml) unchanged.
RELEASED = {
    (
        "kuaishou.general",
        "2026.1",
    ): "7a661a6fa2c70ca7e60e499fdde0f1b0b4da0d94e9d08dc76d4c0581f0cd0416",
    (
        "kuaishou.used_3c",
        "2026.1",
    ): "318c948449474d74d822c4e81f28d7593c814cd57db7f400fb52f4ea4c15c997",
    (
        "kuaishou.general",
        "2026.2",
    ): "fdac254b912fd7c15b9d724778f6ccce7cab47e0692a7be05ac63e1cbb73727b",
    (
        "kuaishou.used_3c",
        "2026.2",
    ): "71a0309e496309c9db7e0891c82cc2228a0ec859102c2afcde35eb53983a35b9",
    (
        "kuaishou.general",
        "2026.3",
    ): "4bf17d6a7dcbbcc0cbf1f67bcbe777d2ffb9b0896814a68578da1b7c7f953ce0",
    (
        "kuaishou.used_3c",
        "2026.3",
    ): "610da47c4eda0e5ea7488ed991cd1b97c87903ec1655df0dc3dd3543435e44e9",
}


def test_a_changed_built_in_rulebook_has_a_new_version_and_its_releases_stay_loadable() -> None:
    for rulebook_id in BUILTIN:
        current = load_rulebook(rulebook_id)
        assert RELEASED.get((rulebook_id, current.version)) == current.digest, (
            f"{rulebook_id} changed: give it a new version, archive the released file, and "
            "add its digest here"
        )
        for version in archived_versions(rulebook_id):
            assert version != current.version
            book = load_rulebook(rulebook_id, version=version)
            assert (book.label, book.digest) == (
                f"{rulebook_id}@{version}",
                RELEASED[rulebook_id, version],
            )
            assert load_released(rulebook_id, book.digest) == book
    shipped = {(b, v) for b in BUILTIN for v in archived_versions(b)}
    shipped |= {(b, load_rulebook(b).version) for b in BUILTIN}
    assert shipped == set(RELEASED)  # no release is lost from the archive
    assert load_released("kuaishou.general", "0" * 64) is None


def test_an_archived_version_extends_the_same_version_below_it() -> None:
    used = load_rulebook("kuaishou.used_3c", version="2026.1")
    assert "review.finding" not in str(used.reviews)  # 2026.1 had no such rule
    assert [r.id for r in used.reviews] == ["settings", "settings"]  # its settings said it
    with pytest.raises(RulebookError, match=r"kuaishou\.general: no version 2025\.9"):
        load_rulebook("kuaishou.general", version="2025.9")
    with pytest.raises(RulebookError, match="not a rulebook version"):
        load_rulebook("kuaishou.general", version="../../etc/passwd")


def test_a_rejection_refunds_zero_and_a_finding_row_says_when(tmp_path: Path) -> None:
    refunding_rejection = _variant(
        tmp_path,
        'remedy = "rejection"\nrefund = "zero"',
        'remedy = "rejection"\nrefund = "disputed"',
    )
    assert "remedy.buyer: a rejection refunds zero, and only a rejection does" in _problems(
        refunding_rejection
    )
    zero_refund = _variant(
        tmp_path,
        'remedy = "refund_only"\nrefund = "disputed"',
        'remedy = "refund_only"\nrefund = "zero"',
        "zero.toml",
    )
    assert "remedy.neither: a rejection refunds zero, and only a rejection does" in _problems(
        zero_refund
    )
    waiting_for_nothing = _variant(
        tmp_path,
        'finding = "illegal_origin"\nwhen = "no_finding"',
        'when = "no_finding"',
        "waiting.toml",
    )
    assert "special.illegal_origin.not_found: when = no_finding needs the finding" in _problems(
        waiting_for_nothing
    )
    odd = _variant(
        tmp_path,
        'claim = "not_shipped"\nwhen = "merchant_unproven"',
        'claim = "not_shipped"\nfinding = "carrier_loss"\nwhen = "merchant_unproven"',
        "odd.toml",
    )
    assert "a finding does not go with when = merchant_unproven" in _problems(odd)
