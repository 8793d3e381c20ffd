"""GradNormRecorder: exact norms, one row per optimizer step, crash safety, DDP and sharded gradients."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install tuneless[torch]")

from tuneless.refine import read_trace  # noqa: E402
from tuneless.torch.recorder import GradNormRecorder  # noqa: E402

from . import _recorder_workers as workers  # noqa: E402


def full_norms(model):
    flat = torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.grad is not None]).double()
    return flat.norm(2).item(), flat.norm(1).item()


def test_norms_lrs_and_losses_match_the_whole_gradient(tmp_path):
    model, x, y = workers.model_and_data(0)
    opt = torch.optim.AdamW(
        [{"params": model[0].parameters(), "lr": 1e-2}, {"params": model[2].parameters(), "lr": 3e-3}],
        weight_decay=0.1,  # decoupled decay would change the weights, never .grad: the norm is taken before
    )
    expected, losses = [], []
    with GradNormRecorder(opt, tmp_path / "t.csv", flush_every=4) as rec:
        for step in range(10):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            expected.append(full_norms(model))
            losses.append(loss.item())
            if step % 3 != 2:  # the loss is optional, step by step
                rec.log_loss(loss)
            opt.step()
            for g in opt.param_groups:
                g["lr"] *= 0.5
    header = (tmp_path / "t.csv").read_text().splitlines()[0]
    assert header == "step,grad_l2,grad_l1,lr,lr_1,loss"
    trace = read_trace(tmp_path / "t.csv")
    assert list(trace.step) == list(range(10))
    np.testing.assert_allclose(trace.grad_l2, [e[0] for e in expected], rtol=1e-6)  # float32 gradients
    np.testing.assert_allclose(trace.grad_l1, [e[1] for e in expected], rtol=1e-6)  # float32 gradients
    np.testing.assert_allclose(trace.lr, 1e-2 * 0.5 ** np.arange(10), rtol=1e-15)
    for step in range(10):
        if step % 3 == 2:
            assert np.isnan(trace.loss[step])
        else:
            assert trace.loss[step] == pytest.approx(losses[step], rel=1e-6)


def test_one_record_per_optimizer_step_under_gradient_accumulation(tmp_path):
    model, x, y = workers.model_and_data(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    expected = []
    with GradNormRecorder(opt, tmp_path / "t.csv", flush_every=100) as rec:
        for _ in range(6):
            opt.zero_grad()
            for micro in range(4):
                torch.nn.functional.mse_loss(model(x[micro::4]), y[micro::4]).div(4).backward()
            expected.append(full_norms(model))
            opt.step()
        assert rec.steps_recorded == 6
    trace = read_trace(tmp_path / "t.csv")
    assert len(trace) == 6
    np.testing.assert_allclose(trace.grad_l2, [e[0] for e in expected], rtol=1e-6)  # float32 gradients


def test_grad_scaler_records_unscaled_gradients_and_skips_inf_steps(tmp_path):
    model, x, y = workers.model_and_data(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    expected = []
    with GradNormRecorder(opt, tmp_path / "t.csv", flush_every=2):
        for step in range(5):
            opt.zero_grad()
            scaler.scale(torch.nn.functional.mse_loss(model(x), y)).backward()
            if step == 2:  # an overflow: the scaler skips optimizer.step, so nothing is recorded
                model[0].weight.grad[0, 0] = float("inf")
            scaler.unscale_(opt)  # as for gradient clipping: the recorder sees the unscaled gradients
            if step != 2:
                expected.append(full_norms(model))
            scaler.step(opt)
            scaler.update()
    trace = read_trace(tmp_path / "t.csv")
    assert len(trace) == 4
    np.testing.assert_allclose(trace.grad_l2, [e[0] for e in expected], rtol=1e-6)


def record(path, steps, lr=0.1, **options):
    model, x, y = workers.model_and_data(0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with GradNormRecorder(opt, path, flush_every=3, **options):
        for _ in range(steps):
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()


def test_a_fresh_run_replaces_an_old_trace_with_a_warning(tmp_path):
    """issue 27: re-running a script appended to the old trace silently; one rule for the recorder and every
    integration: a run starts at start_step (default 0) and replaces the rows from there on, warning when it
    replaces another run's trace from step 0."""
    record(tmp_path / "t.csv", 4, lr=0.1)
    with pytest.warns(UserWarning, match=r"held steps 0-3 of an earlier run: replaced"):
        record(tmp_path / "t.csv", 6, lr=0.2)
    trace = read_trace(tmp_path / "t.csv")
    assert list(trace.step) == list(range(6)) and (trace.lr == 0.2).all() and trace.repeated_steps == 0
    assert (tmp_path / "t.csv").read_text().count("step,") == 1


