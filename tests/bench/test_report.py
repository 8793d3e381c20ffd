"""The report from a store built here with the contract's schema (made-up trials, numbers checked by hand)."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tuneless.bench.report import summary_table, write_report
from tuneless.schedules import Tabulated

# The store's schema (store.SCHEMA), written out here so the test does not depend on store.py.
SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, created REAL, suite TEXT, config TEXT);
CREATE TABLE trials (
  trial_id TEXT PRIMARY KEY, run_id TEXT, workload TEXT, method TEXT, peak_lr REAL, seed INTEGER,
  schedule TEXT, optimizer TEXT, status TEXT, error TEXT,
  metric_name TEXT, higher_is_better INTEGER, target REAL, budget_steps INTEGER,
  steps_to_target INTEGER, seconds_to_target REAL, final_metric REAL, train_seconds REAL,
  prior_trial_id TEXT, prior_seconds REAL DEFAULT 0, prior_steps INTEGER DEFAULT 0,
  started REAL, finished REAL);
CREATE TABLE measurements (
  trial_id TEXT, step INTEGER, train_seconds REAL, train_loss REAL, metric REAL, lr REAL, extra TEXT,
  PRIMARY KEY (trial_id, step));
"""

RUN_ID = "run1"
CONFIG = {"suite": "quick", "workloads": ["wa", "wb"], "methods": ["linear", "refined"], "seeds": 2, "overrides": {}}
REFINED_FILE = "bench.sqlite.artifacts/run1/schedules/refined-wa.json"  # relative to the store's folder
WORKLOADS = {  # name: (metric, higher_is_better, target, budget)
    "wa": ("val_loss", 0, 0.5, 100),
    "wb": ("accuracy", 1, 0.9, 50),
}
# (workload, method, seed, peak_lr, steps_to_target, seconds_to_target, final_metric, status)
TRIALS = [
    ("wa", "linear", 0, 0.1, 60, 6.0, 0.40, "done"),
    ("wa", "linear", 0, 1.0, 40, 5.0, 0.30, "done"),
    ("wa", "linear", 1, 0.1, 80, 7.0, 0.45, "done"),
    ("wa", "linear", 1, 1.0, None, None, None, "failed"),
    ("wa", "refined", 0, 0.1, 30, 3.0, 0.25, "done"),
    ("wa", "refined", 0, 1.0, None, None, 0.55, "done"),
    ("wa", "refined", 1, 0.1, 50, 4.0, 0.28, "done"),
    ("wa", "refined", 1, 1.0, 50, 4.5, 0.27, "done"),
    ("wa", "mechanic", 0, None, None, None, 0.60, "done"),
    ("wa", "mechanic", 1, None, 90, 12.0, 0.48, "done"),
    ("wb", "linear", 0, 0.1, 20, 2.0, 0.95, "done"),
    ("wb", "linear", 0, 1.0, 10, 1.0, 0.93, "done"),
    ("wb", "linear", 1, 0.1, 20, 2.0, 0.96, "done"),
    ("wb", "linear", 1, 1.0, 30, 3.0, 0.97, "done"),
    ("wb", "refined", 0, 0.1, None, None, 0.85, "done"),
    ("wb", "refined", 0, 1.0, None, None, 0.80, "done"),
    ("wb", "refined", 1, 0.1, None, None, 0.87, "done"),
    ("wb", "refined", 1, 1.0, None, None, 0.86, "done"),
    ("wb", "mechanic", 0, None, 10, 0.5, 0.94, "done"),
    ("wb", "mechanic", 1, None, 20, 1.5, 0.95, "done"),
    ("wb", "linear", 2, 0.1, 1, 0.1, 0.99, "running"),  # unfinished: left out of every number
]
SCHEDULES = {
    "linear": "warmup(linear,fraction=0.05)",
    "mechanic": "constant",
    "refined": REFINED_FILE,
}


