"""tuneless.integrations.transformers on a real Trainer: a 2-layer GPT-2 built from a config, on stdlib bytes."""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest

import torch
from tuneless.bench.catalog.workloads.text_lm import stdlib_corpus
from tuneless.refine import read_trace
from tuneless.schedules import as_schedule

transformers = pytest.importorskip("transformers")  # installed by `make test` ([transformers] extra): never skips there
from transformers import GPT2Config, GPT2LMHeadModel, TrainerCallback, TrainingArguments  # noqa: E402
from transformers.data.data_collator import default_data_collator  # noqa: E402

from tuneless.integrations.transformers import GradNormCallback, TunelessTrainer  # noqa: E402

CONTEXT, BATCH, PEAK = 32, 4, 3e-3


def byte_windows(count: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    text = torch.frombuffer(bytearray(stdlib_corpus()[:200_000]), dtype=torch.uint8).long()
    starts = torch.randint(len(text) - CONTEXT, (count,), generator=torch.Generator().manual_seed(seed))
    return [{"input_ids": text[s : s + CONTEXT], "labels": text[s : s + CONTEXT]} for s in starts.tolist()]


def tiny_gpt2() -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=256, n_positions=CONTEXT, n_embd=32, n_layer=2, n_head=2, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    return GPT2LMHeadModel(config)


class Batches:
    """A data collator that keeps every batch it makes (the hand-written loop replays them)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, torch.Tensor]] = []

    def __call__(self, features):
        batch = default_data_collator(features)
        self.seen.append({k: v.clone() for k, v in batch.items()})
        return batch


def arguments(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(
        output_dir=str(tmp_path / "out"), max_steps=8, per_device_train_batch_size=BATCH, gradient_accumulation_steps=2,
        learning_rate=PEAK, max_grad_norm=0.5, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
        seed=0, dataloader_num_workers=0, disable_tqdm=True, weight_decay=0.0,
    )  # fmt: skip
    settings.update(overrides)
    return TrainingArguments(**settings)


class LearningRates(TrainerCallback):
    """The lr each optimizer step ran with (read just before the step)."""

    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.lrs.append(float(optimizer.param_groups[0]["lr"]))


def train(tmp_path, schedule="linear", n_windows=200, **overrides):
    model = tiny_gpt2()
    initial = copy.deepcopy(model)
    batches, lrs = Batches(), LearningRates()
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK, weight_decay=0.0)
    trainer = TunelessTrainer(
        model=model, args=arguments(tmp_path, **overrides), train_dataset=byte_windows(n_windows),
        data_collator=batches, optimizers=(optimizer, None), schedule=schedule, trace=tmp_path / "trace.csv",
        callbacks=[lrs],
    )  # fmt: skip
    trainer.train()
    return trainer, initial, batches.seen, lrs.lrs


def hand_written_norms(trainer, initial, batches, steps, accumulation, max_norm, schedule):
    """The same training by hand: accumulate, measure (before clipping), clip, step, schedule. The loss of a
    micro-batch is its summed token loss over the token count of the whole accumulation window, counted as Trainer
    counts it (its own method: the count is Trainer's choice, and the loss must be the same)."""
    from tuneless.torch import ScheduleLR

    model = copy.deepcopy(initial)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK, weight_decay=0.0)
    scheduler = ScheduleLR(optimizer, schedule, steps)
    norms = []
    for step in range(steps):
        optimizer.zero_grad()
        window = batches[step * accumulation : (step + 1) * accumulation]
        tokens = trainer._get_num_items_in_batch(window, torch.device("cpu"))
        for batch in window:
            model(**batch, num_items_in_batch=tokens).loss.backward()
        flat = torch.cat([p.grad.reshape(-1).double() for p in model.parameters() if p.grad is not None])
        norms.append((flat.norm(2).item(), flat.norm(1).item()))
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
    return np.array(norms)


def test_recorded_norms_equal_a_hand_written_loop_with_accumulation_and_clipping(tmp_path):
    steps, accumulation = 8, 2
    trainer, initial, batches, lrs = train(tmp_path, max_steps=steps, gradient_accumulation_steps=accumulation)
    trace = read_trace(tmp_path / "trace.csv")
    # Exactly one row per optimizer step (not per micro-batch), numbered like Trainer's global_step.
    np.testing.assert_array_equal(trace.step, np.arange(steps))
    assert trainer.state.global_step == steps and len(batches) >= steps * accumulation  # (+1 prefetched)
    expected = hand_written_norms(trainer, initial, batches, steps, accumulation, 0.5, "linear")
    np.testing.assert_allclose(trace.grad_l2, expected[:, 0], rtol=2e-5)
    np.testing.assert_allclose(trace.grad_l1, expected[:, 1], rtol=2e-5)
    assert np.all(trace.grad_l2 > 0.5)  # the clip was active at every step: the trace has the norms before it
    # Trainer's own logged grad_norm is the pre-clip L2 norm too.
    logged = [entry["grad_norm"] for entry in trainer.state.log_history if "grad_norm" in entry]
    np.testing.assert_allclose(trace.grad_l2, logged, rtol=1e-5)
    # The lr of step t is schedule(t, T) * peak with T = Trainer's num_training_steps, in the trace and the optimizer.
    np.testing.assert_allclose(trace.lr, PEAK * (1 - np.arange(steps) / steps), rtol=1e-12)
    np.testing.assert_allclose(lrs, trace.lr, rtol=1e-12)


def test_any_schedule_over_trainers_own_horizon_from_epochs(tmp_path):
    # No max_steps: Trainer derives T from epochs x update steps per epoch (40 windows / (4 x 2) = 5 per epoch).
    schedule = as_schedule("warmup(linear,fraction=0.2)")
    trainer, _, _, lrs = train(
        tmp_path,
        schedule=schedule,
        max_steps=-1,
        num_train_epochs=2,
        gradient_accumulation_steps=2,
        max_grad_norm=0,
        n_windows=40,
    )
    total = 2 * 5
    assert trainer.state.global_step == total == trainer.lr_scheduler.total_steps
    np.testing.assert_allclose(lrs, [PEAK * schedule(t, total) for t in range(total)], rtol=1e-12)
    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(total))
    assert lrs[0] < lrs[2] == pytest.approx(PEAK)  # the warmup came from the schedule


