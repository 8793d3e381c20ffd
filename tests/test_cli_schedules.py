"""`tuneless schedules ...` through the real console entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuneless import schedules as S
from tuneless.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tuneless.cli", *args], capture_output=True, text=True)


def test_values_prints_every_step_including_the_endpoint(capsys):
    assert main(["schedules", "values", "wsd(cooldown=0.5,shape=1-sqrt)", "--steps", "8"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "step,multiplier"
    steps, values = np.array([[float(x) for x in line.split(",")] for line in lines[1:]]).T
    assert list(steps) == list(range(9))
    np.testing.assert_allclose(values, S.wsd(cooldown=0.5, shape="1-sqrt").values(8, endpoint=True), rtol=1e-9)


def test_values_accepts_a_tabulated_json_file(tmp_path, capsys):
    path = S.Tabulated([0.0, 1.0, 0.0]).save(tmp_path / "refined.json")
    assert main(["schedules", "values", str(path), "--steps", "4"]) == 0
    out = capsys.readouterr().out.split()
    assert out[1:] == ["0,0", "1,0.5", "2,1", "3,0.5", "4,0"]


def test_list_names_every_schedule(capsys):
    assert main(["schedules", "list"]) == 0
    out = capsys.readouterr().out
    for name in S.registry:
        assert f"\n{name}(" in "\n" + out
    descriptions = out.splitlines()[1::2]  # each name's line is followed by its one-line description
    assert len(descriptions) == len(S.registry)
    assert all(line.startswith("    ") and line.rstrip().endswith(".") for line in descriptions), descriptions


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "s.png"
    assert main(["schedules", "plot", "linear", "cosine", "--steps", "50", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schedules", "values", "wsd(cooldown=2)", "--steps", "10"], "wsd: cooldown=2.0 must be in (0, 1]"),
        (["schedules", "values", "nope", "--steps", "10"], "unknown schedule 'nope'"),
        (["schedules", "values", "linear", "--steps", "0"], "total_steps=0 must be an integer > 0"),
        (["schedules", "values", "x.json", "--steps", "10"], "x.json: no such schedule file"),
    ],
)
def test_errors_print_one_line_without_traceback(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_reader_that_stops_early_gets_no_traceback():
    # `tuneless schedules values ... | head -1`: 200,001 rows overflow the pipe, so the writer sees the reader leave
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuneless.cli", "schedules", "values", "linear", "--steps", "200000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "step,multiplier\n"
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141 and stderr == ""


def test_a_folder_or_a_binary_file_where_a_schedule_goes_is_named_as_such(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.json").mkdir()
    (tmp_path / "binary.json").write_bytes(bytes(range(256)))
    (tmp_path / "notes.txt").write_text("linear")
    cases = {
        str(tmp_path): f"{str(tmp_path)!r} is a folder: give a schedule spec (e.g. 'linear') or a .json",
        "folder.json": "folder.json: is a folder, not a schedule file",
        "binary.json": "binary.json: not a text file (a schedule file is UTF-8 JSON)",
        "notes.txt": "'notes.txt' is a file without the .json suffix",
    }
    for spec, message in cases.items():
        assert main(["schedules", "values", spec, "--steps", "3"]) == 2
        assert message in capsys.readouterr().err
    (tmp_path / "linear").mkdir()  # a folder named like a spec does not shadow the spec
    assert main(["schedules", "values", "linear", "--steps", "2"]) == 0
    assert capsys.readouterr().out.split() == ["step,multiplier", "0,1", "1,0.5", "2,0"]


def test_plot_legend_names_a_schedule_file_by_its_name(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from tuneless import plotting

    drawn = {}
    monkeypatch.setattr(plotting, "save", lambda fig, path: drawn.setdefault("fig", fig) and Path(path))
    S.Tabulated(values=(1.0, 0.6, 0.1, 0.0)).save(tmp_path / "refined.json")
    argv = ["schedules", "plot", "linear", str(tmp_path / "refined.json"), "--steps", "100"]
    assert main([*argv, "-o", str(tmp_path / "p.png")]) == 0
    legend = [text.get_text() for text in drawn["fig"].axes[0].get_legend().get_texts()]
    assert legend == ["linear", "refined.json"]
