"""Gradient norms of bfloat16 gradients are accumulated in float32 (not rounded to bfloat16), and a tensor lr is
recorded exactly: checked on the CPU against float64 references."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install tuneless[torch]")

from tuneless.refine import read_trace  # noqa: E402
from tuneless.torch import ScheduleLR  # noqa: E402
from tuneless.torch.recorder import GradNormRecorder, partial_norm_sums  # noqa: E402


def _bf16_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.Tanh(), torch.nn.Linear(1024, 256)).to(
        torch.bfloat16
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bf16_gradient_norms_accumulate_in_float32(tmp_path, seed):
    model = _bf16_model(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 512, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)
    expected = []
    with GradNormRecorder(opt, tmp_path / "t.csv", flush_every=2):
        for _ in range(3):
            opt.zero_grad()
            (model(x).float().square().mean() * 1e3).backward()
            grads = [p.grad for p in model.parameters()]
            assert all(g.dtype == torch.bfloat16 for g in grads) and sum(g.numel() for g in grads) > 700_000
            flat = torch.cat([g.reshape(-1) for g in grads]).double()  # bfloat16 -> float64 is exact
            reference = (flat.norm(2).item(), flat.norm(1).item())
            in_f32 = [torch.stack([torch.linalg.vector_norm(g, o, dtype=torch.float32) for g in grads]) for o in (2, 1)]
            in_f32 = (in_f32[0].double().square().sum().sqrt().item(), in_f32[1].double().sum().item())
            # norms accumulated in bfloat16 are off by ~1e-3: the tolerance below tells the two apart
            in_bf16 = [torch.stack(torch._foreach_norm(grads, o)).double() for o in (2, 1)]
            in_bf16 = (in_bf16[0].square().sum().sqrt().item(), in_bf16[1].sum().item())
            assert max(abs(b - r) / r for b, r in zip(in_bf16, reference, strict=True)) > 3e-4
            expected.append((reference, in_f32))
            opt.step()
    trace = read_trace(tmp_path / "t.csv")
    for (reference, in_f32), *got in zip(expected, trace.grad_l2, trace.grad_l1, strict=True):
        assert got == pytest.approx(in_f32, rel=1e-6)  # float32 accumulation per tensor, combined in float64
        assert got == pytest.approx(reference, rel=1e-4)  # float32 summation error over ~790k entries


def test_partial_sums_of_a_long_bf16_vector_are_accumulated_in_float32():
    """2^22 entries: the sums equal float32-accumulated norms of the bfloat16 values, within float32 summation error
    of the float64 sums (torch's CPU reduction: ~5e-4 relative here)."""
    g = (torch.rand(1 << 22, generator=torch.Generator().manual_seed(0)) + 0.5).to(torch.bfloat16)
    sums = partial_norm_sums([g])
    reference = g.double()
    assert sums.dtype == torch.float64
    in_f32 = [torch.linalg.vector_norm(g, o, dtype=torch.float32).double() for o in (2, 1)]
    assert sums.tolist() == pytest.approx([in_f32[0].square().item(), in_f32[1].item()], rel=1e-6)
    assert sums.tolist() == pytest.approx([reference.square().sum().item(), reference.abs().sum().item()], rel=2e-3)


def test_a_tensor_lr_is_recorded_as_it_was_at_the_step(tmp_path):
    """A tensor lr is filled in place by the scheduler: the recorder must keep each step's value, not the last."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01))
    scheduler = ScheduleLR(opt, "linear", 5)
    lrs = []
    with GradNormRecorder(opt, tmp_path / "t.csv", flush_every=10):
        for _ in range(5):
            opt.zero_grad()
            model(torch.ones(2, 4)).sum().backward()
            lrs.append(opt.param_groups[0]["lr"].item())
            opt.step()
            scheduler.step()
    assert isinstance(opt.param_groups[0]["lr"], torch.Tensor)
    assert read_trace(tmp_path / "t.csv").lr.tolist() == lrs
    assert lrs == pytest.approx([0.01 * (1 - t / 5) for t in range(5)], rel=1e-6)
    assert scheduler.get_last_lr() == pytest.approx([0.0], abs=1e-12)