def test_bf16_autocast_on_cpu(tmp_path):
    trainer, _, _, lrs = train(tmp_path, bf16=True, max_steps=6)
    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(6))
    assert np.all(np.isfinite(trace.grad_l2)) and np.all(trace.grad_l1 > trace.grad_l2)
    logged = [entry["grad_norm"] for entry in trainer.state.log_history if "grad_norm" in entry]
    np.testing.assert_allclose(trace.grad_l2, logged, rtol=1e-5)
    np.testing.assert_allclose(lrs, PEAK * (1 - np.arange(6) / 6), rtol=1e-12)


class Interrupt(TrainerCallback):
    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt


def test_resume_from_a_checkpoint_restores_the_schedule_and_appends_each_step_once(tmp_path):
    steps = 8
    # Uninterrupted reference run.
    _, _, _, full_lrs = train(tmp_path / "full", max_steps=steps)
    full = read_trace(tmp_path / "full" / "trace.csv")

    # The same run, interrupted at step 5, two steps after its checkpoint at step 3.
    run = tmp_path / "resumed"
    trace_path = run / "trace.csv"
    model = tiny_gpt2()
    args = arguments(run, max_steps=steps, save_strategy="steps", save_steps=3, logging_steps=100)
    first_lrs = LearningRates()
    trainer = TunelessTrainer(
        model=model, args=args, train_dataset=byte_windows(200), data_collator=default_data_collator,
        optimizers=(torch.optim.AdamW(model.parameters(), lr=PEAK, weight_decay=0.0), None),
        trace=trace_path, callbacks=[first_lrs, Interrupt(5)],
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    # The trace was written when the checkpoint was: steps 0-2 are on disk although flush_every is 100.
    np.testing.assert_array_equal(read_trace(trace_path).step, np.arange(3))
    recorder = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, GradNormCallback)).recorder
    recorder.close()  # the interrupted run's buffered steps 3 and 4 reach the file too
    np.testing.assert_array_equal(read_trace(trace_path).step, np.arange(5))

    model = tiny_gpt2()
    resumed_lrs = LearningRates()
    trainer = TunelessTrainer(
        model=model, args=args, train_dataset=byte_windows(200), data_collator=default_data_collator,
        optimizers=(torch.optim.AdamW(model.parameters(), lr=PEAK, weight_decay=0.0), None),
        trace=trace_path, callbacks=[resumed_lrs],
    )  # fmt: skip
    trainer.train(resume_from_checkpoint=str(run / "out" / "checkpoint-3"))
    assert trainer.state.global_step == steps

    # Every step exactly once in the file itself (the rows 3-4 of the interrupted run were replaced).
    rows = trace_path.read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == list(range(steps))
    resumed = read_trace(trace_path)
    # The same lr sequence as the uninterrupted run: steps 0-4 before the interruption, 3-7 after the resume.
    np.testing.assert_allclose(first_lrs.lrs, full_lrs[:5], rtol=1e-12)
    np.testing.assert_allclose(resumed_lrs.lrs, full_lrs[3:], rtol=1e-12)
    np.testing.assert_allclose(resumed.lr, full.lr, rtol=1e-12)
    # And the same gradients: the resumed run is the uninterrupted one.
    np.testing.assert_allclose(resumed.grad_l2, full.grad_l2, rtol=1e-4)


