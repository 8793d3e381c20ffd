"""Workloads for the runner tests, built on the docs example (real data: scikit-learn's diabetes set)."""

from __future__ import annotations

import os
from pathlib import Path

from tuneless.bench.catalog.workload import load_workload_class

Diabetes = load_workload_class(f"{Path(__file__).resolve().parents[2] / 'docs/examples/my_workload.py'}:Diabetes")


class ShortDiabetes(Diabetes):
    """60 steps, evaluations every 10: a trial takes a few hundredths of a second."""

    name = "diabetes-short"
    budget_steps = 60
    eval_every = 10
    peak_lrs = (0.01, 0.03)


class RaisingDiabetes(ShortDiabetes):
    """Raises in the middle of training at the larger peak lr."""

    name = "diabetes-raising"

    def train_loss(self, model, data, step):
        if step == 7 and data.get("peak_lr_marker"):
            raise RuntimeError("boom at step 7")
        return super().train_loss(model, data, step)

    def build(self, seed, device):
        model, data = super().build(seed, device)
        data["peak_lr_marker"] = seed == 1
        return model, data


class DyingDiabetes(ShortDiabetes):
    """The trial process of seed 1 dies outright (as on a segfault or an out-of-memory kill)."""

    name = "diabetes-dying"

    def train_loss(self, model, data, step):
        if step == 5 and data["dies"]:
            os._exit(3)
        return super().train_loss(model, data, step)

    def build(self, seed, device):
        model, data = super().build(seed, device)
        data["dies"] = seed == 1
        return model, data


class CountingDiabetes(ShortDiabetes):
    """Appends one line per trial run (its process id) to ``$TUNELESS_TEST_BUILD_LOG``, and takes a little longer,
    so that concurrent drivers overlap: the concurrent-resume test counts how often trials ran."""

    name = "diabetes-counting"

    def build(self, seed, device):
        import time

        with open(os.environ["TUNELESS_TEST_BUILD_LOG"], "a") as log:
            log.write(f"{os.getpid()} {seed}\n")
        time.sleep(0.3)
        return super().build(seed, device)


class OutOfMemoryDiabetes(ShortDiabetes):
    """Seed 1 raises CUDA's out-of-memory error at step 4 (the exception type, injected on the CPU)."""

    name = "diabetes-oom"

    def train_loss(self, model, data, step):
        import torch

        if step == 4 and data["oom"]:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return super().train_loss(model, data, step)

    def build(self, seed, device):
        model, data = super().build(seed, device)
        data["oom"] = seed == 1
        return model, data


class NaNFromStep13Diabetes(ShortDiabetes):
    """The training loss is NaN from step 13 on (between two evaluations, which come every 10 steps)."""

    name = "diabetes-nan"

    def train_loss(self, model, data, step):
        loss = super().train_loss(model, data, step)
        return loss * float("nan") if step >= 13 else loss


class SeedOnlyDiabetes(ShortDiabetes):
    """A workload written before devices: ``build(self, seed)``."""

    name = "diabetes-seed-only"

    def build(self, seed):
        return super().build(seed, "cpu")


class UnknownOptimizerDiabetes(ShortDiabetes):
    """An optimizer name no one registered: refused before the run starts."""

    name = "diabetes-lion"
    optimizer = "lion(beta=0.9)"


class NaNTargetDiabetes(ShortDiabetes):
    """A target that no metric can reach: refused before the run starts."""

    name = "diabetes-nan-target"
    target = float("nan")


class NeverBuildsDiabetes(ShortDiabetes):
    """Every trial fails (its model cannot be built): the run exits non-zero."""

    name = "diabetes-never-builds"

    def build(self, seed, device):
        raise RuntimeError("no model today")


class NAdamWDiabetes(ShortDiabetes):
    """A registered optimizer that Mechanic has no wrapper for (there is no mechanic_nadamw)."""

    name = "diabetes-nadamw"
    optimizer = "nadamw(beta1=0.9, beta2=0.999, weight_decay=0.0)"


class BareNAdamWDiabetes(ShortDiabetes):
    """NAdamW without the arguments its factory needs: refused before the run, not in every trial."""

    name = "diabetes-bare-nadamw"
    optimizer = "nadamw"


class ThreadedDiabetes(ShortDiabetes):
    """Builds with a torch op big enough to run on several OpenMP threads (a 512 x 512 triu, as a transformer's
    causal mask does)."""

    name = "threaded-diabetes"

    def build(self, seed, device):
        import torch

        torch.triu(torch.full((512, 512), 1.0), 1)
        return super().build(seed, device)