def test_start_step_continues_a_trace(tmp_path):
    record(tmp_path / "t.csv", 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record(tmp_path / "t.csv", 4, start_step=4)
        record(tmp_path / "t.csv", 3, start_step=6)  # resumed at step 6: rows 6 and 7 are replaced
    assert list(read_trace(tmp_path / "t.csv").step) == list(range(9))


def test_bfloat16_gradients_norms_are_not_rounded_to_bfloat16(tmp_path):
    model, x, y = workers.model_and_data(0)
    model = model.to(torch.bfloat16)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    expected = []
    with GradNormRecorder(opt, tmp_path / "t.csv", flush_every=2):
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x.bfloat16()), y.bfloat16()).backward()
            expected.append(full_norms(model))  # float64 norms of the bfloat16 gradient entries
            opt.step()
    trace = read_trace(tmp_path / "t.csv")
    np.testing.assert_allclose(trace.grad_l2, [e[0] for e in expected], rtol=1e-6)  # float32 accumulation
    np.testing.assert_allclose(trace.grad_l1, [e[1] for e in expected], rtol=1e-6)


def test_appending_to_a_trace_with_other_columns_is_refused(tmp_path):
    model, x, y = workers.model_and_data(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with GradNormRecorder(opt, tmp_path / "t.csv"):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    two_groups = torch.optim.SGD([{"params": model[0].parameters()}, {"params": model[2].parameters()}], lr=0.1)
    with pytest.raises(
        ValueError,
        match=r"header 'step,grad_l2,grad_l1,lr,loss' does not match .*'step,grad_l2,"
        r"grad_l1,lr,lr_1,loss' \(2 param group\(s\)\)",
    ):
        GradNormRecorder(two_groups, tmp_path / "t.csv")
    assert len(read_trace(tmp_path / "t.csv")) == 1  # the trace is untouched


def test_bad_arguments():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="flush_every=0 must be an integer >= 1"):
        GradNormRecorder(opt, "x.csv", flush_every=0)


def test_trace_survives_kill_9_up_to_the_last_flush(tmp_path):
    trace = tmp_path / "crash.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "tests.torch._recorder_workers", str(trace), "5"], env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if trace.exists() and trace.read_text().count("\n") > 40:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the training subprocess never flushed 40 rows")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    lines = trace.read_text().splitlines()
    rows = len(lines) - 1
    assert rows % 5 == 0  # whole flush windows only: each flush is one write + fsync
    result = read_trace(trace)
    assert list(result.step) == list(range(rows))
    assert np.all(np.isfinite(result.grad_l2)) and np.all(np.isfinite(result.loss))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_records_the_averaged_gradient_once_on_rank_0(tmp_path):
    import torch.multiprocessing as mp

    trace, out = str(tmp_path / "ddp.csv"), str(tmp_path / "norms")
    mp.spawn(workers.ddp_worker, args=(2, _free_port(), trace, out), nprocs=2, join=True)
    result = read_trace(trace)
    norms = torch.load(f"{out}.0").numpy()
    assert np.array_equal(norms, torch.load(f"{out}.1").numpy())  # the averaged gradient: same on both ranks
    np.testing.assert_allclose(result.grad_l2, norms[:, 0], rtol=1e-6)
    np.testing.assert_allclose(result.grad_l1, norms[:, 1], rtol=1e-6)
    assert not Path(trace + ".rank1").exists()  # only rank 0 writes


