"""The only part of tuneless that imports torch: the LR schedulers (fixed, online-refined), the gradient-norm
recorder, Mechanic, NAdamW."""

from .mechanic import Mechanic
from .nadamw import NAdamW
from .online import OnlineRefinedLR
from .recorder import GradNormRecorder
from .scheduler import ScheduleLR

__all__ = ["GradNormRecorder", "Mechanic", "NAdamW", "OnlineRefinedLR", "ScheduleLR"]
