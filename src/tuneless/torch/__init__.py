"""The only part of tuneless that imports torch: the LR scheduler, the gradient-norm recorder, Mechanic, NAdamW."""

from .scheduler import ScheduleLR

__all__ = ["ScheduleLR"]