def test_sharded_gradients_give_the_full_gradient_norm_with_one_all_reduce_per_window(tmp_path):
    import torch.multiprocessing as mp

    trace, calls = str(tmp_path / "sharded.csv"), str(tmp_path / "calls")
    mp.spawn(workers.sharded_worker, args=(2, _free_port(), trace, calls), nprocs=2, join=True)
    # the same 7 steps in one process, all parameters in one optimizer
    model, x, y = workers.model_and_data(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    expected = []
    for _ in range(7):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        expected.append(full_norms(model))
        opt.step()
    result = read_trace(trace)
    np.testing.assert_allclose(result.grad_l2, [e[0] for e in expected], rtol=1e-6)
    np.testing.assert_allclose(result.grad_l1, [e[1] for e in expected], rtol=1e-6)
    for rank in (0, 1):  # windows of 3, 3 and the last 1 step: three all_reduce calls for 7 steps
        assert torch.load(f"{calls}.{rank}") == [(3, 2), (3, 2), (1, 2)]


def test_fsdp2_sharded_gradients_give_the_full_gradient_norm(tmp_path):
    import torch.multiprocessing as mp

    trace, calls = str(tmp_path / "fsdp.csv"), str(tmp_path / "calls")
    mp.spawn(workers.fsdp_worker, args=(2, _free_port(), trace, calls), nprocs=2, join=True)
    # the same 5 steps in one process: FSDP averages the ranks' gradients, which (equal batch sizes, mean loss)
    # is the gradient of the loss over both ranks' data together
    model, _, _ = workers.model_and_data(0)
    data = [workers.model_and_data(rank)[1:] for rank in (0, 1)]
    x, y = torch.cat([d[0] for d in data]), torch.cat([d[1] for d in data])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    expected = []
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        expected.append(full_norms(model))
        opt.step()
    result = read_trace(trace)
    assert list(result.step) == list(range(5))
    np.testing.assert_allclose(result.grad_l2, [e[0] for e in expected], rtol=1e-6)
    np.testing.assert_allclose(result.grad_l1, [e[1] for e in expected], rtol=1e-6)
    for rank in (0, 1):  # windows of 3 and the last 2 steps
        assert torch.load(f"{calls}.{rank}") == [(3, 2), (2, 2)]


def test_run_killed_after_a_checkpoint_and_resumed_writes_the_uninterrupted_trace(tmp_path):
    """kill (os._exit) at random steps after a checkpoint, resume from it: the same rows as a run never killed,
    whether the crash came before or after the flush that followed the checkpoint (superseded rows) and whatever
    rows the checkpoint held unwritten; refinement of the two traces is the same."""
    from tuneless.refine import refine

    from . import _resume_worker as resume_worker

    total = 60
    resume_worker.train(tmp_path / "whole.csv", tmp_path / "whole.pt", total)
    whole = read_trace(tmp_path / "whole.csv")
    assert list(whole.step) == list(range(total))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), *sys.path])}
    rng = np.random.default_rng(18)
    # one death right at a flush after the checkpoint, the others anywhere after the first checkpoint
    deaths = [3 * resume_worker.CHECKPOINT_EVERY + 1, int(rng.integers(resume_worker.CHECKPOINT_EVERY + 1, total))]
    for die_at in deaths:
        trace, checkpoint = tmp_path / f"killed{die_at}.csv", tmp_path / f"killed{die_at}.pt"
        worker = [sys.executable, "-m", "tests.torch._resume_worker", str(trace), str(checkpoint), str(total)]
        result = subprocess.run([*worker, str(die_at)], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 9, result.stderr
        killed = read_trace(trace)
        assert killed.step[-1] < total - 1  # the crash did lose the end
        resume_worker.train(trace, checkpoint, total, resume=True)
        resumed = read_trace(trace)
        assert resumed.repeated_steps == 0 and resumed.gaps == ()
        assert trace.read_text().count("\n") == total + 1  # every step written exactly once, header once
        assert list(resumed.step) == list(whole.step)
        for column in ("grad_l2", "grad_l1", "lr", "loss"):
            np.testing.assert_allclose(getattr(resumed, column), getattr(whole, column), rtol=1e-12, err_msg=column)
        for method in ("sgd", "adam"):
            np.testing.assert_allclose(refine(resumed, method).array, refine(whole, method).array, rtol=1e-12)


def test_state_dict_holds_the_unwritten_rows_and_load_state_dict_supersedes_later_rows(tmp_path):
    model, x, y = workers.model_and_data(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = GradNormRecorder(opt, tmp_path / "t.csv", flush_every=4)
    for _ in range(6):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    state = rec.state_dict()
    assert state["next_step"] == 6 and [row[0] for row in state["rows"]] == [4, 5]  # 0-3 are in the file
    assert len(read_trace(tmp_path / "t.csv")) == 4  # state_dict writes nothing
    for _ in range(5):  # steps 6-10: 6 and 7 flushed with 4 and 5, then the "crash" (no close)
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    assert list(read_trace(tmp_path / "t.csv").step) == list(range(8))
    rec._hook.remove()
    resumed = GradNormRecorder(opt, tmp_path / "t.csv", flush_every=4)
    resumed.load_state_dict(state)
    assert list(read_trace(tmp_path / "t.csv").step) == list(range(6))  # 6 and 7 superseded, 4 and 5 restored
    for _ in range(2):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    resumed.close()
    assert list(read_trace(tmp_path / "t.csv").step) == list(range(8))
    late = GradNormRecorder(opt, tmp_path / "u.csv")
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
    with pytest.raises(ValueError, match="already recorded steps; call it before the first optimizer.step"):
        late.load_state_dict(state)
    late.close()
    with pytest.raises(ValueError, match=r"next_step=-1 must be an integer >= 0"):
        GradNormRecorder(opt, tmp_path / "v.csv").load_state_dict({"next_step": -1, "rows": []})
