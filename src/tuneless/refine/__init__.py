"""Schedule refinement from a previous run's gradient norms, and the last-iterate bound (Defazio et al.,
arXiv 2310.07831); numpy and scipy only, no torch.

    trace = read_trace("trace.csv")               # written by tuneless.torch.GradNormRecorder
    schedule = refine(trace, weighting="adam")       # a Tabulated schedule, peak 1, last step 0
    schedule.save("refined.json")                 # tuneless.schedules.load_schedule / ScheduleLR read it
"""

from ._warning import RefinementWarning
from .bound import bound_at_best_base_lr, bound_optimal_step_sizes, last_iterate_bound
from .bound_curve import bound_curve, bound_curve_terms
from .logs import read_trace
from .refinement import (
    DEFAULT_TAU,
    WEIGHTINGS,
    median_smooth,
    refine,
    refined_multipliers,
    smoothing_window,
    weighting_of,
)
from .trace import NORM_COLUMNS, NORM_KINDS, Trace, norm_kind_of
from .transfer import best_base_lr, extend_schedule, transfer_lr

__all__ = [
    "refine",
    "RefinementWarning",
    "DEFAULT_TAU",
    "WEIGHTINGS",
    "median_smooth",
    "smoothing_window",
    "refined_multipliers",
    "Trace",
    "read_trace",
    "NORM_COLUMNS",
    "NORM_KINDS",
    "norm_kind_of",
    "weighting_of",
    "last_iterate_bound",
    "bound_at_best_base_lr",
    "bound_optimal_step_sizes",
    "bound_curve",
    "bound_curve_terms",
    "best_base_lr",
    "transfer_lr",
    "extend_schedule",
]