def _curve(final: float | None, budget: int, higher: int) -> list[tuple[int, float, float]]:
    """Made-up evaluations (step, metric, train loss) moving from a start value to ``final``."""
    start = 0.5 if higher else 3.0
    end = final if final is not None else start
    steps = range(0, budget + 1, budget // 5)
    return [
        (s, start + (end - start) * (1 - math.exp(-4 * s / budget)), 2.0 * math.exp(-3 * s / budget)) for s in steps
    ]


def build_store(folder: Path) -> Path:
    path = folder / "bench.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(SCHEMA)
    connection.execute("INSERT INTO runs VALUES (?, ?, ?, ?)", (RUN_ID, 1_700_000_000.0, "quick", json.dumps(CONFIG)))
    for i, (workload, method, seed, lr, steps, seconds, final, status) in enumerate(TRIALS):
        metric, higher, target, budget = WORKLOADS[workload]
        trial_id = f"t{i}"
        prior = ("p", 9.0, 100) if method == "refined" else (None, 0.0, 0)
        error = "diverged: loss=nan at step 37" if status == "failed" else None
        schedule = SCHEDULES[method] if workload == "wa" else SCHEDULES[method].replace("wa", "wb")
        connection.execute(
            "INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                trial_id,
                RUN_ID,
                workload,
                method,
                lr,
                seed,
                schedule,
                "mechanic(sgd)" if method == "mechanic" else "sgd",
                status,
                error,
                metric,
                higher,
                target,
                budget,
                steps,
                seconds,
                final,
                10.0,
                *prior,
                0.0,
                1.0,
            ),
        )
        for step, value, loss in _curve(final, budget, higher)[: 2 if status == "failed" else None]:
            connection.execute(
                "INSERT INTO measurements VALUES (?,?,?,?,?,?,?)",
                (trial_id, step, step * 0.1, None if step == 0 else loss, value, lr, None),
            )
    connection.commit()
    connection.close()
    # the refined schedule file of workload wa exists; the one of wb is missing on purpose
    refined = folder / REFINED_FILE
    refined.parent.mkdir(parents=True)
    Tabulated([0.2, 1.0, 0.8, 0.5, 0.2, 0.0], meta={"method": "sgd"}).save(refined)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    store = build_store(folder)
    html_path = write_report(store, RUN_ID, folder / "out")
    return store, html_path


