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


# --- AutoLRCallback: AutoLR's pilot and run inside the fit's own steps ---------------------------------------------
from tuneless.integrations.lightning import AutoLRCallback  # noqa: E402


class AutoRegression(Regression):
    """``configure_optimizers`` returns the optimizer alone (lr: a relative factor); records the weights and the
    optimizer state just before optimizer step ``at``, after the gradients of that step."""

    def __init__(self, optimizer="sgd", at=10) -> None:
        super().__init__()
        self.optimizer_name, self.at, self.at_step = optimizer, at, None

    def on_before_optimizer_step(self, optimizer):
        super().on_before_optimizer_step(optimizer)
        if self.trainer.global_step == self.at:
            self.at_step = (
                {k: v.clone() for k, v in self.net.state_dict().items()},
                optimizer.state_dict().get("state"),
            )

    def configure_optimizers(self):
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(self.parameters(), lr=PEAK, momentum=0.9)
        return torch.optim.Adagrad(self.parameters())


def auto_fit(tmp_path, module, callback=None, **settings) -> tuple[pl.Trainer, AutoLRCallback]:
    """A fit with AutoLRCallback (default here: the fixed peak, whose lrs the tests below predict)."""
    callback = callback or AutoLRCallback(method="linear")
    settings["callbacks"] = [callback, *settings.get("callbacks", [])]
    return fit(tmp_path, module, **settings), callback


def expected_auto_lrs(auto) -> list[float]:
    """AutoLR's plan, from what its pilot measured: the ramp up to the cap, lr 0 after it, then peak x schedule."""
    pilot = [auto.pilot.lr(t) if t <= auto.result.step else 0.0 for t in range(auto.pilot_steps)]
    return pilot + [auto.peak_lr * auto.schedule(t, auto.run_steps) for t in range(auto.run_steps)]


def test_auto_callback_runs_pilot_and_run_inside_the_fit_at_autolr_lrs(tmp_path):
    module = AutoRegression()
    initial = copy.deepcopy(module.net.state_dict())
    trainer, callback = auto_fit(tmp_path, module, accumulate_grad_batches=2, max_epochs=3)
    auto = callback.scheduler
    total = 3 * BATCHES // 2  # 24 optimizer steps: a run of 14 and its pilot of 10
    assert trainer.global_step == total == auto.total_steps and (auto.pilot_steps, auto.run_steps) == (10, 14)
    assert auto.family == "sgd" and auto.result.unstable and 0 < auto.peak_lr < auto.result.cap
    np.testing.assert_allclose(module.lrs, expected_auto_lrs(auto), rtol=1e-12)  # not scaled by the lr 0.05
    weights, state = module.at_step  # the first step of the run starts from the initial weights, fresh momentum
    for key, value in weights.items():
        assert torch.equal(value, initial[key]), key
    assert state == {}
    # the pilot's loss of step 0: the initial model's mean loss over the step's 2 batches (not their sum, not one)
    net = Regression().net
    batches = list(torch.utils.data.DataLoader(data(), batch_size=BATCH, shuffle=False))[:2]
    with torch.no_grad():
        by_hand = np.mean([torch.nn.functional.mse_loss(net(x), y).item() for x, y in batches])
    assert auto.losses[0] == pytest.approx(by_hand, rel=1e-6)


def test_auto_callback_with_bf16_and_max_steps(tmp_path):
    module = AutoRegression()
    trainer, callback = auto_fit(tmp_path, module, precision="bf16-mixed", max_steps=13, max_epochs=-1)
    auto = callback.scheduler
    assert trainer.global_step == 13 and (auto.pilot_steps, auto.run_steps) == (10, 3)
    np.testing.assert_allclose(module.lrs, expected_auto_lrs(auto), rtol=1e-12)


class SaveAt(pl.Callback):
    """Saves a checkpoint after the given optimizer steps (from on_train_batch_end, as ModelCheckpoint does), and
    fails at ``fail_at``."""

    def __init__(self, directory, steps, fail_at) -> None:
        self.directory, self.steps, self.fail_at = directory, steps, fail_at

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_index):
        if trainer.global_step in self.steps and (batch_index + 1) % trainer.accumulate_grad_batches == 0:
            trainer.save_checkpoint(self.directory / f"step{trainer.global_step}.ckpt")
        if trainer.global_step == self.fail_at:
            raise RuntimeError("interrupted")


@pytest.mark.parametrize("method", ["linear", "mechanic"])
def test_auto_callback_resumes_from_checkpoints_in_the_pilot_and_in_the_run(tmp_path, method):
    settings = dict(accumulate_grad_batches=2, max_epochs=3)
    full = AutoRegression()
    auto_fit(tmp_path / "full", full, AutoLRCallback(method=method), **settings)
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="interrupted"):
        auto_fit(run, AutoRegression(), AutoLRCallback(method=method), callbacks=[SaveAt(run, (4, 13), 15)], **settings)
    initial = Regression().net.state_dict()
    for step in (4, 13):  # inside the pilot (its snapshot is in the checkpoint), and in the run
        module = AutoRegression()
        trainer = pl.Trainer(
            accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, default_root_dir=str(run), callbacks=[AutoLRCallback(method=method)],
            **settings,
        )  # fmt: skip
        trainer.fit(module, ckpt_path=str(run / f"step{step}.ckpt"))
        assert trainer.global_step == 24
        np.testing.assert_allclose(module.lrs, full.lrs[step:], rtol=1e-12)
        if method == "mechanic":  # wrapped before Lightning restored its state (a bare SGD's would not load)
            assert trainer.optimizers[0].freeze_after == 4 and trainer.optimizers[0].tuner is not None
    other = "linear" if method == "mechanic" else "mechanic"  # a checkpoint of the other design: one line
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=str(run), callbacks=[AutoLRCallback(method=other)], **settings,
    )  # fmt: skip
    with pytest.raises(
        ValueError, match=f"the checkpoint's fit ran method={method!r}, this callback has method={other!r}"
    ):
        trainer.fit(AutoRegression(), ckpt_path=str(run / "step13.ckpt"))
        if step == 4:  # the resumed pilot put the initial weights back, from the snapshot in the checkpoint
            for key, value in initial.items():
                assert torch.equal(value, module.at_step[0][key]), key


