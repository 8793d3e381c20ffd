"""tuneless.integrations.lightning on a real Lightning Trainer (CPU, a small MLP, fixed batches)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import torch
from tuneless.refine import read_trace
from tuneless.schedules import as_schedule
from tuneless.torch import ScheduleLR

pl = pytest.importorskip("lightning.pytorch")  # installed by `make test` ([lightning] extra): never skips there

from tuneless.integrations.lightning import GradNormCallback, lr_scheduler_config  # noqa: E402

PEAK, BATCHES, BATCH = 0.05, 16, 8


def data() -> torch.utils.data.TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCHES * BATCH, 6, generator=g)
    y = torch.sin(x @ torch.randn(6, 1, generator=g))
    return torch.utils.data.TensorDataset(x, y)


class Regression(pl.LightningModule):
    def __init__(self, schedule="linear") -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
        self.schedule = schedule
        self.lrs: list[float] = []

    def training_step(self, batch, batch_index):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def on_before_optimizer_step(self, optimizer):
        self.lrs.append(optimizer.param_groups[0]["lr"])

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=PEAK, momentum=0.9)
        return {"optimizer": optimizer, "lr_scheduler": lr_scheduler_config(optimizer, self.schedule, self.trainer)}

    def train_dataloader(self):
        return torch.utils.data.DataLoader(data(), batch_size=BATCH, shuffle=False)


def fit(tmp_path, module, **settings) -> pl.Trainer:
    options = dict(
        accelerator="cpu", devices=1, max_epochs=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
        callbacks=[GradNormCallback(tmp_path / "trace.csv")],
    )  # fmt: skip
    options.update(settings)
    trainer = pl.Trainer(**options)
    trainer.fit(module)
    return trainer


def test_recorded_norms_equal_a_hand_written_loop_with_accumulation_and_clipping(tmp_path):
    module = Regression()
    initial = copy.deepcopy(module.net)
    accumulation, max_norm = 2, 0.3
    trainer = fit(tmp_path, module, accumulate_grad_batches=accumulation, gradient_clip_val=max_norm)
    steps = 2 * BATCHES // accumulation
    assert trainer.global_step == steps == trainer.estimated_stepping_batches

    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(steps))  # one row per optimizer step, not per batch

    net = copy.deepcopy(initial)
    optimizer = torch.optim.SGD(net.parameters(), lr=PEAK, momentum=0.9)
    scheduler = ScheduleLR(optimizer, "linear", steps)
    batches = list(torch.utils.data.DataLoader(data(), batch_size=BATCH, shuffle=False)) * 2
    expected = []
    for step in range(steps):
        optimizer.zero_grad()
        for x, y in batches[step * accumulation : (step + 1) * accumulation]:
            (torch.nn.functional.mse_loss(net(x), y) / accumulation).backward()
        flat = torch.cat([p.grad.reshape(-1).double() for p in net.parameters()])
        expected.append((flat.norm(2).item(), flat.norm(1).item()))
        torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
    expected = np.array(expected)
    np.testing.assert_allclose(trace.grad_l2, expected[:, 0], rtol=1e-5)
    np.testing.assert_allclose(trace.grad_l1, expected[:, 1], rtol=1e-5)
    assert np.sum(trace.grad_l2 > max_norm) >= steps // 2  # clipping was active: the trace holds the norms before it


def test_scheduler_steps_per_optimizer_step_not_per_epoch(tmp_path):
    schedule = as_schedule("warmup(linear,fraction=0.25)")
    module = Regression(schedule)
    trainer = fit(tmp_path, module, accumulate_grad_batches=4, max_epochs=3)
    total = 3 * BATCHES // 4
    assert trainer.global_step == total
    assert module.trainer.lr_scheduler_configs[0].scheduler.total_steps == total
    # The lr changes at every optimizer step (within an epoch too), as schedule(t, T) * peak.
    np.testing.assert_allclose(module.lrs, [PEAK * schedule(t, total) for t in range(total)], rtol=1e-12)
    assert len(set(module.lrs)) == total
    np.testing.assert_allclose(read_trace(tmp_path / "trace.csv").lr, module.lrs, rtol=1e-12)


class BareScheduler(Regression):
    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=PEAK)
        return {
            "optimizer": optimizer,
            "lr_scheduler": ScheduleLR(optimizer, "linear", self.trainer.estimated_stepping_batches),
        }


def test_a_bare_schedule_lr_stepped_per_epoch_warns(tmp_path):
    """issue 27: returning a bare ScheduleLR, Lightning steps it once per epoch, silently: the run ended far from
    the schedule's end. ScheduleLR warns at the first scheduler step that came after several optimizer steps."""
    with pytest.warns(UserWarning, match=r"ScheduleLR.step\(\) came after 16 optimizer steps.*'interval': 'step'"):
        fit(tmp_path, BareScheduler(), max_epochs=2)


def test_bf16_autocast_on_cpu(tmp_path):
    module = Regression()
    trainer = fit(tmp_path, module, precision="bf16-mixed", accumulate_grad_batches=2, max_epochs=1)
    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(trainer.global_step))
    assert trainer.global_step == BATCHES // 2
    assert np.all(np.isfinite(trace.grad_l2)) and np.all(trace.grad_l1 > trace.grad_l2)
    np.testing.assert_allclose(trace.lr, PEAK * (1 - np.arange(8) / 8), rtol=1e-12)


class SaveThenInterrupt(pl.Callback):
    """Saves a checkpoint at the end of the first epoch (as ModelCheckpoint does), then fails two steps later."""

    def __init__(self, checkpoint) -> None:
        self.checkpoint = checkpoint

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == 0:
            trainer.save_checkpoint(self.checkpoint)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_index):
        if trainer.global_step == BATCHES // 2 + 2:
            raise RuntimeError("interrupted")


def test_resumed_fit_restores_the_schedule_and_appends_each_step_once(tmp_path):
    fit(tmp_path, Regression(), accumulate_grad_batches=2)
    full = read_trace(tmp_path / "trace.csv")

    run, checkpoint = tmp_path / "resumed", tmp_path / "epoch0.ckpt"
    callbacks = [GradNormCallback(run / "trace.csv"), SaveThenInterrupt(checkpoint)]
    with pytest.raises(RuntimeError, match="interrupted"):
        fit(run, Regression(), accumulate_grad_batches=2, callbacks=callbacks)
    rows = (run / "trace.csv").read_text().splitlines()[1:]
    assert len(rows) == BATCHES // 2 + 2  # the interrupted fit's steps past its checkpoint reached the file

    module = Regression()
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(run), accumulate_grad_batches=2,
        callbacks=[GradNormCallback(run / "trace.csv")],
    )  # fmt: skip
    trainer.fit(module, ckpt_path=str(checkpoint))
    assert trainer.global_step == BATCHES
    rows = (run / "trace.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == list(range(BATCHES))  # every step exactly once
    resumed = read_trace(run / "trace.csv")
    np.testing.assert_allclose(resumed.lr, full.lr, rtol=1e-12)  # the schedule resumed where it was
    np.testing.assert_allclose(module.lrs, full.lr[BATCHES // 2 :], rtol=1e-12)
    np.testing.assert_allclose(resumed.grad_l2, full.grad_l2, rtol=1e-5)


def test_an_endless_trainer_is_refused(tmp_path):
    module = Regression()
    with pytest.raises(ValueError, match="estimated_stepping_batches=inf"):
        fit(tmp_path, module, max_epochs=-1, max_steps=-1)
