"""`tuneless refine ...`: output file, plot, the schedules command on the output, and errors without traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tuneless.cli import main
from tuneless.refine import refine
from tuneless.schedules import load_schedule


def write_trace(path, l2, l1=None, header="step,grad_l2,grad_l1,lr,loss"):
    l1 = l2 if l1 is None else l1
    rows = [f"{t},{a:.17g},{b:.17g},0.001,{3 - t / len(l2):.17g}" for t, (a, b) in enumerate(zip(l2, l1, strict=True))]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_refine_writes_the_schedule_the_library_computes(tmp_path, capsys):
    T = 300
    l2 = np.concatenate([np.linspace(4, 1, 30), np.ones(T - 30)])
    l1 = 50 * np.concatenate([np.ones(T - 60), np.linspace(1, 2, 60)])
    trace = write_trace(tmp_path / "trace.csv", l2, l1)
    out = tmp_path / "refined.json"
    assert main(["refine", str(trace), "--weighting", "adam", "--tau", "0.1", "-o", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "refined 300 steps of grad_l1 (adam, median window 31 steps, tau=0.1)" in stdout
    saved = load_schedule(out)
    np.testing.assert_array_equal(saved.array, refine(l1, "adam", tau=0.1).array)
    assert json.loads(out.read_text())["meta"]["source"] == str(trace)

    # The schedules command reads the output at another horizon.
    assert main(["schedules", "values", str(out), "--steps", "50"]) == 0
    lines = capsys.readouterr().out.split()
    assert lines[0] == "step,multiplier" and len(lines) == 52
    values = np.array([float(line.split(",")[1]) for line in lines[1:]])
    np.testing.assert_allclose(values, saved(np.arange(51), 50), rtol=1e-9)
    assert values[0] == pytest.approx(1.0) and values[-1] == 0.0


def test_refine_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    norms = np.concatenate([np.linspace(5, 1, 20), np.ones(180)])
    norms[50] = np.nan
    trace = write_trace(tmp_path / "trace.csv", norms)
    png = tmp_path / "refined.png"
    assert main(["refine", str(trace), "--weighting", "sgd", "-o", str(tmp_path / "r.json"), "--plot", str(png)]) == 0
    captured = capsys.readouterr()
    assert "warning: refine: dropped 1 non-finite norm(s) of 200" in captured.err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_wrong_norm_for_the_method_is_an_error(tmp_path, capsys):
    trace = tmp_path / "l1.csv"
    trace.write_text("step,grad_l1\n" + "".join(f"{t},{1 + t}\n" for t in range(30)))
    assert main(["refine", str(trace), "--weighting", "sgd", "-o", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: refine: weighting='sgd' needs grad_l2 norms" in err
    assert "implies weighting='adam'" in err and not (tmp_path / "r.json").exists()


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tuneless.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("step,grad_l2\n0,1\n1,2,3\n2,1\n", "line 3: 3 fields where the header has 2"),
        ("step,grad_l1\n0,0\n1,0\n2,0\n", "are 0 at 3 of 3 steps"),
    ],
)
def test_errors_print_the_message_without_traceback(tmp_path, content, message):
    trace = tmp_path / "bad.csv"
    trace.write_text(content)
    result = run_cli("refine", str(trace), "--weighting", "adam", "-o", str(tmp_path / "r.json"))
    assert result.returncode == 2
    assert "tuneless refine: error: " in result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.json").exists()


def test_missing_file_and_bad_tau(tmp_path, capsys):
    assert main(["refine", str(tmp_path / "nope.csv"), "--weighting", "adam", "-o", str(tmp_path / "r.json")]) == 2
    assert (
        capsys.readouterr().err
        == f"tuneless refine: error: {str(tmp_path / 'nope.csv')!r}: no such file or directory\n"
    )
    trace = write_trace(tmp_path / "t.csv", np.ones(10))
    assert main(["refine", str(trace), "--weighting", "adam", "--tau", "2", "-o", str(tmp_path / "r.json")]) == 2
    assert "tau=2.0 must be in [0, 1]" in capsys.readouterr().err


def test_a_trace_with_gaps_is_refused_unless_allow_gaps(tmp_path, capsys):
    trace = tmp_path / "gappy.csv"
    steps = [*range(0, 50), *range(150, 300)]
    trace.write_text("step,grad_l2\n" + "".join(f"{s},{2 - s / 300}\n" for s in steps))
    out = tmp_path / "r.json"
    assert main(["refine", str(trace), "--weighting", "sgd", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "steps 50-149 missing" in err and "--allow-gaps" in err and not out.exists()
    assert main(["refine", str(trace), "--weighting", "sgd", "-o", str(out), "--allow-gaps"]) == 0
    captured = capsys.readouterr()
    assert "interpolated 100 missing step(s): steps 50-149" in captured.err
    assert "refined 300 steps" in captured.out  # the time axis keeps its 300 steps
    filled = np.array([2 - s / 300 for s in range(300)])
    np.testing.assert_allclose(load_schedule(out).array, refine(filled, "sgd").array, rtol=1e-12)


def test_an_output_without_json_is_refused(tmp_path, capsys):
    """issue 27: `refine -o refined` wrote a file that nothing reads (a path without .json is a schedule spec)."""
    trace = tmp_path / "t.csv"
    trace.write_text("step,grad_l2\n" + "".join(f"{t},{1 + t}\n" for t in range(30)))
    assert main(["refine", str(trace), "--weighting", "sgd", "-o", str(tmp_path / "refined")]) == 2
    assert "must end in .json" in capsys.readouterr().err and not (tmp_path / "refined").exists()
