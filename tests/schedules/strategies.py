"""Hypothesis strategies: every schedule with random valid arguments."""

from __future__ import annotations

from hypothesis import strategies as st

from tuneless import schedules as S

unit = st.floats(0.0, 1.0, allow_nan=False)
floor = st.floats(0.0, 0.9, allow_nan=False)


@st.composite
def milestones(draw):
    xs = draw(st.lists(st.floats(0.01, 0.99), min_size=1, max_size=4, unique=True))
    xs = sorted(round(x, 3) for x in xs)
    return [x for i, x in enumerate(xs) if i == 0 or x > xs[i - 1]]


BASE = {
    "constant": st.just(S.Constant()),
    "linear": st.builds(S.Linear, floor=floor),
    "cosine": st.builds(S.Cosine, floor=floor),
    "polynomial": st.builds(S.Polynomial, power=st.floats(0.1, 5.0), floor=floor),
    "step": st.builds(S.Step, milestones=milestones(), factor=st.floats(0.01, 1.0)),
    "exponential": st.builds(S.Exponential, final=st.floats(1e-4, 1.0)),
    "inverse_sqrt": st.builds(S.InverseSqrt, timescale=st.floats(1.0, 1e4)),
    "rex": st.builds(S.Rex, a=st.floats(0.0, 0.99)),
    "wsd": st.builds(
        S.WSD,
        cooldown=st.floats(0.01, 1.0),
        shape=st.sampled_from(["linear", "cosine", "1-sqrt", "square"]),
        floor=floor,
    )
    | st.builds(S.WSD, cooldown=st.floats(0.01, 1.0), shape=st.just("exponential"), floor=st.floats(1e-3, 0.9)),
    "cosine_power": st.builds(S.CosinePower, power=st.floats(1.5, 100.0)),
    "onecycle": st.builds(
        S.OneCycle,
        pct_start=st.floats(0.05, 0.95),
        div_factor=st.floats(1.0, 100.0),
        final_div_factor=st.floats(1.0, 1e5),
    ),
    "tabulated": st.builds(S.Tabulated, st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=2, max_size=50)),
}

base_schedules = st.one_of(*BASE.values())

warmups = st.builds(
    lambda inner, frac, start: S.warmup(inner, fraction=frac, start=start),
    base_schedules,
    st.floats(0.0, 0.5),
    unit,
)
joins = st.builds(
    lambda a, b, at: S.join([a, b], [at]),
    base_schedules,
    base_schedules,
    st.floats(0.05, 0.95),
)
any_schedule = st.one_of(base_schedules, warmups, joins)
