"""Peak-lr transfer and horizon extension by the last-iterate bound: the 1/sqrt(T) law, consistency, the bound
identity of an extension, a checkpoint resumed under the extended schedule, the CLI, bad input."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from tuneless.cli import main
from tuneless.refine import bound_at_best_base_lr, extend_schedule, transfer_lr
from tuneless.refine.transfer import best_base_lr
from tuneless.schedules import Tabulated, as_schedule

WARM_LINEAR = "warmup(linear,fraction=0.05)"


@pytest.mark.parametrize("T1, T2", [(1000, 4000), (8000, 2000), (2000, 2000)])
def test_linear_decay_between_horizons_follows_one_over_sqrt_t(T1, T2):
    # Constant norms: the best base lr of linear decay is ~ D / (G sqrt(T)) (arXiv 2310.07831 v2).
    assert transfer_lr(0.3, "linear", T1, "linear", T2) == pytest.approx(0.3 * np.sqrt(T1 / T2), rel=0.02)


def test_transfer_is_the_ratio_of_best_base_lrs_and_composes():
    m1, m2 = as_schedule(WARM_LINEAR).values(75), as_schedule("warmup(cosine,fraction=0.05)").values(300)
    expected = 0.2 * bound_at_best_base_lr(m2, 1.0)[1] / bound_at_best_base_lr(m1, 1.0)[1]
    assert transfer_lr(0.2, WARM_LINEAR, 75, "warmup(cosine,fraction=0.05)", 300) == pytest.approx(expected, 1e-12)
    there = transfer_lr(0.2, WARM_LINEAR, 75, "constant", 500)
    assert transfer_lr(there, "constant", 500, WARM_LINEAR, 75) == pytest.approx(0.2, rel=1e-12)
    # a constant schedule wants a smaller lr than linear decay at the same horizon (its bound has a log T)
    assert transfer_lr(1.0, "linear", 1000, "constant", 1000) < 0.5


def test_grad_norms_are_stretched_over_the_new_horizon():
    norms = np.linspace(1.0, 3.0, 200)
    stretched = np.interp(np.linspace(0, 1, 800), np.linspace(0, 1, 200), norms)
    tuned = bound_at_best_base_lr(as_schedule("linear").values(200), norms)[1]
    new = bound_at_best_base_lr(as_schedule("linear").values(800), stretched)[1]
    assert transfer_lr(1.0, "linear", 200, "linear", 800, norms) == pytest.approx(new / tuned, rel=1e-12)
    assert transfer_lr(1.0, "linear", 200, "linear", 800, 5.0) == pytest.approx(
        transfer_lr(1.0, "linear", 200, "linear", 800)
    )


@pytest.mark.parametrize("schedule, reached", [("linear", 1000), ("wsd(cooldown=0.2)", 800), ("constant", 600)])
@pytest.mark.parametrize("continuation", ["linear", "constant", "wsd(cooldown=0.2)"])
def test_extension_keeps_the_tuned_best_base_lr(schedule, reached, continuation):
    extended, rho = extend_schedule(schedule, 1000, reached, 3000, continuation)
    m = extended.values(3000)
    assert bound_at_best_base_lr(m, 1.0)[1] == pytest.approx(best_base_lr(schedule, 1000), rel=1e-9)
    np.testing.assert_allclose(m[:reached], as_schedule(schedule).values(1000)[:reached], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        m[reached:], rho * as_schedule(continuation).values(3000 - reached), rtol=1e-9, atol=1e-12
    )
    assert 0 < rho < 10


def test_a_finished_run_resumed_from_its_checkpoint_follows_the_extended_schedule(tmp_path):
    torch = pytest.importorskip("torch")
    from tuneless.torch import ScheduleLR

    T1, T2, peak = 40, 100, 0.05
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=peak, momentum=0.9)
    scheduler = ScheduleLR(optimizer, WARM_LINEAR, T1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    for _ in range(T1):  # the finished run
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    path = tmp_path / "checkpoint.pt"
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, path
    )

    extended, rho = extend_schedule(WARM_LINEAR, T1, T1, T2, "linear")
    checkpoint = torch.load(path, weights_only=True)
    model = torch.nn.Linear(3, 1)
    model.load_state_dict(checkpoint["model"])
    optimizer = torch.optim.SGD(model.parameters(), lr=peak, momentum=0.9)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler = ScheduleLR(optimizer, extended, T2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheduler.load_state_dict(checkpoint["scheduler"])
    assert any("keeping the new one" in str(w.message) for w in caught)
    lrs = []
    for _ in range(T1, T2):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    t = np.arange(T1, T2)
    formula = peak * rho * (1 - (t - T1) / (T2 - T1))  # the new linear cooldown from rho * peak
    np.testing.assert_allclose(lrs, formula, rtol=1e-12)
    assert optimizer.param_groups[0]["lr"] == 0.0


def test_transfer_cli_prints_the_library_values(tmp_path, capsys):
    code = main(["transfer", "--lr", "0.3", "--from", f"{WARM_LINEAR}@75", "--to", f"{WARM_LINEAR}@300", "cosine@300"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[0].startswith(f"tuned: {WARM_LINEAR} over 75 steps at lr 0.3")
    assert float(out[1].split()[0]) == pytest.approx(transfer_lr(0.3, WARM_LINEAR, 75, WARM_LINEAR, 300), rel=1e-5)
    assert float(out[2].split()[0]) == pytest.approx(transfer_lr(0.3, WARM_LINEAR, 75, "cosine", 300), rel=1e-5)
    out_path = tmp_path / "extended.json"
    code = main(["transfer", "--lr", "0.3", "--from", "linear@1000", "--extend", "3000", "-o", str(out_path)])
    text = capsys.readouterr().out
    _, rho = extend_schedule("linear", 1000, 1000, 3000)
    assert code == 0 and f"run {rho:.6g} * linear" in text
    assert json.loads(out_path.read_text())["meta"]["rho"] == pytest.approx(rho)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "-1", "--from", "linear@100", "--to", "linear@200"], "--lr -1.0 must be a finite number > 0"),
        (["--lr", "1", "--from", "linear", "--to", "linear@200"], "--from 'linear': expected SPEC@STEPS"),
        (["--lr", "1", "--from", "linear@100", "--to", "linear@x"], "STEPS after '@' must be an integer"),
        (["--lr", "1", "--from", "linear@100"], "give --to SPEC@STEPS"),
        (["--lr", "1", "--from", "linear@100", "--extend", "101"], "new_steps=101 must be >= reached + 2"),
    ],
)
def test_transfer_cli_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(["transfer", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_transfer_cli_checks_its_output_before_any_work_and_writes_atomically(tmp_path, capsys):
    trace = tmp_path / "trace.csv"
    trace.write_text("step,grad_l2\n" + "".join(f"{s},{1 + s % 3}\n" for s in range(200)))
    before = trace.read_text()
    extend = ["transfer", "--lr", "0.3", "--from", "linear@200", "--extend", "800", "--trace", str(trace)]
    assert main([*extend, "-o", str(trace)]) == 2  # the trace is not overwritten by the schedule
    captured = capsys.readouterr()
    assert captured.out == "" and "is the same file as --trace" in captured.err and trace.read_text() == before
    assert main([*extend, "-o", str(tmp_path)]) == 2  # a folder is refused before anything is printed
    captured = capsys.readouterr()
    assert captured.out == "" and "is a folder: give a file path" in captured.err
    assert main([*extend[:4], "linear@300", *extend[5:], "-o", str(tmp_path / "e.json")]) == 2
    assert f"--trace {str(trace)!r} holds 200 steps but --from 'linear@300' ran 300" in capsys.readouterr().err
    out = tmp_path / "new" / "extended.json"  # a missing folder is created, and no temporary file is left
    assert main([*extend, "-o", str(out)]) == 0
    assert json.loads(out.read_text())["meta"]["rho"] > 0 and sorted(p.name for p in out.parent.iterdir()) == [
        "extended.json"
    ]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: transfer_lr(0.0, "linear", 100, "linear", 200), r"lr=0.0 must be a finite number > 0"),
        (lambda: transfer_lr(-0.1, "linear", 100, "linear", 200), r"lr=-0.1 must be"),
        (lambda: transfer_lr(0.1, "linear", 1, "linear", 200), r"from_steps=1 must be an integer >= 2"),
        (lambda: transfer_lr(0.1, "linear", 100, "linear", 200, np.ones(50)), r"grad_norms has shape \(50,\)"),
        (
            lambda: transfer_lr(0.1, "linear", 3, "linear", 200, [1.0, np.nan, 1.0]),
            r"grad_norms must be finite and > 0; entry 1 of 3 is nan",
        ),
        (lambda: transfer_lr(0.1, "linear", 100, "linear", 200, 0.0), r"grad_norms=0.0 must be finite and > 0"),
        (
            lambda: transfer_lr(0.1, "linear", 100, Tabulated([1.0, 0.0, 0.0]), 200),
            r"to_schedule ends with multiplier 0.0",
        ),
        (lambda: extend_schedule("linear", 100, 101, 300), r"reached=101 must be <= steps=100"),
        (lambda: extend_schedule("linear", 100, 100, 300, "linear", np.ones(99)), r"grad_norms has shape \(99,\)"),
    ],
)
def test_bad_input_is_one_clear_line(call, message):
    with pytest.raises(ValueError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


def test_extend_is_the_new_total_and_its_schedule_warns_at_another_horizon(tmp_path, capsys):
    """issue 27: `--extend 3000` means the new total horizon (not 3000 more steps), and the written schedule was
    stretched silently when driven at another length."""
    out_path = tmp_path / "extended.json"
    assert main(["transfer", "--lr", "0.3", "--from", "linear@1000", "--extend", "3000", "-o", str(out_path)]) == 0
    assert "extension to 3000 steps in all (+2000 on the tuned 1000)" in capsys.readouterr().out
    torch = pytest.importorskip("torch")
    from tuneless.torch import ScheduleLR

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ScheduleLR(optimizer, str(out_path), 3000)
    with pytest.warns(UserWarning, match="written for a run of 3000 steps in all; over total_steps=5000"):
        ScheduleLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3), str(out_path), 5000)


def test_the_readme_predict_example_names_files_that_exist():
    """issue 27: the README's `tuneless predict` example named files that do not exist."""
    from tuneless.laws.public import DEFAULT_DIR

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", readme, flags=re.S) if "tuneless predict" in b)
    assert "DEFAULT_DIR / '100M'" in block
    files = re.findall(r'"\$D/([^:"]+):', block)
    assert len(files) == 2 and all((DEFAULT_DIR / "100M" / name).is_file() for name in files)
