"""dispute-adjudicator: settle after-sales disputes by the platform's burden-of-proof rules."""

from adjudicator.errors import AdjudicationError, UsageError

__all__ = ["AdjudicationError", "UsageError"]
