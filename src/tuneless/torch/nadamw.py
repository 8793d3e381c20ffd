"""``NAdamW``: the AlgoPerf baseline's Nesterov Adam with decoupled weight decay.

Update (Dahl et al., arXiv 2306.07179, NAdamW baseline; Nesterov momentum as in Dozat 2016 with a constant beta1,
decoupled weight decay as in Loshchilov & Hutter 2019), 1-based step t, learning rate lr_t from the schedule:

    x   <- x * (1 - lr_t * weight_decay)
    m_t  = beta1 * m_{t-1} + (1 - beta1) * g_t
    v_t  = beta2 * v_{t-1} + (1 - beta2) * g_t^2
    x   <- x - lr_t * [(beta1 * m_t + (1 - beta1) * g_t) / (1 - beta1^t)] / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

Why not ``torch.optim.NAdam(decoupled_weight_decay=True)``: torch implements Dozat's NAdam with a momentum schedule
mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)) (so mu_t = beta1 / 2 with momentum_decay = 0) and bias-corrects
the momentum term by 1 - prod_{i<=t+1} mu_i; even in the limit mu_t = beta1 its step is
beta1 m_t / (1 - beta1^(t+1)) + (1 - beta1) g_t / (1 - beta1^t), not the formula above. tests/torch/test_nadamw.py
measures the difference; docs/tuning.md records it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["NAdamW"]


class NAdamW(torch.optim.Optimizer):
    """Nesterov Adam with decoupled weight decay, as in the AlgoPerf NAdamW baseline (formula in the module doc).

    Args:
        params: parameters or param-group dicts.
        lr: peak learning rate (a schedule, e.g. ``ScheduleLR``, multiplies it), >= 0.
        betas: (beta1, beta2), each in [0, 1).
        eps: added to the bias-corrected sqrt(v), >= 0 (AlgoPerf: 1e-8).
        weight_decay: decoupled weight decay, multiplied by the current lr, >= 0.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"NAdamW: lr must be >= 0, got {lr}")
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"NAdamW: betas must be two values in [0, 1), got {betas}")
        if not eps >= 0.0:
            raise ValueError(f"NAdamW: eps must be >= 0, got {eps}")
        if not weight_decay >= 0.0:
            raise ValueError(f"NAdamW: weight_decay must be >= 0, got {weight_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2) = float(group["lr"]), group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ValueError("NAdamW: sparse gradients are not supported")
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = int(state["step"].item())
                grad, exp_avg, exp_avg_sq = p.grad, state["exp_avg"], state["exp_avg_sq"]
                p.mul_(1.0 - lr * group["weight_decay"])
                exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                nesterov = exp_avg.mul(beta1).add_(grad, alpha=1.0 - beta1)
                denom = exp_avg_sq.sqrt().div_(math.sqrt(1.0 - beta2**t)).add_(group["eps"])
                p.addcdiv_(nesterov, denom, value=-lr / (1.0 - beta1**t))
        return loss
