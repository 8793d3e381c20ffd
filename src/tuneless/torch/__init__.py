"""The only part of tuneless that imports torch: the LR schedulers (fixed, online-refined), the gradient-norm
recorder, Mechanic, NAdamW."""

from ..extras import require

require("torch", "tuneless.torch")  # an ImportError that names the extra, before any submodule needs torch

from .mechanic import Mechanic  # noqa: E402
from .nadamw import NAdamW  # noqa: E402
from .online import OnlineRefinedLR  # noqa: E402
from .recorder import GradNormRecorder  # noqa: E402
from .scheduler import ScheduleLR  # noqa: E402

__all__ = ["GradNormRecorder", "Mechanic", "NAdamW", "OnlineRefinedLR", "ScheduleLR"]