def test_warmup_in_training_arguments_is_refused(tmp_path):
    model = tiny_gpt2()
    with pytest.raises(ValueError, match="warmup_steps=2.*from the schedule"):
        TunelessTrainer(model=model, args=arguments(tmp_path, warmup_steps=2), train_dataset=byte_windows(8))


@pytest.mark.parametrize("setting", [{"lr_scheduler_type": "cosine"}, {"lr_scheduler_kwargs": {"num_cycles": 2}}])
def test_a_trainer_scheduler_setting_is_refused_not_ignored(tmp_path, setting):
    """issue 27: TunelessTrainer ignored lr_scheduler_type="cosine" silently."""
    with pytest.raises(ValueError, match="TunelessTrainer takes its schedule from schedule="):
        TunelessTrainer(model=tiny_gpt2(), args=arguments(tmp_path, **setting), train_dataset=byte_windows(8))


def test_the_callbacks_take_the_same_arguments():
    """issue 27: the Trainer and Lightning GradNormCallbacks took different arguments: both are (path, flush_every),
    the Trainer one also needs its trainer (by keyword: its callbacks are not given it)."""
    lightning = pytest.importorskip("tuneless.integrations.lightning")
    ours, theirs = inspect.signature(GradNormCallback), inspect.signature(lightning.GradNormCallback)
    assert list(ours.parameters)[:2] == list(theirs.parameters)[:2] == ["path", "flush_every"]
    assert ours.parameters["flush_every"].default == theirs.parameters["flush_every"].default == 100
    assert ours.parameters["trainer"].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(ValueError, match="pass the Trainer as trainer="):
        GradNormCallback("trace.csv", trainer=None)


def test_a_trainer_that_does_not_call_clip_grad_norm_still_records_every_step(tmp_path, monkeypatch):
    # transformers versions before 5 call accelerator.clip_grad_norm_ only when max_grad_norm > 0.
    _, _, _, lrs = train(tmp_path / "reference", max_steps=4, max_grad_norm=0)
    reference = read_trace(tmp_path / "reference" / "trace.csv")
    monkeypatch.setattr(TunelessTrainer, "_get_grad_norm", lambda self, model, grad_norm=None: grad_norm)
    train(tmp_path, max_steps=4, max_grad_norm=0)
    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(4))
    np.testing.assert_allclose(trace.grad_l1, reference.grad_l1, rtol=1e-6)


def test_the_callback_on_a_plain_trainer(tmp_path):
    from transformers import Trainer

    args = arguments(tmp_path, max_steps=5, lr_scheduler_type="cosine")
    trainer = Trainer(model=tiny_gpt2(), args=args, train_dataset=byte_windows(64))
    trainer.add_callback(GradNormCallback(tmp_path / "plain.csv", trainer=trainer))
    trainer.train()
    trace = read_trace(tmp_path / "plain.csv")
    np.testing.assert_array_equal(trace.step, np.arange(5))
    logged = [entry for entry in trainer.state.log_history if "grad_norm" in entry]
    np.testing.assert_allclose(trace.grad_l2, [entry["grad_norm"] for entry in logged], rtol=1e-5)
    # Trainer's own cosine schedule ran; the trace has the lr each step ran with (logged before the scheduler step).
    np.testing.assert_allclose(trace.lr, [entry["learning_rate"] for entry in logged], rtol=1e-6)


