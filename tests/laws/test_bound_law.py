"""The bound law L0 + c * Omega_t(gamma): its closed form, self-reproduction from known parameters, independence
of the search's starts, save/load, the CLI, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tuneless.cli import main
from tuneless.laws import LAWS, BoundLaw, Curve, Law, schedule_lrs
from tuneless.refine import bound_curve

TRUTH = dict(L0=2.9, c=6.0, gamma=9.0)
SPECS = ("warmup(cosine(floor=0.1),steps=200)", "warmup(constant,steps=200)", "warmup(wsd(cooldown=0.3),steps=200)")


def synthetic(spec: str, noise: float = 0.0, seed: int = 0) -> Curve:
    lrs = schedule_lrs(spec, 3000, 3e-4)
    steps = np.arange(100, 3000, 25)
    loss = BoundLaw(params=TRUTH).predict(lrs, steps)
    loss = loss * (1 + noise * np.random.default_rng(seed).standard_normal(loss.size))
    return Curve(lrs, steps, loss, name=spec)


def test_prediction_is_l0_plus_c_times_the_bound_of_the_scaled_run():
    lrs = schedule_lrs(SPECS[0], 3000, 3e-4)
    steps = np.array([1, 10, 500, 2999])
    expected = TRUTH["L0"] + TRUTH["c"] * bound_curve(TRUTH["gamma"] * lrs)[steps]
    np.testing.assert_allclose(BoundLaw(params=TRUTH).predict(lrs, steps), expected, rtol=1e-12)
    norms = np.linspace(1.0, 2.0, 3000)
    law = BoundLaw(params=TRUTH, grad_norms=norms)
    expected = TRUTH["L0"] + TRUTH["c"] * bound_curve(TRUTH["gamma"] * lrs, norms)[steps]
    np.testing.assert_allclose(law.predict(lrs, steps), expected, rtol=1e-12)


def test_fit_reproduces_known_parameters_and_predicts_another_schedule():
    law = BoundLaw().fit([synthetic(SPECS[0]), synthetic(SPECS[1])])
    for name, value in TRUTH.items():
        assert law.params[name] == pytest.approx(value, rel=1e-4), name
    held_out = synthetic(SPECS[2])
    assert law.evaluate(held_out)["WorstE"] < 1e-6


def test_fit_does_not_depend_on_the_number_of_starts():
    curves = [synthetic(SPECS[0], 1e-3, 1), synthetic(SPECS[1], 1e-3, 2)]
    fits = [BoundLaw().fit(curves, n_starts=n).params for n in (1, 3, 16)]
    for other in fits[1:]:
        for name in TRUTH:
            assert other[name] == pytest.approx(fits[0][name], rel=1e-5), name
    assert fits[0]["gamma"] == pytest.approx(TRUTH["gamma"], rel=0.1)  # noisy: near the truth, not on it


def test_fixed_parameters_are_held():
    law = BoundLaw().fit([synthetic(SPECS[0]), synthetic(SPECS[1])], fixed={"gamma": 9.0})
    assert law.params["gamma"] == 9.0 and law.params["c"] == pytest.approx(6.0, rel=1e-4)


def test_save_load_round_trip(tmp_path):
    assert LAWS["bound"] is BoundLaw
    law = BoundLaw(params=TRUTH)
    loaded = Law.load(law.save(tmp_path / "law.json"))
    assert isinstance(loaded, BoundLaw) and loaded.params == TRUTH
    lrs = schedule_lrs(SPECS[0], 3000, 3e-4)
    np.testing.assert_array_equal(loaded.predict(lrs, np.arange(1, 3000)), law.predict(lrs, np.arange(1, 3000)))


def test_predict_cli_with_the_bound_law(tmp_path, capsys):
    files = []
    for spec in SPECS[:2]:
        curve = synthetic(spec)
        path = tmp_path / f"{len(files)}.csv"
        path.write_text(
            "step,loss\n" + "".join(f"{s},{float(v)!r}\n" for s, v in zip(curve.steps, curve.losses, strict=True))
        )
        files.append(f"{path}:{spec}@3000")
    code = main(
        ["predict", "--law", "bound", "--peak-lr", "3e-4", "--steps", "3000", "--schedule", SPECS[2], "--fit", *files]
    )
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith("bound law fitted on 2 run(s)"), err
    predicted = float(out.strip().splitlines()[-1].split()[0])
    truth = BoundLaw(params=TRUTH).predict(schedule_lrs(SPECS[2], 3000, 3e-4), [2999])[0]
    assert predicted == pytest.approx(truth, abs=1e-5)


@pytest.mark.parametrize(
    "law, lrs, steps, message",
    [
        (BoundLaw(params=TRUTH, grad_norms=np.ones(10)), np.full(12, 1e-3), None, r"grad_norms has shape \(10,\)"),
        (
            BoundLaw(params=TRUTH, grad_norms=np.r_[1.0, np.nan, np.ones(10)]),
            np.full(12, 1e-3),
            None,
            r"grad_norms must be finite and > 0; entry 1 is nan",
        ),
        (BoundLaw(params=TRUTH), np.r_[1e-3, 1e-3, 0.0, 1e-3], [1, 2, 3], r"the bound is infinite at step 2"),
        (BoundLaw(params=TRUTH), np.r_[1e-3, -1e-3, 1e-3], None, r"lrs must be .* >= 0"),
        (BoundLaw(), np.full(12, 1e-3), None, r"bound law has no parameters"),
    ],
)
def test_bad_input_is_one_clear_line(law, lrs, steps, message):
    with pytest.raises(ValueError, match=message) as err:
        law.predict(lrs, steps)
    assert "\n" not in str(err.value)
