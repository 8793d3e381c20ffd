"""The long suite's numbers in docs/auto.md are what ``tuneless bench tables`` prints for the store committed beside
them (docs/stores/long5.sqlite): a rerun, a resumed method or an edit of either that moves a number fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tuneless.bench.report.tables import markdown_tables

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "docs" / "stores" / "long5.sqlite"
SECTION = "## Measured: the long suite"


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def header(markdown: str, header_start: str) -> list[str]:
    """The header cells of the first markdown table whose header line starts with ``header_start``."""
    return cells(next(line for line in markdown.splitlines() if line.startswith(header_start)))


def rows(markdown: str, header_start: str) -> list[list[str]]:
    """The body rows of the first markdown table whose header line starts with ``header_start``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    body = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        body.append(cells(line))
    return body


@pytest.fixture(scope="module")
def printed() -> str:
    return markdown_tables(str(STORE))


@pytest.fixture(scope="module")
def documented() -> str:
    text = (ROOT / "docs" / "auto.md").read_text()
    section = text[text.index(SECTION) :]
    return section[: section.index("\n## ", 1)]


def test_the_documented_run_is_the_stored_one(printed, documented):
    run_id = re.search(r"Run `(long-[0-9-]+)`", printed).group(1)
    assert f"Run `{run_id}`" in documented


def test_claims_table_matches_the_store(printed, documented):
    glance = {row[0]: (row[1], row[5]) for row in rows(printed, "| claim | final metric, paired")}
    documented_rows = rows(documented, "| claim (long suite")
    assert len(documented_rows) >= 5
    for claim, final, steps in documented_rows:
        key = claim.replace("grid-tuned ", "")
        assert glance[key] == (final, steps), claim


def test_final_metric_table_matches_the_store(printed, documented):
    methods = header(printed, "| workload | metric |")[2:]
    stored = {row[0]: dict(zip(methods, row[2:], strict=True)) for row in rows(printed, "| workload | metric |")}
    doc_methods = header(documented, "| workload | cosine")[1:]
    documented_rows = rows(documented, "| workload | cosine")
    assert {row[0].split(" (")[0] for row in documented_rows} == set(stored)
    for row in documented_rows:
        workload = row[0].split(" (")[0]
        for method, cell in zip(doc_methods, row[1:], strict=True):
            assert cell.split(" (")[0] == stored[workload][method], (workload, method)


def test_self_tuning_scores_match_the_store(printed, documented):
    track = printed[printed.index("### Self-tuning track") :]
    scores = {row[0]: row[1] for row in rows(track, "| method | score (steps)")}
    line = re.search(r"Self-tuning score by steps: ([^.]+\.[0-9]+(?:, [^,.]+\.[0-9]+)*)", documented).group(1)
    quoted = dict(item.rsplit(" ", 1) for item in line.split(", "))
    assert quoted and quoted == scores
