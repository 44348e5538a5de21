"""Instants with a zone offset, and naive EXIF wall-clock times read in the rulebook zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def parse_instant(text: str) -> datetime:
    """An RFC 3339 timestamp with an offset; raises ValueError otherwise."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{text!r} has no zone offset")
    return value


def parse_day_or_instant(text: str, zone: str) -> date:
    """A calendar day (``2026-03-01``) or an instant, as a day in ``zone``."""
    if len(text) == 10:
        return date.fromisoformat(text)
    return parse_instant(text).astimezone(ZoneInfo(zone)).date()


def resolve_wall_time(text: str, zone: str) -> datetime:
    """A capture time from evidence facts: with its own offset, or naive in ``zone``."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(zone))
    return value


def day_in_zone(instant: datetime, zone: str) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()
