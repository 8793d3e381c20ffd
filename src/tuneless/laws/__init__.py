"""Loss-curve laws (annealing law, multi-power law, last-iterate bound law): fit on logged curves, predict any
schedule's curve."""

from .bound import BoundLaw  # registers "bound" in LAWS
from .choose import Choice, best_schedule, optimal_schedule, predicted_final_loss
from .curves import Curve, load_curve, read_loss_csv, schedule_lrs
from .models import LAWS, AnnealingLaw, Law, MultiPowerLaw, huber, make_law, metrics

__all__ = [
    "Curve",
    "load_curve",
    "read_loss_csv",
    "schedule_lrs",
    "Law",
    "MultiPowerLaw",
    "AnnealingLaw",
    "BoundLaw",
    "LAWS",
    "make_law",
    "metrics",
    "huber",
    "Choice",
    "best_schedule",
    "optimal_schedule",
    "predicted_final_loss",
]
