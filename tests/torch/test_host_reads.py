"""The CPU stand-in for the GPU-only no-sync tests (test_cuda.py): between flushes, the recorder, ScheduleLR and
Mechanic never read a tensor's value into python (``.item()``, ``float(t)``, ``if t``, ``.tolist()``, ``.cpu()``),
which on a GPU would wait for the device every step. Base optimizer: SGD (torch's Adam reads its CPU-side step
counter with ``.item()``, which is no device sync)."""

from __future__ import annotations

import contextlib

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install tuneless[torch]")

from tuneless.torch import Mechanic, ScheduleLR  # noqa: E402
from tuneless.torch.recorder import GradNormRecorder  # noqa: E402

HOST_READS = ("item", "__float__", "__int__", "__bool__", "__index__", "tolist", "cpu", "numpy")


@contextlib.contextmanager
def no_host_reads():
    saved = {name: torch.Tensor.__dict__[name] for name in HOST_READS if name in torch.Tensor.__dict__}

    def trap(name):
        def read(self, *args, **kwargs):
            raise AssertionError(f"a training step read a tensor back: Tensor.{name}")

        return read

    for name in HOST_READS:
        setattr(torch.Tensor, name, trap(name))
    try:
        yield
    finally:
        for name in HOST_READS:  # back to what torch.Tensor had (its own, or inherited from the C base)
            if name in saved:
                setattr(torch.Tensor, name, saved[name])
            else:
                delattr(torch.Tensor, name)


@pytest.mark.parametrize("mechanic", [False, True], ids=["sgd", "mechanic-sgd"])
@pytest.mark.parametrize("tensor_lr", [False, True], ids=["float-lr", "tensor-lr"])
def test_steps_between_flushes_read_nothing_back(tmp_path, mechanic, tensor_lr):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    lr = torch.tensor(0.01) if tensor_lr else 0.01
    if mechanic:
        optimizer = Mechanic(torch.optim.SGD, model.parameters(), lr=lr, momentum=0.9)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = ScheduleLR(optimizer, "warmup(linear,fraction=0.1)", 100)
    recorder = GradNormRecorder(optimizer, tmp_path / "t.csv", flush_every=50)
    x = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))

    def step():
        loss = model(x).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        recorder.log_loss(loss)
        optimizer.step()
        scheduler.step()

    step()
    with no_host_reads():
        for _ in range(30):
            step()
    with pytest.raises(AssertionError, match="Tensor.item"), no_host_reads():  # the trap works
        torch.ones(1).item()
    recorder.close()
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 1 + 31