# --- auto=True: AutoLR's pilot and run inside Trainer's own steps ------------------------------------------------
class Snapshot(TrainerCallback):
    """The model's state at the start of optimizer step ``at`` (Trainer's global_step)."""

    def __init__(self, at: int) -> None:
        self.at, self.state = at, None

    def on_step_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
        if state.global_step == self.at:
            self.state = {k: v.clone() for k, v in model.state_dict().items()}
            self.optimizer_state = optimizer.state_dict().get("state")  # (a Mechanic's has none)


def auto_trainer(tmp_path, callbacks=(), n_windows=400, model=None, optimizer=None, auto="linear", **overrides):
    """A TunelessTrainer with AutoLR (default here: the fixed peak, whose lrs the tests below predict)."""
    model = model or tiny_gpt2()
    optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=PEAK, weight_decay=0.0)
    return TunelessTrainer(
        model=model, args=arguments(tmp_path, **overrides), train_dataset=byte_windows(n_windows),
        data_collator=default_data_collator, optimizers=(optimizer, None), auto=auto, callbacks=list(callbacks),
    )  # fmt: skip


def expected_auto_lrs(auto) -> list[float]:
    """AutoLR's plan, from what its pilot measured: the ramp up to the cap, lr 0 after it, then peak x schedule."""
    pilot = [auto.pilot.lr(t) if t <= auto.result.step else 0.0 for t in range(auto.pilot_steps)]
    run = [auto.peak_lr * auto.schedule(t, auto.run_steps) for t in range(auto.run_steps)]
    return pilot + run


def test_auto_runs_pilot_and_run_inside_max_steps_at_autolr_lrs(tmp_path):
    from tuneless.torch.auto import AutoLR

    steps = 33  # a run of 23 and its pilot of 10
    model = tiny_gpt2()
    initial = copy.deepcopy(model.state_dict())
    lrs, at_run = LearningRates(), Snapshot(10)
    trainer = auto_trainer(tmp_path, [lrs, at_run], model=model, max_steps=steps, max_grad_norm=1.0)
    trainer.train()
    auto = trainer.lr_scheduler
    assert isinstance(auto, AutoLR) and auto.family == "adam"  # AdamW
    assert (auto.pilot_steps, auto.run_steps) == (10, 23) and trainer.state.global_step == steps
    assert auto.result.unstable and 0 < auto.peak_lr < auto.result.cap
    # the lr of every optimizer step is AutoLR's, not scaled by learning_rate (3e-3): a relative factor only
    np.testing.assert_allclose(lrs.lrs, expected_auto_lrs(auto), rtol=1e-12)
    assert lrs.lrs[10] == 0.0 < lrs.lrs[11] == auto.peak_lr and auto.get_last_lr() == [0.0]  # warmup, decay
    # at the first step of the run the model and the optimizer state are as before the pilot
    for key, value in at_run.state.items():
        assert torch.equal(value, initial[key]), key
    assert at_run.optimizer_state == {}
    # the pilot saw the loss Trainer logged for each of its steps (the mean over the 2 micro-batches)
    logged = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    np.testing.assert_allclose(auto.losses, logged[: auto.pilot_steps], rtol=1e-6)


def test_auto_pilot_loss_is_the_mean_over_accumulated_micro_batches(tmp_path):
    """The first pilot step's loss, by hand: the initial model's token loss summed over the step's 2 micro-batches,
    over Trainer's count of labels (its convention for the loss it logs: 2 x 4 x 32 labels, 31 of each 32 predicted)."""
    batches, model = Batches(), tiny_gpt2()
    initial = copy.deepcopy(model)
    trainer = TunelessTrainer(
        model=model, args=arguments(tmp_path, max_steps=11, gradient_accumulation_steps=2, max_grad_norm=0),
        train_dataset=byte_windows(200), data_collator=batches, auto=True, family="adam",
    )  # fmt: skip
    trainer.train()
    initial.train()
    with torch.no_grad():
        summed = sum(initial(**batch).loss.item() * BATCH * (CONTEXT - 1) for batch in batches.seen[:2])
    assert trainer.lr_scheduler.losses[0] == pytest.approx(summed / (2 * BATCH * CONTEXT), rel=1e-5)
    assert trainer.lr_scheduler.losses[0] > 5.0  # about ln 256 = 5.5: one micro-batch's share alone would be 2.7


