"""The warning category of refinement (defined once, so callers can filter it)."""

from __future__ import annotations

__all__ = ["RefinementWarning"]


class RefinementWarning(UserWarning):
    """Something in a trace or a refinement the user should know about: dropped non-finite norms, a shrunk
    smoothing window, a norm that does not match the weighting, a partial last line or a repeated step."""
