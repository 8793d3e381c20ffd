"""Known values of each schedule, and the bad-input messages."""

from __future__ import annotations

import numpy as np
import pytest

from tuneless import schedules as S


def test_cosine_and_linear_known_points():
    T = 100
    assert S.cosine()(50, T) == pytest.approx(0.5)
    assert S.cosine(floor=0.1)(T, T) == pytest.approx(0.1)
    assert S.linear(floor=0.2)(50, T) == pytest.approx(0.6)


def test_rex_formula_and_its_two_published_constants():
    p = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    T = 4
    np.testing.assert_allclose(S.rex()(p * T, T), (1 - p) / (1 - 0.5 * p))
    np.testing.assert_allclose(S.rex(a=0.9)(p * T, T), (1 - p) / (1 - 0.9 * p))
    # a = 0 is linear decay
    np.testing.assert_allclose(S.rex(a=0.0).values(37), S.linear().values(37))
    assert S.rex()(2, 4) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("shape", "expected_mid"),
    [("linear", 0.5), ("cosine", 0.5), ("1-sqrt", 1 - np.sqrt(0.5)), ("square", 0.75)],
)
def test_wsd_shapes_at_the_middle_of_the_cooldown(shape, expected_mid):
    T = 1000
    s = S.wsd(cooldown=0.2, shape=shape)
    assert s(799, T) == 1.0 and s(800, T) == 1.0
    assert s(900, T) == pytest.approx(expected_mid)
    assert s(T, T) == 0.0


def test_wsd_exponential_shape_reaches_its_floor():
    s = S.wsd(cooldown=0.5, shape="exponential", floor=0.01)
    assert s(75, 100) == pytest.approx(0.1)
    assert s(100, 100) == pytest.approx(0.01)


def test_step_decay_30_60_90():
    T = 100
    s = S.step()
    assert [s(t, T) for t in (0, 29, 30, 59, 60, 89, 90, 100)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    )


def test_exponential_polynomial_cosine_power_inverse_sqrt():
    assert S.exponential(final=0.01)(50, 100) == pytest.approx(0.1)
    assert S.polynomial(power=3)(50, 100) == pytest.approx(0.125)
    cp = S.cosine_power(power=10)
    assert cp(0, 10) == pytest.approx(1.0) and cp(10, 10) == pytest.approx(0.0)
    c = 0.5  # at p = 1/2, c = (1 + cos(pi/2)) / 2
    assert cp(5, 10) == pytest.approx((10 ** (c + 1) - 10) / 90)
    # warmup(inverse_sqrt(timescale=w), steps=w) is the Transformer schedule sqrt(w / t) after warmup
    w = 400
    t = np.arange(w, 5000)
    np.testing.assert_allclose(S.warmup(S.inverse_sqrt(timescale=w), steps=w)(t, 5000), np.sqrt(w / t))


def test_join_uses_a_relative_clock_per_piece():
    s = S.join([S.constant(), S.linear()], [0.8])
    T = 100
    np.testing.assert_allclose(s.values(T, endpoint=True), S.wsd(cooldown=0.2).values(T, endpoint=True))
    # three pieces: cosine restarts with its own clock at 0.5 T
    r = S.join([S.cosine(), S.cosine(), S.constant()], [0.25, 0.5])
    assert r(0, 100) == 1.0 and r(25, 100) == 1.0 and r(12.5, 100) == pytest.approx(0.5)


def test_scalar_calls_serve_as_an_optax_schedule():
    fn = S.warmup(S.cosine(), fraction=0.1).bind(1000, scale=3e-4)
    for step in (np.int32(0), np.int64(500), np.float32(1000.0), 7):
        value = fn(step)
        assert np.ndim(value) == 0 and np.isfinite(value)
    assert fn(np.int64(100)) == pytest.approx(3e-4)
    assert fn(0) == 0.0


