"""tuneless: learning-rate schedules with a reason, refinement from gradient norms, and a benchmark to settle it."""

__version__ = "0.1.0"