def test_auto_over_a_horizon_from_epochs_with_sgd(tmp_path):
    # no max_steps: Trainer's horizon is 3 epochs x 100 windows / (4 x 2) = 36 optimizer steps (13 per epoch)
    model = tiny_gpt2()
    lrs = LearningRates()
    trainer = auto_trainer(
        tmp_path, [lrs], n_windows=100, model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        max_steps=-1, num_train_epochs=3, max_grad_norm=0,
    )  # fmt: skip
    trainer.train()
    auto = trainer.lr_scheduler
    assert auto.family == "sgd" and trainer.state.global_step == auto.total_steps == 39 == len(lrs.lrs)
    assert (auto.pilot_steps, auto.run_steps) == (10, 29)
    np.testing.assert_allclose(lrs.lrs, expected_auto_lrs(auto), rtol=1e-12)


@pytest.mark.parametrize("auto", ["linear", True])
def test_auto_resumes_from_checkpoints_in_the_pilot_and_in_the_run(tmp_path, auto):
    steps = 23  # pilot 10, run 13 (with Mechanic: frozen after round(13 / 4) = 3 of them)
    full = LearningRates()
    uninterrupted = auto_trainer(tmp_path / "full", [full], max_steps=steps, auto=auto)
    uninterrupted.train()

    run = tmp_path / "interrupted"
    settings = dict(max_steps=steps, save_strategy="steps", save_steps=6, logging_steps=100, auto=auto)
    with pytest.raises(KeyboardInterrupt):
        auto_trainer(run, [Interrupt(14)], **settings).train()
    initial = tiny_gpt2().state_dict()
    for checkpoint in (6, 12):  # inside the pilot (its snapshot is in the checkpoint), and in the run
        resumed, at_run = LearningRates(), Snapshot(10)
        trainer = auto_trainer(run, [resumed, at_run], **settings)
        trainer.train(resume_from_checkpoint=str(run / "out" / f"checkpoint-{checkpoint}"))
        assert trainer.state.global_step == steps
        np.testing.assert_allclose(resumed.lrs, full.lrs[checkpoint:], rtol=1e-12)
        if checkpoint == 6:  # the resumed pilot put the weights of step 0 back, from the snapshot in the checkpoint
            for key, value in initial.items():
                assert torch.equal(value, at_run.state[key]), key
        for key, value in uninterrupted.model.state_dict().items():  # (Mechanic: its scale and history resumed)
            torch.testing.assert_close(trainer.model.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    other = True if auto == "linear" else "linear"  # a checkpoint of the other design: refused in one line
    with pytest.raises(
        ValueError,
        match=f"checkpoint-12: the checkpoint's run was built with auto={auto if auto == 'linear' else 'mechanic'!r}",
    ):
        auto_trainer(run, **{**settings, "auto": other}).train(
            resume_from_checkpoint=str(run / "out" / "checkpoint-12")
        )


def test_auto_true_puts_trainers_optimizer_inside_a_short_run_mechanic(tmp_path):
    """auto=True is auto="mechanic": the same run as a hand-built Mechanic(restart_factor=10, freeze_after=a quarter
    of the run after the pilot) given to auto="mechanic" (33 steps: pilot 10, run 23, frozen after 6)."""
    from tuneless.torch import Mechanic
    from tuneless.torch.auto import unwrapped

    finals, mechanics = [], []
    for by_hand in (False, True):
        model = tiny_gpt2()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1.0, weight_decay=0.0)
        if by_hand:
            optimizer = Mechanic(optimizer, restart_factor=10.0, freeze_after=6)
        auto = "mechanic" if by_hand else True
        trainer = auto_trainer(tmp_path / str(by_hand), model=model, optimizer=optimizer, max_steps=33, auto=auto)
        trainer.train()
        mechanic = unwrapped(trainer.optimizer)
        assert isinstance(mechanic, Mechanic) and trainer.lr_scheduler.mechanic is mechanic
        assert (mechanic.restart_factor, mechanic.freeze_after, trainer.lr_scheduler.run_steps) == (10.0, 6, 23)
        finals.append(model.state_dict())
        mechanics.append(mechanic)
    assert mechanics[0].scale == mechanics[1].scale != trainer.lr_scheduler.seed_scale  # learned, then frozen
    for key, value in finals[0].items():
        assert torch.equal(value, finals[1][key]), key


def test_auto_names_one_run_method_and_refuses_a_scheduler_beside_it(tmp_path):
    for bad in ("fixed", ""):
        with pytest.raises(ValueError, match=f"auto={bad!r} is unknown; one run knows \\['mechanic', 'linear'"):
            TunelessTrainer(model=tiny_gpt2(), args=arguments(tmp_path), auto=bad)
    model = tiny_gpt2()
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1.0)
    with pytest.raises(ValueError, match="auto=True sets the lr itself: pass optimizers=\\(optimizer, None\\)"):
        TunelessTrainer(model=model, args=arguments(tmp_path), optimizers=(optimizer, scheduler), auto=True)


