"""The only part of tuneless that imports torch: the LR scheduler, the gradient-norm recorder, Mechanic, NAdamW."""

from .mechanic import Mechanic
from .nadamw import NAdamW
from .recorder import GradNormRecorder
from .scheduler import ScheduleLR

__all__ = ["GradNormRecorder", "Mechanic", "NAdamW", "ScheduleLR"]