def test_results_json_by_hand(report):
    _, html_path = report
    results = json.loads((html_path.parent / "results.json").read_text())
    assert (results["run_id"], results["suite"], results["created"]) == ("run1", "quick", 1_700_000_000.0)
    wa = results["workloads"]["wa"]
    assert (wa["metric"], wa["higher_is_better"], wa["target"]) == ("val_loss", False, 0.5)
    # wa linear: best per seed by steps 40 (lr 1.0, seed 0) and 80 (lr 0.1; lr 1.0 failed) -> median 60;
    # seconds 5, 7 -> 6; final min per seed 0.30, 0.45 -> mean 0.375, std sqrt(2 * 0.075^2) = 0.075 sqrt 2;
    # peak lr: lower middle of (1.0, 0.1) = 0.1
    assert wa["methods"]["linear"] == pytest.approx(
        {
            "steps_to_target": 60.0,
            "seconds_to_target": 6.0,
            "final_metric_mean": 0.375,
            "final_metric_std": 0.075 * math.sqrt(2),
            "peak_lr": 0.1,
            "trials": 2,
        }
    )
    # wa refined: steps 30, 50 (tie of 50 broken by final 0.27 -> lr 1.0) -> 40; seconds 3, 4 -> 3.5;
    # with the prior run (9 s each): 12, 13 -> 12.5; final 0.25, 0.27 -> 0.26 ± 0.01 sqrt 2; lr (0.1, 1.0) -> 0.1
    assert wa["methods"]["refined"] == pytest.approx(
        {
            "steps_to_target": 40.0,
            "seconds_to_target": 3.5,
            "final_metric_mean": 0.26,
            "final_metric_std": 0.01 * math.sqrt(2),
            "peak_lr": 0.1,
            "trials": 2,
            "total_seconds_with_prior": 12.5,
        }
    )
    # wa mechanic: one trial per seed, no lr; steps inf, 90 -> median inf -> null; final 0.60, 0.48 -> 0.54
    assert wa["methods"]["mechanic"] == pytest.approx(
        {
            "steps_to_target": None,
            "seconds_to_target": None,
            "final_metric_mean": 0.54,
            "final_metric_std": 0.06 * math.sqrt(2),
            "peak_lr": None,
            "trials": 1,
        }
    )
    wb = results["workloads"]["wb"]
    assert (wb["metric"], wb["higher_is_better"], wb["target"]) == ("accuracy", True, 0.9)
    # wb linear: steps 10 (s0 lr 1.0), 20 (s1 lr 0.1) -> 15; seconds 1, 2 -> 1.5; final max 0.95, 0.97 -> 0.96
    assert wb["methods"]["linear"] == pytest.approx(
        {
            "steps_to_target": 15.0,
            "seconds_to_target": 1.5,
            "final_metric_mean": 0.96,
            "final_metric_std": 0.01 * math.sqrt(2),
            "peak_lr": 0.1,
            "trials": 2,
        }
    )
    # wb refined: every trial missed: null, and null with the prior run too; lr by final metric 0.1 on both seeds
    assert wb["methods"]["refined"]["steps_to_target"] is None
    assert wb["methods"]["refined"]["total_seconds_with_prior"] is None
    assert wb["methods"]["refined"]["peak_lr"] == 0.1
    assert wb["methods"]["refined"]["final_metric_mean"] == pytest.approx(0.86)
    assert wb["methods"]["mechanic"]["steps_to_target"] == 15.0
    # ratios (steps): wa linear 60/40 = 1.5, refined 1, mechanic inf; wb linear 1, refined inf, mechanic 1 (tie)
    # B = mean_w max(0, 4 - r) / 3: linear (2.5 + 3)/6; refined (3 + 0)/6; mechanic (0 + 3)/6
    # ratios (time): wa linear 6/3.5 = 12/7, refined 1; wb linear 1.5/1 = 1.5, mechanic 1
    # B: linear (4 - 12/7 + 4 - 1.5)/6 = 67/84; refined 3/6; mechanic 3/6
    expected_scores = {
        "linear": {"time": 67 / 84, "steps": 5.5 / 6, "trials_per_workload": 2.0},
        "refined": {"time": 0.5, "steps": 0.5, "trials_per_workload": 2.0},
        "mechanic": {"time": 0.5, "steps": 0.5, "trials_per_workload": 1.0},
    }
    assert list(results["scores"]) == list(expected_scores)
    for method, expected in expected_scores.items():
        assert results["scores"][method] == pytest.approx(expected)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.open_tags, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        elif tag not in ("meta",):
            self.open_tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open_tags and self.open_tags[-1] == tag, f"</{tag}> closes <{self.open_tags[-1:]}>"
        self.open_tags.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_well_formed_and_its_images_exist(report):
    _, html_path = report
    out = html_path.parent
    parser = _Collector()
    parser.feed(html_path.read_text())
    assert parser.open_tags == []
    assert sorted(parser.images) == sorted(
        [
            "profile.png",
            "final_metric.png",
            "lr_sensitivity.png",
            "claims.png",
            "curves-wa.png",
            "curves-wb.png",
            "schedules.png",
        ]
    )
    for image in parser.images:
        assert (out / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = re.sub(r"\s+", " ", " ".join(parser.text))
    # refined and linear ran (the claims figure), with 2 seeds: the page says why every verdict is a tie
    assert "With 2 seeds in the run every verdict is a tie: a paired verdict needs at least 5" in text
    # the scores table: linear best on both measures (67/84 = 0.798, 5.5/6 = 0.917)
    assert "linear 0.798 0.917 2 2 / 2 sgd" in text
    assert "mechanic 0.500 0.500 1 1 / 2 mechanic(sgd)" in text
    # workload wa's row of refined: lr 0.1, 2 trials, 40 steps, 3.5 s, ratios 1 and 1, 12.5 s / 140 steps with the
    # prior run (steps 30 + 100, 50 + 100), final 0.26 ± 0.014
    assert "refined 0.1 2 40 3.5 1 1 12.5 140 0.26 ± 0.014" in text
    assert "mechanic – 1 missed missed missed missed" in text
    assert "No method reached the target" not in text
    # the failed trial with its reason; the missing refined schedule file of wb is named, not a crash
    assert "wa linear 1 1 diverged: loss=nan at step 37" in text
    assert "refined on wb: schedule file bench.sqlite.artifacts/run1/schedules/refined-wb.json not found" in text
    assert "1 unfinished" in text


def test_summary_table_highlights_the_best(report):
    store, _ = report
    table = summary_table(store, RUN_ID)
    columns = {column.header: list(column.cells) for column in table.columns}
    assert columns["method"] == ["linear", "refined", "mechanic"]
    assert columns["score (time)"] == ["[bold green]0.798[/]", "0.500", "0.500"]
    assert columns["score (steps)"] == ["[bold green]0.917[/]", "0.500", "0.500"]
    assert columns["trials / workload"] == ["2", "2", "1"]
    # wa lower is better: refined 0.26 best; wb higher is better: linear 0.96 best
    assert columns["best final"] == ["1/2", "1/2", "0/2"]
    results = json.loads((report[1].parent / "results.json").read_text())
    reached = {
        m: sum(results["workloads"][w]["methods"][m]["steps_to_target"] is not None for w in ("wa", "wb"))
        for m in ("linear", "refined", "mechanic")
    }
    assert columns["targets reached"] == [f"{reached[m]}/2" for m in ("linear", "refined", "mechanic")]


def test_every_method_missing_a_workload_is_said(tmp_path):
    store = build_store(tmp_path)
    connection = sqlite3.connect(store)
    connection.execute("UPDATE trials SET steps_to_target = NULL, seconds_to_target = NULL WHERE workload = 'wb'")
    connection.commit()
    connection.close()
    html_path = write_report(store, RUN_ID, tmp_path / "out")
    assert "No method reached the target on this workload" in html_path.read_text()
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    # wb now counts 0 for everyone; steps: wa linear 1.5 -> 2.5/6, refined 3/6, mechanic 0
    assert {m: s["steps"] for m, s in results["scores"].items()} == pytest.approx(
        {"linear": 2.5 / 6, "refined": 0.5, "mechanic": 0.0}
    )


def test_one_seed_and_no_target(tmp_path):
    store = build_store(tmp_path)
    connection = sqlite3.connect(store)
    connection.execute("DELETE FROM trials WHERE seed != 0")
    connection.execute("UPDATE trials SET target = NULL, steps_to_target = NULL, seconds_to_target = NULL")
    connection.commit()
    connection.close()
    html_path = write_report(store, RUN_ID, tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    linear = results["workloads"]["wa"]["methods"]["linear"]
    # one seed: no std; the best final metric of seed 0 is min(0.40, 0.30)
    assert (linear["final_metric_mean"], linear["final_metric_std"], linear["steps_to_target"]) == (0.3, None, None)
    assert results["workloads"]["wa"]["target"] is None
    assert "no target set" in html_path.read_text()
    # nobody reached a target: every score is 0 and none is highlighted as the best
    columns = {column.header: list(column.cells) for column in summary_table(store, RUN_ID).columns}
    assert columns["score (time)"] == columns["score (steps)"] == ["0.000", "0.000", "0.000"]


def test_user_errors(tmp_path):
    with pytest.raises(ValueError, match=r"store '.*nowhere.sqlite': no such file"):
        write_report(tmp_path / "nowhere.sqlite", RUN_ID, tmp_path / "out")
    store = build_store(tmp_path)
    with pytest.raises(ValueError, match=r"run_id 'run9' is not in the store .*\['run1'\]"):
        write_report(store, "run9", tmp_path / "out")


def test_best_lr_at_the_grid_edge_is_flagged(report):
    """Every grid here has two lrs, so each chosen lr is at an edge: linear and refined on both workloads (chosen
    0.1 = the lowest, by the median-low over seeds), mechanic has no grid."""
    store, html_path = report
    columns = {column.header: list(column.cells) for column in summary_table(store, RUN_ID).columns}
    assert columns["lr at grid edge"] == ["[yellow]2/2[/]", "[yellow]2/2[/]", "no grid"]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html_path.read_text()))
    assert "edge of its grid (shaded; the best lr may lie outside): linear (0.1, the lowest)" in text
    assert html_path.read_text().count('class="edge"') == 4 + 2  # 4 workload-table lr cells, 2 score-table cells