def test_example_spec_formats_back_identically():
    for text in [
        "wsd(cooldown=0.2,shape=1-sqrt)",
        "warmup(cosine(floor=0.1),fraction=0.05)",
        "join(pieces=[constant,linear],boundaries=[0.8])",
        "step(milestones=[0.5,0.75],factor=0.5)",
        "linear",
    ]:
        assert S.parse_schedule(text).spec == text
    assert S.parse_schedule(" wsd( cooldown = 0.2 , shape = 1-sqrt ) ").spec == "wsd(cooldown=0.2,shape=1-sqrt)"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: S.linear()(3, 0), r"total_steps=0 must be an integer > 0"),
        (lambda: S.linear()(3, -5), r"total_steps=-5 must be an integer > 0"),
        (lambda: S.linear()(3, 2.5), r"total_steps=2.5 must be an integer > 0"),
        (lambda: S.linear()(0, True), r"total_steps=True must be an integer > 0"),
        (lambda: S.warmup(S.cosine(), steps=-1), r"warmup: steps=-1 must be a finite number >= 0"),
        (lambda: S.warmup(S.cosine(), steps=100)(0, 100), r"warmup: steps=100 must be < total_steps=100"),
        (lambda: S.warmup(S.cosine()), r"give exactly one of steps=N or fraction=F"),
        (lambda: S.wsd(cooldown=0.0), r"wsd: cooldown=0.0 must be in \(0, 1\]"),
        (lambda: S.wsd(cooldown=1.5), r"wsd: cooldown=1.5 must be in \(0, 1\]"),
        (lambda: S.wsd(cooldown=0.2, shape="exponential"), r"shape=exponential needs floor > 0"),
        (lambda: S.wsd(cooldown=0.2, shape="sqrt"), r"shape='sqrt' is not allowed: must be one of linear"),
        (lambda: S.parse_schedule("foo"), r"unknown schedule 'foo'; known: constant, cosine"),
        (
            lambda: S.parse_schedule("wsd(cooldown="),
            r"malformed schedule spec 'wsd\(cooldown=': expected a value",
        ),
        (lambda: S.parse_schedule("cosine(floor=0.1"), r"malformed schedule spec .*expected '\)'"),
        (lambda: S.parse_schedule("cosine)"), r"malformed schedule spec .*unexpected '\)'"),
        (lambda: S.parse_schedule(""), r"malformed schedule spec '': empty"),
        (lambda: S.parse_schedule("linear(floor=x)"), r"linear: floor='x' is not a number"),
        (lambda: S.parse_schedule("linear(depth=1)"), r"linear: unknown argument 'depth' \(allowed: floor\)"),
        (lambda: S.Tabulated([1.0, float("nan"), 0.0]), r"values=.* must be finite: 1 non-finite value"),
        (lambda: S.Tabulated([1.0, float("inf")]), r"must be finite"),
        (lambda: S.Tabulated([1.0, -0.5]), r"must be >= 0"),
        (lambda: S.Tabulated([1.0]), r"at least 2 values"),
        (lambda: S.step(milestones=[0.6, 0.3]), r"strictly increasing list of fractions"),
        (lambda: S.join([S.constant()], []), r"pieces needs at least 2 schedules"),
        (lambda: S.linear()(-1, 10), r"step must be finite and >= 0"),
        (lambda: S.linear(floor=2), r"linear: floor=2.0 must be in \[0, 1\]"),
        (lambda: S.load_schedule("missing.json"), r"missing.json: no such schedule file"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_truncated_schedule_json_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "tabulated", "values": [1, 0.5')
    with pytest.raises(ValueError, match=r"bad.json: not valid JSON \(line 1"):
        S.load_schedule(str(path))


def test_schedules_are_picklable_and_immutable():
    import pickle

    s = S.warmup(S.wsd(cooldown=0.1, shape="1-sqrt"), steps=10)
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(AttributeError):
        s.steps = 5


@pytest.mark.parametrize(
    "spec, T, message",
    [  # found by hypothesis: the inner horizon was checked only once a step reached the inner schedule
        (
            "warmup(onecycle(pct_start=0.5,div_factor=1,final_div_factor=1),fraction=0.5)",
            1,
            "after the warmup runs 1 steps",  # floor(0.5 * 1) = 0 warmup steps
        ),
        ("join(pieces=[constant,onecycle],boundaries=[0.9])", 5, "of piece 1 runs 0.5 steps"),
    ],
)
def test_composites_refuse_an_inner_horizon_too_short_at_step_0(spec, T, message):
    schedule = S.parse_schedule(spec)
    with pytest.raises(ValueError, match=message):
        schedule(0, T)
    assert np.isfinite(schedule.values(10 * T, endpoint=True)).all()  # a longer run is fine
