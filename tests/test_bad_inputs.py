"""The bad-input battery: every command, given input it cannot use, exits non-zero with ONE line on stderr that
names the offending input, prints no traceback, and leaves no file behind (nor changes one).

The command runs in-process (``tuneless.cli.main``), in a folder of prepared files; a few cases run through the
real entry point (``python -m tuneless.cli``) to show that it prints no traceback either.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuneless.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY_FILE = ROOT / "tests" / "bench" / "tiny_workloads.py"
TINY = f"{TINY_FILE}:ShortDiabetes"
DEEP = "warmup(" * 40 + "linear" + ",steps=1)" * 40
HUGE = "100000000000"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder of good and bad inputs, shared by the cases (each case checks it leaves the folder unchanged)."""
    root = tmp_path_factory.mktemp("bad_inputs")
    steps = range(100)
    rows = "".join(f"{t},{2 - t / 100!r},{20 - t / 10!r},0.1,{3 - t / 50!r}\n" for t in steps)
    header = "step,grad_l2,grad_l1,lr,loss\n"
    (root / "trace.csv").write_text(header + rows)
    (root / "gaps.csv").write_text(
        header + "".join(r + "\n" for r in rows.splitlines() if not 30 <= int(r.split(",")[0]) < 60)
    )
    (root / "utf16.csv").write_bytes((header + rows).encode("utf-16"))
    (root / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (root / "nul.csv").write_bytes(header.encode() + b"0,1\x00,1,0.1,\n")
    (root / "empty.csv").write_text("")
    (root / "header_only.csv").write_text(header)
    (root / "bad_row.csv").write_text(header + "0,1,1,0.1,2\n1,abc,1,0.1,2\n")
    (root / "bad_step.csv").write_text(header + "0,1,1,0.1,2\nx,1,1,0.1,2\n")
    (root / "negative_step.csv").write_text(header + "-1,1,1,0.1,2\n")
    (root / "negative.csv").write_text(header + "".join(f"{t},-1,-1,0.1,\n" for t in range(20)))
    (root / "nan.csv").write_text(header + "".join(f"{t},nan,nan,0.1,\n" for t in range(20)))
    (root / "zero.csv").write_text(header + "".join(f"{t},0,0,0.1,\n" for t in range(20)))
    (root / "one_row.csv").write_text(header + "0,1,1,0.1,2\n")
    (root / "no_norm.csv").write_text("step,loss\n0,1\n1,2\n")
    (root / "cut.csv").write_text(header + "0,1,1")
    (root / "too_many.csv").write_text(header + "0,1,1,0.1,2,7\n")
    (root / "broken.json").write_text('{"name": "tabulated", "values": [1, 0.5')
    (root / "not_schedule.json").write_text('{"answer": 42}')
    (root / "loss.csv").write_text("step,loss\n" + "".join(f"{t},{3 / (1 + t / 100)!r}\n" for t in range(0, 1000, 10)))
    (root / "loss_bad.csv").write_text("step,loss\n0,3\n10,abc\n")
    (root / "full_targets.json").write_text('{"suite": "full", "workloads": {}}')
    (root / "bad_targets.json").write_text('{"suite": "quick", "workloads": [1, 2]}')
    (root / "a_file").write_text("a file where a folder is expected\n")
    (root / "folder").mkdir()
    os.mkfifo(root / "fifo")
    (root / "junk.sqlite").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "text.sqlite").write_text("hello, not a database\n" * 20)
    (root / "empty.sqlite").write_bytes(b"")
    import sqlite3

    other = sqlite3.connect(root / "other.sqlite")
    other.execute("CREATE TABLE notes (text TEXT)")
    other.commit()
    other.close()
    from tuneless.bench.record.store import Store
    from tuneless.bench.run.config import BenchConfig

    config = BenchConfig.from_options("quick", [TINY], ["constant", "cosine"], 2)
    with Store(root / "store.sqlite") as store:
        store.create_run("run1", config)
    from tuneless.refine import refine

    refine(root / "trace.csv", "sgd").save(root / "sched.json")
    return root


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_fifo() or path.is_dir():
            out[str(path.relative_to(root))] = "special"
        else:
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# (arguments, a substring the one-line message must contain: the offending input or option)
CASES: list[tuple[list[str], str]] = [
    # --- top level
    (["nosuch"], "nosuch"),
    ([], "COMMAND"),
    # --- schedules
    (["schedules"], "ACTION"),
    (["schedules", "list", "extra"], "extra"),
    (["schedules", "nosuch"], "nosuch"),
    (["schedules", "values", "nosuch", "--steps", "10"], "nosuch"),
    (["schedules", "values", "wsd(cooldown=2)", "--steps", "10"], "cooldown"),
    (["schedules", "values", "wsd", "--steps", "10"], "cooldown"),
    (["schedules", "values", "cosine(floor=-1)", "--steps", "10"], "floor"),
    (["schedules", "values", "cosine(floor=nan)", "--steps", "10"], "floor"),
    (["schedules", "values", "cosine(foo=1)", "--steps", "10"], "foo"),
    (["schedules", "values", "cosine(", "--steps", "10"], "cosine("),
    (["schedules", "values", "cosine)", "--steps", "10"], "cosine)"),
    (["schedules", "values", "", "--steps", "10"], "''"),
    (["schedules", "values", "step(milestones=[0.6,0.3])", "--steps", "10"], "milestones"),
    (["schedules", "values", "warmup(linear,steps=20)", "--steps", "10"], "steps=20"),
    (["schedules", "values", "warmup(linear)", "--steps", "10"], "fraction"),
    (["schedules", "values", "linear", "--steps", "0"], "total_steps=0"),
    (["schedules", "values", "linear", "--steps", "-5"], "-5"),
    (["schedules", "values", "linear", "--steps", HUGE], HUGE),
    (["schedules", "values", "linear", "--steps", "abc"], "abc"),
    (["schedules", "values", "linear"], "--steps"),
    (["schedules", "values", DEEP, "--steps", "10"], "nested"),
    (["schedules", "values", "missing.json", "--steps", "10"], "missing.json"),
    (["schedules", "values", "broken.json", "--steps", "10"], "broken.json"),
    (["schedules", "values", "not_schedule.json", "--steps", "10"], "not_schedule.json"),
    (["schedules", "values", "folder", "--steps", "10"], "folder"),
    (["schedules", "plot", "linear", "--steps", "10", "-o", "folder"], "folder"),
    (["schedules", "plot", "linear", "--steps", "10", "-o", "a_file/x.png"], "a_file"),
    (["schedules", "plot", "linear", "--steps", "10", "-o", "out.xyz"], "xyz"),
    (["schedules", "plot", "linear", "--steps", "10", "-o", "out"], "suffix"),
    (["schedules", "plot", "sched.json", "--steps", "10", "-o", "sched.json"], "sched.json"),
    (["schedules", "plot", "linear", "--steps", "10", "-o", "/dev/null"], "/dev/null"),
    (["schedules", "plot", "linear", "--steps", "10", "-o", "fifo"], "fifo"),
    (["schedules", "plot", "linear", "--steps", "10", "-o", ""], "''"),
    (["schedules", "plot", "linear", "--steps", "0", "-o", "p.png"], "total_steps=0"),
    (["schedules", "plot", "linear", "--steps", HUGE, "-o", "p.png"], HUGE),
    (["schedules", "plot", "nosuch", "--steps", "10", "-o", "p.png"], "nosuch"),
    (["schedules", "plot", DEEP, "--steps", "10", "-o", "p.png"], "nested"),
    (["schedules", "plot", "linear", "--steps", "10"], "--output"),
    (["schedules", "plot", "--steps", "10", "-o", "p.png"], "schedules"),
    # --- refine
    (["refine", "missing.csv", "--weighting", "sgd", "-o", "r.json"], "missing.csv"),
    (["refine", "folder", "--weighting", "sgd", "-o", "r.json"], "folder"),
    (["refine", "empty.csv", "--weighting", "sgd", "-o", "r.json"], "empty.csv"),
    (["refine", "header_only.csv", "--weighting", "sgd", "-o", "r.json"], "header_only.csv"),
    (["refine", "bad_row.csv", "--weighting", "sgd", "-o", "r.json"], "bad_row.csv"),
    (["refine", "bad_step.csv", "--weighting", "sgd", "-o", "r.json"], "bad_step.csv"),
    (["refine", "negative_step.csv", "--weighting", "sgd", "-o", "r.json"], "negative_step.csv"),
    (["refine", "too_many.csv", "--weighting", "sgd", "-o", "r.json"], "too_many.csv"),
    (["refine", "cut.csv", "--weighting", "sgd", "-o", "r.json"], "cut.csv"),
    (["refine", "utf16.csv", "--weighting", "sgd", "-o", "r.json"], "utf16.csv"),
    (["refine", "binary.bin", "--weighting", "sgd", "-o", "r.json"], "binary.bin"),
    (["refine", "nul.csv", "--weighting", "sgd", "-o", "r.json"], "nul.csv"),
    (["refine", "junk.sqlite", "--weighting", "sgd", "-o", "r.json"], "junk.sqlite"),
    (["refine", "gaps.csv", "--weighting", "sgd", "-o", "r.json"], "steps 30-59"),
    (["refine", "negative.csv", "--weighting", "sgd", "-o", "r.json"], "negative"),
    (["refine", "nan.csv", "--weighting", "sgd", "-o", "r.json"], "nan.csv"),
    (["refine", "zero.csv", "--weighting", "sgd", "-o", "r.json"], "zero.csv"),
    (["refine", "one_row.csv", "--weighting", "sgd", "-o", "r.json"], "one_row.csv"),
    (["refine", "no_norm.csv", "--weighting", "sgd", "-o", "r.json"], "no_norm.csv"),
    (["refine", "fifo", "--weighting", "sgd", "-o", "r.json"], "fifo"),
    (["refine", "trace.csv", "--weighting", "bogus", "-o", "r.json"], "bogus"),
    (["refine", "trace.csv", "-o", "r.json"], "--weighting"),
    (["refine", "trace.csv", "--weighting", "sgd"], "--output"),
    (["refine", "trace.csv", "--weighting", "sgd", "--tau", "2", "-o", "r.json"], "tau=2"),
    (["refine", "trace.csv", "--weighting", "sgd", "--tau", "-0.1", "-o", "r.json"], "tau=-0.1"),
    (["refine", "trace.csv", "--weighting", "sgd", "--tau", "nan", "-o", "r.json"], "tau=nan"),
    (["refine", "trace.csv", "--weighting", "sgd", "--tau", "abc", "-o", "r.json"], "abc"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "trace.csv"], "trace.csv"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "./folder/../trace.csv"], "trace.csv"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "folder"], "folder"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "a_file/r.json"], "a_file"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "/dev/null"], "/dev/null"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "fifo"], "fifo"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", ""], "''"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "r.json", "--plot", "r.json"], "r.json"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "r.json", "--plot", "trace.csv"], "trace.csv"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "r.json", "--plot", "r.xyz"], "xyz"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "r.json", "--plot", "folder"], "folder"),
    (["refine", "trace.csv", "--weighting", "sgd", "-o", "r.json", "--plot", "a_file/p.png"], "a_file"),
    (["refine", "gaps.csv", "--weighting", "sgd", "-o", "r.json", "--plot", "p.png"], "gaps.csv"),
    # --- predict
    (
        ["predict", "--fit", "missing.csv:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"],
        "missing.csv",
    ),
    (["predict", "--fit", "loss.csv", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], "loss.csv"),
    (["predict", "--fit", "loss.csv:nosuch", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], "nosuch"),
    (["predict", "--fit", "loss.csv:linear@abc", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], "abc"),
    (["predict", "--fit", f"loss.csv:linear@{HUGE}", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], HUGE),
    (["predict", "--fit", f"loss.csv:{DEEP}", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], "nested"),
    (["predict", "--fit", "loss.csv:linear", "--schedule", "nosuch", "--steps", "100", "--peak-lr", "1"], "nosuch"),
    (["predict", "--fit", "loss.csv:linear", "--schedule", DEEP, "--steps", "100", "--peak-lr", "1"], "nested"),
    (
        ["predict", "--fit", "loss.csv:linear", "--schedule", "wsd(cooldown=5)", "--steps", "100", "--peak-lr", "1"],
        "cooldown",
    ),
    (["predict", "--fit", "loss.csv:linear", "--schedule", "cosine", "--steps", "1", "--peak-lr", "1"], "--steps"),
    (["predict", "--fit", "loss.csv:linear", "--schedule", "cosine", "--steps", HUGE, "--peak-lr", "1"], HUGE),
    (["predict", "--fit", "loss.csv:linear", "--schedule", "cosine", "--steps", "x", "--peak-lr", "1"], "'x'"),
    (["predict", "--fit", "loss.csv:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "0"], "--peak-lr"),
    (["predict", "--fit", "loss.csv:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "-1"], "--peak-lr"),
    (
        ["predict", "--fit", "loss.csv:linear", "--schedule", "wsd(cooldown=0.2)", "--steps", "50", "--peak-lr", "nan"],
        "--peak-lr",
    ),
    (
        [
            "predict",
            "--fit",
            "loss.csv:linear",
            "--schedule",
            "cosine",
            "--steps",
            "100",
            "--peak-lr",
            "1",
            "--law",
            "x",
        ],
        "--law",
    ),
    (
        [
            "predict",
            "--fit",
            "loss.csv:linear",
            "--schedule",
            "cosine",
            "--steps",
            "100",
            "--peak-lr",
            "1",
            "-o",
            "folder",
        ],
        "folder",
    ),
    (
        [
            "predict",
            "--fit",
            "loss.csv:linear",
            "--schedule",
            "cosine",
            "--steps",
            "100",
            "--peak-lr",
            "1",
            "-o",
            "p.xyz",
        ],
        "xyz",
    ),
    (
        [
            "predict",
            "--fit",
            "loss.csv:linear",
            "--schedule",
            "cosine",
            "--steps",
            "100",
            "--peak-lr",
            "1",
            "-o",
            "loss.csv",
        ],
        "loss.csv",
    ),
    (
        [
            "predict",
            "--fit",
            "loss.csv:linear",
            "--schedule",
            "cosine",
            "--steps",
            "100",
            "--peak-lr",
            "1",
            "--save",
            "folder",
        ],
        "folder",
    ),
    (
        [
            "predict",
            "--fit",
            "loss.csv:linear",
            "--schedule",
            "cosine",
            "--steps",
            "100",
            "--peak-lr",
            "1",
            "--save",
            "loss.csv",
        ],
        "loss.csv",
    ),
    (
        [
            "predict",
            "--fit",
            "loss.csv:linear",
            "--schedule",
            "cosine",
            "--steps",
            "100",
            "--peak-lr",
            "1",
            "--save",
            "a_file/l.json",
        ],
        "a_file",
    ),
    (
        [
            "predict",
            "--fit",
            "loss.csv:linear",
            "--schedule",
            "cosine",
            "--steps",
            "100",
            "--peak-lr",
            "1",
            "-o",
            "p.png",
            "--save",
            "p.png",
        ],
        "p.png",
    ),
    (["predict", "--fit", "empty.csv:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], "empty.csv"),
    (
        ["predict", "--fit", "binary.bin:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"],
        "binary.bin",
    ),
    (["predict", "--fit", "trace.csv:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], "trace.csv"),
    (
        ["predict", "--fit", "loss_bad.csv:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"],
        "loss_bad.csv",
    ),
    (["predict", "--fit", "folder:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], "folder"),
    (["predict", "--fit", "fifo:linear", "--schedule", "cosine", "--steps", "100", "--peak-lr", "1"], "fifo"),
    (["predict", "--fit", "loss.csv:linear", "--steps", "100", "--peak-lr", "1"], "--schedule"),
    # --- bench (run)
    (["bench", "--workload", TINY, "--store", "/dev/null"], "/dev/null"),
    (["bench", "--workload", TINY, "--store", "fifo"], "fifo"),
    (["bench", "--workload", TINY, "--store", "junk.sqlite"], "junk.sqlite"),
    (["bench", "--workload", TINY, "--store", "text.sqlite"], "text.sqlite"),
    (["bench", "--workload", TINY, "--store", "other.sqlite"], "other.sqlite"),
    (["bench", "--workload", TINY, "--store", "folder"], "folder"),
    (["bench", "--workload", TINY, "--store", "a_file/s.sqlite"], "a_file"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--out", "a_file"], "a_file"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--out", "a_file/report"], "a_file"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--seeds", "0"], "--seeds 0"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--seeds", "-1"], "--seeds -1"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--seeds", "100000000"], "100000000"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--seeds", "two"], "two"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--workers", "0"], "--workers"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--workers", "-2"], "--workers"),
    (["bench", "--suite", "nosuch", "--store", "new.sqlite"], "nosuch"),
    (["bench", "--workload", TINY, "--methods", "nosuch", "--store", "new.sqlite"], "nosuch"),
    (["bench", "--workload", "nosuch", "--store", "new.sqlite"], "nosuch"),
    (["bench", "--workload", "missing.py:Nope", "--store", "new.sqlite"], "missing.py"),
    (["bench", "--workload", f"{TINY[: -len(':ShortDiabetes')]}:Nope", "--store", "new.sqlite"], "Nope"),
    (["bench", "--workload", "no_such_module_xyz:Class", "--store", "new.sqlite"], "no_such_module_xyz"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--executor", "bogus"], "bogus"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--address", "x:1"], "--address"),
    (["bench", "--workload", TINY, "--store", "new.sqlite", "--run-id", "r"], "--run-id"),
    (["bench", "nosuch"], "nosuch"),
    # --- bench --resume
    (["bench", "--resume", "--store", "empty.sqlite"], "empty.sqlite"),
    (["bench", "--resume", "--store", "missing.sqlite"], "missing.sqlite"),
    (["bench", "--resume", "--store", "junk.sqlite"], "junk.sqlite"),
    (["bench", "--resume", "--store", "other.sqlite"], "other.sqlite"),
    (["bench", "--resume", "--store", "store.sqlite", "--run-id", "nosuch"], "nosuch"),
    (["bench", "--resume", "--store", "store.sqlite", "--seeds", "3"], "--seeds 3"),
    (["bench", "--resume", "--store", "store.sqlite", "--methods", "wsd"], "--methods wsd"),
    (["bench", "--resume", "--store", "store.sqlite", "--workload", "logreg-iris"], "--workload logreg-iris"),
    (["bench", "--resume", "--store", "store.sqlite", "--suite", "full"], "--suite full"),
    (["bench", "--resume", "--store", "store.sqlite", "--out", "a_file"], "a_file"),
    # --- bench export
    (["bench", "export", "--store", "missing.sqlite", "-o", "e.csv"], "missing.sqlite"),
    (["bench", "export", "--store", "junk.sqlite", "-o", "e.csv"], "junk.sqlite"),
    (["bench", "export", "--store", "text.sqlite", "-o", "e.csv"], "text.sqlite"),
    (["bench", "export", "--store", "empty.sqlite", "-o", "e.csv"], "empty.sqlite"),
    (["bench", "export", "--store", "other.sqlite", "-o", "e.csv"], "other.sqlite"),
    (["bench", "export", "--store", "folder", "-o", "e.csv"], "folder"),
    (["bench", "export", "--store", "/dev/null", "-o", "e.csv"], "/dev/null"),
    (["bench", "export", "--store", "fifo", "-o", "e.csv"], "fifo"),
    (["bench", "export", "--store", "store.sqlite", "--run-id", "nosuch", "-o", "e.csv"], "nosuch"),
    (["bench", "export", "--store", "store.sqlite", "--table", "bogus", "-o", "e.csv"], "bogus"),
    (["bench", "export", "--store", "store.sqlite", "-o", "store.sqlite"], "store.sqlite"),
    (["bench", "export", "--store", "store.sqlite", "-o", "folder"], "folder"),
    (["bench", "export", "--store", "store.sqlite", "-o", "a_file/e.csv"], "a_file"),
    (["bench", "export", "--store", "store.sqlite", "-o", "fifo"], "fifo"),
    (["bench", "export", "--store", "store.sqlite"], "--output"),
    # --- bench tables
    (["bench", "tables", "--store", "missing.sqlite"], "missing.sqlite"),
    (["bench", "tables", "--store", "junk.sqlite"], "junk.sqlite"),
    (["bench", "tables", "--store", "empty.sqlite"], "empty.sqlite"),
    (["bench", "tables", "--store", "other.sqlite"], "other.sqlite"),
    (["bench", "tables", "--store", "folder"], "folder"),
    (["bench", "tables", "--store", "fifo"], "fifo"),
    (["bench", "tables", "--store", "/dev/null"], "/dev/null"),
    (["bench", "tables", "--store", "store.sqlite", "--run-id", "nosuch"], "nosuch"),
    (["bench", "tables", "--store", "store.sqlite", "-o", "store.sqlite"], "store.sqlite"),
    (["bench", "tables", "--store", "store.sqlite", "-o", "folder"], "folder"),
    (["bench", "tables", "--store", "store.sqlite", "-o", "a_file/t.md"], "a_file"),
    # --- bench set-targets
    (["bench", "set-targets", "--workload", TINY, "--store", "new.sqlite", "--output", "folder"], "folder"),
    (["bench", "set-targets", "--workload", TINY, "--store", "new.sqlite", "--output", "a_file/t.json"], "a_file"),
    (
        ["bench", "set-targets", "--workload", TINY, "--store", "store.sqlite", "--output", "store.sqlite"],
        "store.sqlite",
    ),
    (["bench", "set-targets", "--workload", TINY, "--store", "junk.sqlite", "--output", "t.json"], "junk.sqlite"),
    (["bench", "set-targets", "--workload", TINY, "--store", "/dev/null", "--output", "t.json"], "/dev/null"),
    (["bench", "set-targets", "--workload", TINY, "--store", "folder", "--output", "t.json"], "folder"),
    (
        ["bench", "set-targets", "--workload", TINY, "--store", "new.sqlite", "--seeds", "0", "--output", "t.json"],
        "--seeds 0",
    ),
    (
        [
            "bench",
            "set-targets",
            "--workload",
            TINY,
            "--store",
            "new.sqlite",
            "--seeds",
            "100000000",
            "--output",
            "t.json",
        ],
        "100000000",
    ),
    (
        ["bench", "set-targets", "--workload", TINY, "--store", "new.sqlite", "--workers", "0", "--output", "t.json"],
        "--workers",
    ),
    (["bench", "set-targets", "--suite", "nosuch", "--store", "new.sqlite", "--output", "t.json"], "nosuch"),
    (["bench", "set-targets", "--workload", "nosuch", "--store", "new.sqlite", "--output", "t.json"], "nosuch"),
    (["bench", "set-targets", "--workload", TINY, "--store", "new.sqlite"], "not in the quick suite; give --output"),
    # an empty value is refused, never taken as the option's default (the package's targets file, a new run)
    (["bench", "set-targets", "--workload", TINY, "--store", "new.sqlite", "--output", ""], "--output: empty value"),
    (["bench", "set-targets", "--store", "new.sqlite", "--from-store", ""], "--from-store: empty value"),
    (["bench", "set-targets", "--from-store", "store.sqlite", "--run-id", " ", "--output", "t.json"], "--run-id"),
    (["bench", "--methods", "cosine", "", "--store", "new.sqlite"], "--methods: empty value ''"),
    # an --output that cannot take this suite's targets is refused before anything trains
    (
        ["bench", "set-targets", "--workload", TINY, "--store", "new.sqlite", "--output", "full_targets.json"],
        "holds targets of the full suite, not quick",
    ),
    (
        ["bench", "set-targets", "--workload", TINY, "--from-store", "store.sqlite", "--output", "bad_targets.json"],
        "exists and is not a targets file",
    ),
    (
        ["bench", "set-targets", "--workload", TINY, "--from-store", "store.sqlite", "--output", "t.json"],
        "has no cosine trial of diabetes-short; it has none",
    ),
    # --- custom workloads whose declared attributes cannot work: refused before a store is made
    (["bench", "--workload", f"{TINY_FILE}:UnknownOptimizerDiabetes", "--store", "new.sqlite"], "'lion' is unknown"),
    (["bench", "--workload", f"{TINY_FILE}:NaNTargetDiabetes", "--store", "new.sqlite"], "target=nan must be a finite"),
    (["bench", "--workload", f"{TINY_FILE}:BareNAdamWDiabetes", "--store", "new.sqlite"], "missing a required"),
    (
        ["bench", "--workload", f"{TINY_FILE}:NAdamWDiabetes", "--methods", "mechanic-linear", "--store", "n.sqlite"],
        "method 'mechanic-linear' on workload 'diabetes-nadamw': optimizer='mechanic_nadamw(beta1=0.9",
    ),
    # --- bench list
    (["bench", "list", "extra"], "extra"),
]


def _id(case: tuple[list[str], str]) -> str:
    text = " ".join(case[0])
    return (text if len(text) < 70 else text[:67] + "...").replace(str(ROOT), "ROOT")


@pytest.mark.parametrize(("argv", "named"), CASES, ids=[_id(c) for c in CASES])
def test_bad_input_is_one_line_naming_it(workspace, monkeypatch, capsys, argv, named):
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("TUNELESS_CACHE", str(workspace / "folder" / "cache"))  # never created by these cases
    before = _snapshot(workspace)
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse
        status = exit.code
    captured = capsys.readouterr()
    err = captured.err
    assert status not in (0, None), f"exit status {status}; stdout {captured.out!r}"
    assert "Traceback" not in err and "Traceback" not in captured.out
    lines = [line for line in err.splitlines() if line.strip() and "warning:" not in line]
    assert len(lines) == 1, err
    assert named in lines[0], lines[0]
    assert _snapshot(workspace) == before, "a file was left behind or changed"


def test_the_battery_is_large():
    assert len(CASES) >= 150
    commands = {" ".join(a for a in argv[:2] if not a.startswith("-")) for argv, _ in CASES}
    for command in ("schedules values", "schedules plot", "bench export", "bench tables", "bench set-targets"):
        assert command in commands
    for command in ("refine", "predict", "bench"):
        assert any(c.startswith(command) for c in commands)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["refine", "trace.csv", "--weighting", "sgd", "-o", "trace.csv"], "trace.csv"),
        (["bench", "export", "--store", "junk.sqlite", "-o", "e.csv"], "junk.sqlite"),
        (["schedules", "values", DEEP, "--steps", "10"], "nested"),
        (["bench", "--workload", TINY, "--store", "fifo"], "fifo"),
    ],
)
def test_the_real_entry_point_prints_no_traceback(workspace, argv, named):
    before = _snapshot(workspace)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-m", "tuneless.cli", *argv],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1 and named in result.stderr
    assert _snapshot(workspace) == before


def test_export_to_standard_output_and_a_good_store_still_work(workspace, monkeypatch, capsys):
    """The checks refuse only what is wrong: '-o -' writes the CSV to stdout, and a run id that exists is fine."""
    monkeypatch.chdir(workspace)
    assert main(["bench", "export", "--store", "store.sqlite", "--table", "runs", "--run-id", "run1", "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "run_id,created,suite,config" and "run1" in captured.out.splitlines()[1]
    assert not (workspace / "-").exists()
    assert json.loads(captured.out.splitlines()[1].split(",", 3)[3].strip('"').replace('""', '"'))["seeds"] == 2
