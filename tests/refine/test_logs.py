"""Refining from the logs a finished run already has (issue 27): files made by the real frameworks (a short Trainer
run, a Lightning run with CSVLogger, a SummaryWriter), their step conventions checked against the tuneless recorder
of the same run, and each refined schedule equal to refining the equivalent CSV trace (same steps, same norms)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from tuneless.cli import main
from tuneless.refine import RefinementWarning, read_trace, refine

torch = pytest.importorskip("torch")


def write_csv(path, steps, norms, column="grad_l2"):
    path.write_text(f"step,{column}\n" + "".join(f"{int(s)},{float(v)!r}\n" for s, v in zip(steps, norms, strict=True)))
    return path


def assert_same_refinement(log, steps, norms, tmp_path, weighting="sgd", column="grad_l2", **read):
    """refine(log) equals refine(the CSV trace of the same steps and norms), to 1e-12, at every step 0..end."""
    csv = write_csv(tmp_path / "equivalent.csv", steps, norms, column)
    from_log, from_csv = refine(read_trace(log, **read), weighting), refine(csv, weighting)
    np.testing.assert_allclose(from_log.array, from_csv.array, rtol=0, atol=1e-12)
    assert from_log.meta["steps"] == steps[-1] + 1  # the schedule covers every step, not only the logged ones
    return from_log


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- Hugging Face Trainer ----------------------------------------------------------------------------------------
class TinyRegression(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))

    def forward(self, x, labels):
        return {"loss": torch.nn.functional.mse_loss(self.net(x).squeeze(-1), labels)}


def regression_rows(n=96):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = torch.sin(x.sum(1))
    return [{"x": x[i], "labels": y[i]} for i in range(n)]


def hf_run(tmp_path, max_steps, logging_steps, **extra):
    transformers = pytest.importorskip("transformers")
    from tuneless.integrations.transformers import GradNormCallback

    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"), max_steps=max_steps, logging_steps=logging_steps,
        per_device_train_batch_size=8, learning_rate=0.05, max_grad_norm=0.1, save_strategy="steps",
        save_steps=max_steps, report_to=[], use_cpu=True, seed=0, disable_tqdm=True, **extra,
    )  # fmt: skip
    trainer = transformers.Trainer(model=TinyRegression(), args=args, train_dataset=regression_rows())
    trainer.add_callback(GradNormCallback(tmp_path / "trace.csv", trainer=trainer))
    trainer.train()
    return tmp_path / "hf" / f"checkpoint-{max_steps}"


def test_trainer_state_steps_and_norms_match_the_recorder(tmp_path, one_thread):
    """Trainer logs grad_norm (L2, before clipping: max_grad_norm=0.1 clips every step here) at global_step k, after
    optimizer step k-1 (0-based): the reader's steps and norms are the recorder's."""
    checkpoint = hf_run(tmp_path, max_steps=12, logging_steps=3)
    trace, recorded = read_trace(checkpoint), read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, [2, 5, 8, 11])
    np.testing.assert_allclose(trace.grad_l2, recorded.grad_l2[trace.step], rtol=1e-5)
    assert (recorded.grad_l2 > 0.1).all()  # the norms before clipping, not after
    assert trace.log_format == "trainer_state" and trace.norm_kind == "l2" and trace.stride == 3
    assert trace.gaps == () and trace.last_step == 11
    refined = assert_same_refinement(checkpoint, list(trace.step), list(trace.grad_l2), tmp_path)
    assert (
        refined.meta["logged_steps"] == 4 and refined.meta["stride"] == 3 and refined.meta["norm_name"] == "grad_norm"
    )
    # the file itself reads the same as its checkpoint folder
    np.testing.assert_array_equal(read_trace(checkpoint / "trainer_state.json").grad_l2, trace.grad_l2)


def test_trainer_state_from_the_cli_covers_the_unlogged_last_steps(tmp_path, capsys, one_thread):
    """issue 27: `tuneless refine trainer_state.json` failed with "header '{' needs a 'step' column"; a run of 10
    steps logged every 4 ends 2 steps after its last log: the schedule still covers all 10."""
    checkpoint = hf_run(tmp_path, max_steps=10, logging_steps=4, logging_first_step=True)
    out = tmp_path / "refined.json"
    assert main(["refine", str(checkpoint / "trainer_state.json"), "--weighting", "sgd", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "read 3 grad_norm values (trainer_state log, L2 norm: weighting sgd)" in printed
    assert "logged every 4 steps: interpolated to every step 0-9" in printed
    meta = json.loads(out.read_text())["meta"]
    assert meta["steps"] == 10 and meta["logged_steps"] == 3  # global steps 1, 4, 8 -> optimizer steps 0, 3, 7
    assert main(["refine", str(checkpoint), "--weighting", "adam", "-o", str(out)]) == 2
    assert "implies weighting='sgd'" in capsys.readouterr().err  # Trainer logs only the L2 norm


# -- Lightning CSVLogger -----------------------------------------------------------------------------------------
def test_lightning_metrics_csv_steps_and_norms_match_the_recorder(tmp_path, one_thread):
    pl = pytest.importorskip("lightning.pytorch")
    from lightning.pytorch.loggers import CSVLogger
    from lightning.pytorch.utilities import grad_norm

    from tuneless.integrations.lightning import GradNormCallback

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = TinyRegression().net

        def training_step(self, batch, batch_index):
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x).squeeze(-1), y)

        def on_before_optimizer_step(self, optimizer):
            self.log("grad_2.0_norm_total", grad_norm(self, norm_type=2)["grad_2.0_norm_total"])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    rows = regression_rows()
    data = torch.utils.data.TensorDataset(torch.stack([r["x"] for r in rows]), torch.stack([r["labels"] for r in rows]))
    trainer = pl.Trainer(
        accelerator="cpu", max_steps=12, log_every_n_steps=3, logger=CSVLogger(tmp_path, name="lightning"),
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[GradNormCallback(tmp_path / "trace.csv")],
    )  # fmt: skip
    trainer.fit(Module(), torch.utils.data.DataLoader(data, batch_size=8))
    metrics = tmp_path / "lightning" / "version_0" / "metrics.csv"
    trace, recorded = read_trace(metrics), read_trace(tmp_path / "trace.csv")
    assert trace.log_format == "lightning" and trace.norm_kind == "l2" and trace.gaps == ()
    np.testing.assert_array_equal(trace.step, [2, 5, 8, 11])  # Lightning's step: the 0-based optimizer step
    np.testing.assert_allclose(trace.grad_l2, recorded.grad_l2[trace.step], rtol=1e-5)
    assert_same_refinement(metrics.parent, list(trace.step), list(trace.grad_l2), tmp_path)


# -- TensorBoard -------------------------------------------------------------------------------------------------
def write_events(folder, steps, norms, tag="train/grad_norm"):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(folder)) as writer:
        for step, norm in zip(steps, norms, strict=True):
            writer.add_scalar(tag, norm, step)
            writer.add_scalar("train/loss", 1.0 / (1 + step), step)


def test_tensorboard_events_refine_like_their_csv(tmp_path):
    pytest.importorskip("tensorboard")
    steps = list(range(0, 200, 10))
    write_events(tmp_path / "tb", steps, [3.0 / (1 + s / 50) + 0.1 * (s % 30 == 0) for s in steps])
    trace = read_trace(tmp_path / "tb")
    assert trace.log_format == "tensorboard" and trace.norm_name == "train/grad_norm" and trace.stride == 10
    event_file = next((tmp_path / "tb").glob("events.out.tfevents.*"))
    np.testing.assert_array_equal(read_trace(event_file).grad_l2, trace.grad_l2)
    assert_same_refinement(tmp_path / "tb", steps, list(trace.grad_l2), tmp_path)  # float32 values, as stored
    # any scalar tag, named: an L1 norm under another name needs its kind
    write_events(tmp_path / "l1", steps, [1.0 + s for s in steps], tag="norms/total")
    with pytest.raises(ValueError, match="no tag named like a gradient norm.*--norm-column"):
        read_trace(tmp_path / "l1")
    with pytest.raises(ValueError, match="cannot tell whether 'norms/total' is an L2 or an L1 norm"):
        read_trace(tmp_path / "l1", norm_column="norms/total")
    l1 = read_trace(tmp_path / "l1", norm_column="norms/total", norm_kind="l1")
    assert l1.norm_columns == ("grad_l1",)
    named = {"norm_column": "norms/total", "norm_kind": "l1"}
    assert_same_refinement(tmp_path / "l1", steps, list(l1.grad_l1), tmp_path, "adam", "grad_l1", **named)
    with pytest.raises(ValueError, match="no scalar tag 'train/grad_nrom'"):
        read_trace(tmp_path / "tb", norm_column="train/grad_nrom")


def test_a_log_counting_steps_from_1_is_refused(tmp_path):
    """A Trainer's TensorBoard log (steps 1..T) reads as a trace missing step 0: refused, not shifted silently."""
    pytest.importorskip("tensorboard")
    write_events(tmp_path / "tb", range(1, 41), np.linspace(2, 1, 40))
    with pytest.raises(ValueError, match=r"1 gap\(s\).*steps 0 missing.*counts steps from 1"):
        refine(tmp_path / "tb", "sgd")