def test_auto_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="family='lion' is unknown"):
        TunelessTrainer(model=tiny_gpt2(), args=arguments(tmp_path), auto=True, family="lion")
    with pytest.raises(ValueError, match="family='adam' is AutoLR's: pass auto=True with it"):
        TunelessTrainer(model=tiny_gpt2(), args=arguments(tmp_path), family="adam")
    with pytest.raises(ValueError, match="steps=8: AutoLR needs at least 11 optimizer steps"):
        auto_trainer(tmp_path, max_steps=8).train()
    model = tiny_gpt2()
    with pytest.raises(ValueError, match="optimizer Adagrad: AutoLR cannot tell its family; pass family="):
        auto_trainer(tmp_path, model=model, optimizer=torch.optim.Adagrad(model.parameters()), max_steps=20).train()
    model = tiny_gpt2()
    with torch.no_grad():
        model.lm_head.weight[0, 0] = float("nan")  # (tied to the embedding) every loss is NaN, at every lr
    with pytest.raises(ValueError, match="loss nan at step 0 .*training diverges at every lr"):
        auto_trainer(tmp_path, model=model, max_steps=20).train()


def test_auto_with_a_mechanic_seeds_its_scale_inside_trainer(tmp_path):
    """A Mechanic inside accelerate's wrapper: the pilot goes to its base optimizer, then it starts at a tenth of
    the pilot's min-loss lr, the schedule at peak 1.0 (AutoLR sees through the wrapper)."""
    from tuneless.torch import Mechanic

    model = tiny_gpt2()
    initial = copy.deepcopy(model.state_dict())
    mechanic = Mechanic(torch.optim.AdamW(model.parameters(), lr=1.0, weight_decay=0.0), restart_factor=10.0)
    lrs, at_run = LearningRates(), Snapshot(10)
    trainer = auto_trainer(
        tmp_path, [lrs, at_run], model=model, optimizer=mechanic, max_steps=33, max_grad_norm=1.0, auto=True
    )  # fmt: skip
    trainer.train()
    auto = trainer.lr_scheduler
    assert mechanic.freeze_after is None  # a Mechanic given keeps its own options (not wrapped again)
    assert auto.mechanic is mechanic and auto.family == "adam" and auto.method == "mechanic"
    assert auto.seed_scale == pytest.approx(0.1 * auto.result.min_loss_lr, rel=1e-12) and auto.peak_lr == 1.0
    np.testing.assert_allclose(lrs.lrs, expected_auto_lrs(auto), rtol=1e-12)
    for key, value in at_run.state.items():  # the pilot left no trace
        assert torch.equal(value, initial[key]), key
    assert mechanic.tuner is not None and mechanic.scale != auto.seed_scale  # it learned from the seed on


def test_auto_schedulefree_runs_a_schedule_free_optimizer_and_the_default_refuses_it(tmp_path):
    """auto="schedulefree": the optimizer as it is (Trainer switches its train/eval mode), warmup then constant at
    the calibrated peak; auto=True would hide those modes inside a Mechanic: a one-line error."""
    schedulefree = pytest.importorskip("schedulefree")  # the bench extra, installed by `make test`
    model = tiny_gpt2()
    optimizer = schedulefree.AdamWScheduleFree(model.parameters(), lr=1.0, warmup_steps=0)
    trainer = auto_trainer(tmp_path, model=model, optimizer=optimizer, max_steps=30, auto="schedulefree")
    trainer.train()
    auto = trainer.lr_scheduler
    assert auto.method == "schedulefree" and auto.mechanic is None and (auto.pilot_steps, auto.run_steps) == (10, 20)
    assert [auto.multiplier(t) for t in (11, 20, 29)] == [auto.peak_lr] * 3 and auto.peak_lr > 0
    model = tiny_gpt2()
    with pytest.raises(ValueError, match="AdamWScheduleFree keeps its own train/eval modes .*auto='schedulefree'"):
        auto_trainer(
            tmp_path, model=model, optimizer=schedulefree.AdamWScheduleFree(model.parameters()), max_steps=30, auto=True
        ).train()
