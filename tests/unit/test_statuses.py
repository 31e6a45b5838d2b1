import pytest

from parcelflow.domain.statuses import (
    ALLOWED_TRANSITIONS,
    PACKAGE_PROGRESS,
    FulfilmentStatus,
    IllegalTransition,
    check_transition,
    rollup,
)

S = FulfilmentStatus


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(FulfilmentStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING_REVIEW, S.PENDING_PROCESSING),
        (S.PENDING_REVIEW, S.ON_HOLD),
        (S.PENDING_PROCESSING, S.WAYBILL_REQUESTED),
        (S.WAYBILL_REQUESTED, S.WAYBILL_FAILED),
        (S.WAYBILL_FAILED, S.WAYBILL_REQUESTED),
        (S.WAYBILL_REQUESTED, S.TO_PRINT),
        (S.TO_PRINT, S.AWAITING_SCAN),
        (S.AWAITING_SCAN, S.SHIPPED),
        (S.AWAITING_SCAN, S.ON_HOLD),
        (S.SHIPPED, S.CONFIRMED),
    ],
)
def test_the_happy_and_repair_paths_are_allowed(current: S, target: S) -> None:
    assert check_transition("package p", current, target) is True


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING_REVIEW, S.SHIPPED),
        (S.SHIPPED, S.ON_HOLD),  # it has left: holding it is not possible any more
        (S.SHIPPED, S.CANCELLED),
        (S.CONFIRMED, S.SHIPPED),
        (S.CANCELLED, S.PENDING_REVIEW),
        (S.TO_PRINT, S.WAYBILL_REQUESTED),  # a second pre-advice would charge twice
        (S.AWAITING_SCAN, S.TO_PRINT),
    ],
)
def test_illegal_transitions_raise_a_named_error(current: S, target: S) -> None:
    with pytest.raises(IllegalTransition) as raised:
        check_transition("package p", current, target)
    assert raised.value.current == current
    assert raised.value.target == target
    assert str(current) in str(raised.value)


def test_a_replay_of_the_same_status_is_not_a_change() -> None:
    for status in FulfilmentStatus:
        assert check_transition("order o", status, status) is False


def test_terminal_statuses_allow_nothing() -> None:
    assert not ALLOWED_TRANSITIONS[S.CONFIRMED]
    assert not ALLOWED_TRANSITIONS[S.CANCELLED]


def test_rollup_shows_the_slowest_live_package() -> None:
    assert rollup([S.AWAITING_SCAN, S.TO_PRINT]) == S.TO_PRINT
    assert rollup([S.SHIPPED, S.CONFIRMED]) == S.SHIPPED
    assert rollup([S.TO_PRINT, S.WAYBILL_FAILED]) == S.WAYBILL_FAILED
    assert rollup([S.CANCELLED, S.SHIPPED]) == S.SHIPPED
    assert rollup([S.CANCELLED]) == S.CANCELLED


def test_package_progress_only_lists_statuses_a_package_can_have() -> None:
    assert S.PENDING_REVIEW not in PACKAGE_PROGRESS
    assert S.ON_HOLD not in PACKAGE_PROGRESS
