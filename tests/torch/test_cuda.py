"""On a CUDA GPU: no host synchronisation per training step in the recorder (between flushes), ScheduleLR and
Mechanic (``torch.cuda.set_sync_debug_mode("error")`` turns any synchronising call into an error), Mechanic's
CUDA trajectory equals its CPU one to float tolerance, and bf16 gradients are recorded with float32 accumulation.
Skipped, with the reason, on a machine without CUDA (run these with ``pytest -m gpu``)."""

from __future__ import annotations

import contextlib

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install tuneless[torch]")

from tuneless.refine import read_trace  # noqa: E402
from tuneless.torch import Mechanic, ScheduleLR  # noqa: E402
from tuneless.torch.recorder import GradNormRecorder  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"),
]


@contextlib.contextmanager
def no_host_sync():
    """Any call that waits for the GPU (``.item()``, ``.cpu()``, ``float(t)``, ``if`` on a tensor...) raises."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


def _model_and_data(seed: int, device: str, dtype=torch.float32):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.GELU(), torch.nn.Linear(128, 8))
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 64, generator=generator)
    y = torch.randn(256, 8, generator=generator)
    return model.to(device=device, dtype=dtype), x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def _steps(model, x, y, optimizer, scheduler, steps, recorder=None):
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if recorder is not None:
            recorder.log_loss(loss)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9),
        lambda params: torch.optim.AdamW(params, lr=1e-3),
        lambda params: torch.optim.AdamW(params, lr=torch.tensor(1e-3, device="cuda"), fused=True),
    ],
    ids=["sgd", "adamw", "adamw-fused-tensor-lr"],
)
def test_recorder_and_schedule_do_not_synchronise_between_flushes(tmp_path, make_optimizer):
    model, x, y = _model_and_data(0, "cuda")
    optimizer = make_optimizer(model.parameters())
    scheduler = ScheduleLR(optimizer, "warmup(linear,fraction=0.1)", 100)
    recorder = GradNormRecorder(optimizer, tmp_path / "t.csv", flush_every=50)
    _steps(model, x, y, optimizer, scheduler, 3, recorder)  # lazy initialisation (cuBLAS, optimizer state)
    with no_host_sync():
        _steps(model, x, y, optimizer, scheduler, 40, recorder)  # steps 3..42: no flush (that is at 50)
    recorder.close()
    trace = read_trace(tmp_path / "t.csv")
    assert len(trace.grad_l2) == 43 and (trace.grad_l2 > 0).all() and (trace.loss > 0).all()
    peak = float(optimizer.param_groups[0]["initial_lr"])
    assert trace.lr.tolist() == pytest.approx([peak * scheduler.multiplier(t) for t in range(43)], rel=1e-6)


def test_mechanic_does_not_synchronise_per_step():
    model, x, y = _model_and_data(0, "cuda")
    optimizer = Mechanic(torch.optim.SGD, model.parameters(), lr=0.01, momentum=0.9)
    scheduler = ScheduleLR(optimizer, "linear", 50)
    _steps(model, x, y, optimizer, scheduler, 3)
    with no_host_sync():
        _steps(model, x, y, optimizer, scheduler, 30)
    assert optimizer.scale > 0  # reading the scale is a sync: after the checked steps


@pytest.mark.parametrize(("dtype", "rtol"), [(torch.float64, 1e-9), (torch.float32, 1e-4)])
@pytest.mark.parametrize("base", ["sgd", "adamw"])
def test_mechanic_on_cuda_matches_its_cpu_result(dtype, rtol, base):
    results = {}
    for device in ("cpu", "cuda"):
        model, x, y = _model_and_data(1, device, dtype)
        if base == "sgd":
            optimizer = Mechanic(torch.optim.SGD, model.parameters(), lr=0.05, momentum=0.9)
        else:
            optimizer = Mechanic(torch.optim.AdamW, model.parameters(), lr=1e-3, foreach=False)
        scheduler = ScheduleLR(optimizer, "cosine", 40)
        _steps(model, x, y, optimizer, scheduler, 40)
        results[device] = ([p.detach().cpu() for p in model.parameters()], optimizer.scale)
    (cpu_params, cpu_scale), (cuda_params, cuda_scale) = results["cpu"], results["cuda"]
    assert cuda_scale == pytest.approx(cpu_scale, rel=rtol) and cpu_scale != pytest.approx(1e-8)
    for a, b in zip(cpu_params, cuda_params, strict=True):
        torch.testing.assert_close(b, a, rtol=rtol, atol=rtol * a.abs().max().item())


def test_bf16_gradients_on_cuda_are_recorded_with_float32_accumulation(tmp_path):
    model, x, y = _model_and_data(2, "cuda", torch.bfloat16)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    expected = []
    with GradNormRecorder(optimizer, tmp_path / "t.csv", flush_every=4):
        for _ in range(6):
            loss = torch.nn.functional.mse_loss(model(x).float(), y.float())
            optimizer.zero_grad()
            loss.backward()
            flat = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double()
            expected.append((flat.norm(2).item(), flat.norm(1).item()))
            optimizer.step()
    trace = read_trace(tmp_path / "t.csv")
    for (l2, l1), got_l2, got_l1 in zip(expected, trace.grad_l2, trace.grad_l1, strict=True):
        assert got_l2 == pytest.approx(l2, rel=1e-5) and got_l1 == pytest.approx(l1, rel=1e-5)
