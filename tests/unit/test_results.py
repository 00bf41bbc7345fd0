import pytest

from bulkhead.results import ControlResult, Outcome

F, E, P, N, W = Outcome.FAIL, Outcome.ERROR, Outcome.PASS, Outcome.NOT_APPLICABLE, Outcome.WAIVED


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([P], P),
        ([P, P], P),
        ([P, F], F),
        ([E, P], E),
        ([E, F], F),
        ([N, P], P),
        ([N], N),
        ([N, E], E),
        ([W, P], W),
        ([], N),
    ],
)
def test_several_test_outcomes_fold_into_one_control_outcome(outcomes, expected):
    result = ControlResult("2.2", "host")
    for outcome in outcomes:
        result.add(outcome, None, 0.0)
    assert result.outcome is expected


def test_summary_is_the_first_reason_and_a_count():
    result = ControlResult("5.4", "host")
    for name in ("web", "db", "web"):
        result.add(F, f"container {name} runs privileged", 0.0)
    assert result.reasons == ["container web runs privileged", "container db runs privileged"]
    assert result.summary == "container web runs privileged (and 1 more)"