class ReturnsMechanic(AutoRegression):
    def configure_optimizers(self):
        from tuneless.torch import Mechanic

        return Mechanic(super().configure_optimizers(), restart_factor=10.0, freeze_after=4)


def test_auto_callback_default_puts_the_optimizer_inside_a_short_run_mechanic(tmp_path):
    """AutoLRCallback() is method="mechanic": the same fit as a hand-built Mechanic(restart_factor=10, freeze_after=
    a quarter of the run after the pilot) from configure_optimizers (24 steps: pilot 10, run 14, frozen after 4)."""
    from tuneless.torch import Mechanic

    fits = []
    for module in (AutoRegression(), ReturnsMechanic()):
        trainer, callback = auto_fit(tmp_path, module, AutoLRCallback(), accumulate_grad_batches=2, max_epochs=3)
        mechanic = trainer.optimizers[0]
        assert isinstance(mechanic, Mechanic) and callback.scheduler.mechanic is mechanic
        assert (mechanic.restart_factor, mechanic.freeze_after, callback.scheduler.run_steps) == (10.0, 4, 14)
        fits.append((module, mechanic))
    (wrapped, first), (by_hand, second) = fits
    assert first.scale == second.scale != callback.scheduler.seed_scale  # learned from the seed, then frozen
    np.testing.assert_allclose(wrapped.lrs, by_hand.lrs, rtol=0)
    for key, value in wrapped.net.state_dict().items():
        assert torch.equal(value, by_hand.net.state_dict()[key]), key


def test_auto_callback_names_one_run_method():
    with pytest.raises(ValueError, match="method='fixed' is unknown; one run knows \\['mechanic', 'linear'"):
        AutoLRCallback(method="fixed")


class WithScheduler(AutoRegression):
    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=1.0)
        return {"optimizer": optimizer, "lr_scheduler": lr_scheduler_config(optimizer, "linear", self.trainer)}


class Broken(AutoRegression):
    def training_step(self, batch, batch_index):
        return super().training_step(batch, batch_index) * float("nan")


def test_auto_callback_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="family='lion' is unknown"):
        AutoLRCallback(family="lion")
    with pytest.raises(ValueError, match="configure_optimizers must return one optimizer and no scheduler"):
        auto_fit(tmp_path, WithScheduler())
    with pytest.raises(ValueError, match="optimizer Adagrad: AutoLR cannot tell its family; pass family="):
        auto_fit(tmp_path, AutoRegression("adagrad"))
    auto_fit(tmp_path, AutoRegression("adagrad"), AutoLRCallback(family="adam"), max_epochs=1)  # named: it runs
    with pytest.raises(ValueError, match="steps=8: AutoLR needs at least 11 optimizer steps"):
        auto_fit(tmp_path, AutoRegression(), max_steps=8)
    with pytest.raises(ValueError, match="estimated_stepping_batches=inf"):
        auto_fit(tmp_path, AutoRegression(), max_epochs=-1, max_steps=-1)
    with pytest.raises(ValueError, match="loss nan at step 0 .*training diverges at every lr"):
        auto_fit(tmp_path, Broken())
    trainer, callback = auto_fit(tmp_path, AutoRegression(), max_epochs=2)  # 2 x 16 steps; then a second fit of it
    trainer.fit_loop.max_epochs = 4
    with pytest.raises(
        ValueError, match="this fit starts at step 32 without a checkpoint of AutoLR .*use a new Trainer"
    ):
        trainer.fit(AutoRegression())


@pytest.mark.parametrize("wrap_mechanic", [False, True])
def test_autolr_given_a_lightning_optimizer_drives_the_optimizer_inside(wrap_mechanic):
    """Manual optimization hands out LightningOptimizer wrappers (a copy of the optimizer's attributes): AutoLR works
    on the optimizer inside, so the pilot's restore and the run's lrs reach the optimizer that steps."""
    from lightning.pytorch.core.optimizer import LightningOptimizer

    from tuneless.torch import Mechanic
    from tuneless.torch.auto import AutoLR

    torch.manual_seed(0)
    x = torch.nn.Parameter(torch.zeros(4))
    data = torch.randn(32, 4)
    inner = torch.optim.SGD([x], lr=1.0, momentum=0.9)
    inner = Mechanic(inner) if wrap_mechanic else inner
    auto = AutoLR(LightningOptimizer(inner), 50, "sgd")
    assert auto.optimizer is inner
    for _ in range(auto.total_steps):
        loss = (data @ x - 1.0).pow(2).mean()
        inner.zero_grad()
        loss.backward()
        inner.step()
        auto.step(loss)
        if not auto.in_pilot:
            base = inner.base if wrap_mechanic else inner
            assert base.param_groups[0]["lr"] == auto.get_last_lr()[0]
    best = torch.linalg.lstsq(data, torch.ones(32, 1)).solution.squeeze(1)
    optimum = float((data @ best - 1.0).pow(2).mean())
    assert float((data @ x.detach() - 1.0).pow(2).mean()) < 1.05 * optimum < 1.0  # it trained (from 1.0 at x = 0)