# -- generic CSV, the step rule ----------------------------------------------------------------------------------
def test_generic_csv_with_named_columns(tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_text("iteration,wall,gnorm\n" + "".join(f"{5 * i + 4},{i},{2 + math.cos(i)!r}\n" for i in range(30)))
    out = tmp_path / "r.json"
    args = ["refine", str(path), "--weighting", "sgd", "-o", str(out), "--step-column", "iteration"]
    assert main([*args, "--norm-column", "gnorm"]) == 2
    assert "cannot tell whether 'gnorm' is an L2 or an L1 norm: pass --norm-kind" in capsys.readouterr().err
    assert main([*args, "--norm-column", "gnrom", "--norm-kind", "l2"]) == 2  # issue 27: a typo was not an error
    assert "no column 'gnrom' (columns: iteration, wall, gnorm)" in capsys.readouterr().err
    assert main([*args, "--norm-column", "gnorm", "--norm-kind", "l2"]) == 0
    trace = read_trace(path, step_column="iteration", norm_column="gnorm", norm_kind="l2")
    assert trace.stride == 5 and trace.gaps == ()
    named = {"step_column": "iteration", "norm_column": "gnorm", "norm_kind": "l2"}
    assert_same_refinement(path, list(trace.step), list(trace.grad_l2), tmp_path, **named)


@pytest.mark.parametrize(
    ("steps", "gaps"),
    [
        (range(100), ()),
        (range(9, 100, 10), ()),  # every 10th step, logged after it (Trainer's convention)
        (range(0, 100, 10), ()),  # every 10th step from step 0
        ([0, *range(9, 100, 10)], ()),  # Trainer's logging_first_step
        (range(50, 100), ((0, 49),)),  # issue 27: a trace missing its first steps was refined silently
        (range(10, 100, 10), ((0, 9),)),  # a whole stride missing at the start
        ([*range(0, 40, 10), *range(60, 100, 10)], ((31, 59),)),  # a missing log inside a sparse trace
    ],
)
def test_the_step_rule(tmp_path, steps, gaps):
    steps = list(steps)
    trace = read_trace(write_csv(tmp_path / "t.csv", steps, [1.0 + s % 7 for s in steps]))
    assert trace.gaps == gaps
    if gaps:
        with pytest.raises(ValueError, match="gap"):
            refine(trace, "sgd")
        with pytest.warns(RefinementWarning, match="interpolated"):
            schedule = refine(trace, "sgd", allow_gaps=True)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            schedule = refine(trace, "sgd")
    assert schedule.meta["steps"] == steps[-1] + 1


def test_sparse_trace_is_linear_interpolation_then_refinement(tmp_path):
    """The documented rule: a log of every d-th step is the trace of every step, linearly interpolated (first value
    held before the first log), refined as usual."""
    steps = list(range(4, 300, 5))
    norms = [1 + 0.5 * np.sin(s / 20) for s in steps]
    every = np.interp(np.arange(300), steps, norms)
    np.testing.assert_allclose(refine(write_csv(tmp_path / "t.csv", steps, norms), "sgd").array,
                               refine(every[:300], "sgd").array, rtol=0, atol=1e-12)  # fmt: skip
