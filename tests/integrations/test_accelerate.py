"""tuneless.integrations.accelerate: the recorder in a hand-written accelerate loop (accelerator.backward,
gradient accumulation, accelerator.clip_grad_norm_), against the same loop in plain torch."""

from __future__ import annotations

import numpy as np
import pytest

import torch
from tuneless.refine import read_trace
from tuneless.torch import GradNormRecorder, ScheduleLR

accelerate = pytest.importorskip("accelerate")  # installed by `make test` ([accelerate] extra): never skips there
from accelerate.state import AcceleratorState, GradientState  # noqa: E402

from tuneless.integrations.accelerate import record_before_clipping  # noqa: E402

PEAK, BATCHES, ACCUMULATION, MAX_NORM = 0.05, 12, 3, 0.3


@pytest.fixture(autouse=True)
def fresh_accelerator_state():
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def batches():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCHES * 8, 6, generator=g)
    return torch.utils.data.TensorDataset(x, torch.sin(x.sum(1, keepdim=True)))


def network():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))


def accelerate_loop(path, mixed_precision="no", clip=True):
    accelerator = accelerate.Accelerator(gradient_accumulation_steps=ACCUMULATION, cpu=True,
                                         mixed_precision=mixed_precision)  # fmt: skip
    model = network()
    optimizer = torch.optim.SGD(model.parameters(), lr=PEAK, momentum=0.9)
    loader = torch.utils.data.DataLoader(batches(), batch_size=8, shuffle=False)
    steps = BATCHES // ACCUMULATION
    scheduler = ScheduleLR(optimizer, "linear", steps)
    torch_optimizer = optimizer  # prepare() wraps it; without clipping the recorder hooks the torch optimizer
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    if clip:
        recorder = record_before_clipping(accelerator, optimizer, path)
    else:
        recorder = GradNormRecorder(torch_optimizer, path)
    with recorder:
        for x, y in loader:
            with accelerator.accumulate(model):
                loss = torch.nn.functional.mse_loss(model(x), y)
                accelerator.backward(loss)
                if accelerator.sync_gradients and clip:
                    accelerator.clip_grad_norm_(model.parameters(), MAX_NORM)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
    return steps


def plain_loop(clip=True):
    model = network()
    optimizer = torch.optim.SGD(model.parameters(), lr=PEAK, momentum=0.9)
    steps = BATCHES // ACCUMULATION
    scheduler = ScheduleLR(optimizer, "linear", steps)
    data = list(torch.utils.data.DataLoader(batches(), batch_size=8, shuffle=False))
    norms = []
    for step in range(steps):
        for x, y in data[step * ACCUMULATION : (step + 1) * ACCUMULATION]:
            (torch.nn.functional.mse_loss(model(x), y) / ACCUMULATION).backward()
        flat = torch.cat([p.grad.reshape(-1).double() for p in model.parameters()])
        norms.append((flat.norm(2).item(), flat.norm(1).item()))
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return np.array(norms)


@pytest.mark.parametrize("clip", [True, False], ids=["clip_grad_norm_", "no clipping"])
def test_recorded_norms_equal_the_plain_torch_loop(tmp_path, clip):
    steps = accelerate_loop(tmp_path / "trace.csv", clip=clip)
    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(steps))  # one row per optimizer step
    expected = plain_loop(clip=clip)
    np.testing.assert_allclose(trace.grad_l2, expected[:, 0], rtol=1e-5)
    np.testing.assert_allclose(trace.grad_l1, expected[:, 1], rtol=1e-5)
    if clip:
        assert np.all(trace.grad_l2 > MAX_NORM)  # clipped at every step: the trace has the norms before clipping
    np.testing.assert_allclose(trace.lr, PEAK * (1 - np.arange(steps) / steps), rtol=1e-12)


def test_bf16_autocast_on_cpu(tmp_path):
    steps = accelerate_loop(tmp_path / "trace.csv", mixed_precision="bf16")
    trace = read_trace(tmp_path / "trace.csv")
    np.testing.assert_array_equal(trace.step, np.arange(steps))
    expected = plain_loop()
    np.testing.assert_allclose(trace.grad_l2, expected[:, 0], rtol=0.05)  # bf16 forward: close, not equal
    assert np.all(np.isfinite(trace.grad_l1))
