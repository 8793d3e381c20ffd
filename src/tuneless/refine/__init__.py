"""Schedule refinement from a previous run's gradient norms (Defazio et al., arXiv 2310.07831); numpy only."""

from ._warning import RefinementWarning
from .trace import NORM_COLUMNS, Trace, read_trace

__all__ = ["RefinementWarning", "Trace", "read_trace", "NORM_COLUMNS"]
