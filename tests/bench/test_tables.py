"""Markdown tables and the claim verdicts (difference must exceed the seed noise)."""

from __future__ import annotations

import pytest

from tuneless.bench.report.tables import markdown_tables
from tuneless.bench.score.claims import claim_verdict

from .conftest import hand_made_run


@pytest.mark.parametrize(
    ("a", "b", "higher", "verdict"),
    [
        ((0.10, 0.01), (0.20, 0.01), False, "better"),  # lower loss, well outside the noise
        ((0.10, 0.01), (0.20, 0.01), True, "worse"),  # the same numbers as accuracies
        ((0.10, 0.2), (0.20, 0.01), False, "tie"),  # the difference is inside a's seed spread
        ((None, None), (0.2, 0.0), False, "n/a"),
        ((0.5, None), (0.4, None), True, "better"),  # one seed: no std, any difference counts
    ],
)
def test_claim_verdict(a, b, higher, verdict):
    assert claim_verdict(a[0], a[1], b[0], b[1], higher) == verdict


def test_markdown_tables_on_a_hand_made_run(tmp_path):
    path = tmp_path / "s.sqlite"
    finals = {("linear", 0): 0.80, ("linear", 1): 0.82, ("cosine", 0): 0.70, ("cosine", 1): 0.71}
    hand_made_run(path, finals, seeds=2, higher_is_better=True)
    text = markdown_tables(str(path))
    assert "| linear | 1.000 | 1.000 |" in text and "| cosine | 0.000 | 0.000 |" in text
    # paired differences (0.10, 0.11): mean 0.105; exact bootstrap means 0.10 (1/4), 0.105 (1/2), 0.11 (1/4) ->
    # 95% interval [0.10, 0.11]; 2 seeds < 5: a tie, where the noise rule (0.105 > std 0.014) says better.
    # steps: 50 against a miss on both seeds -> -inf, also a tie with 2 seeds
    row = "| w | 0.81 | 0.705 | 0.105 [0.1, 0.11] | linear tie | linear better | 50 | missed | -inf [-inf, -inf] |"
    assert row + " linear tie |" in text
    assert "Paired verdicts need at least 5 seeds; this run has 2" in text
    assert "rerun with `--seeds 5`: about 10 trials (5/2 of this run's 4" in text
    assert "better on 0, tie on 1, worse on 0 workloads; by the noise rule" in text
    assert "(the difference of the means exceeds the larger std over seeds): better on 1, tie on 0, worse on 0" in text
