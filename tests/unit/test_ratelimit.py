"""Client-side rate limits: the token bucket and the throttle, on a fake clock (no real waiting)."""

import math

import pytest

from infra.local.sandboxes._server import RateBucket
from parcelflow.adapters.ratelimit import Limit, Throttle, TokenBucket
from parcelflow.domain.errors import SyncPaused
from tests.fakes import FakeClock


# -- TokenBucket ------------------------------------------------------------------------------------------
def test_a_full_bucket_lets_a_burst_through_then_spaces_calls_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Limit(rate_per_s=2.0, burst=3), clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    # Callers queue up: each waits one refill interval (0.5 s) longer than the one before.
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.5, 1.0, 1.5])


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Limit(rate_per_s=1.0, burst=2), clock=clock)
    bucket.reserve()
    bucket.reserve()
    clock.advance(1.0)
    assert bucket.reserve() == 0.0  # one token refilled
    assert bucket.reserve() == pytest.approx(1.0)
    clock.advance(3600)
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])  # capped at 2


def test_a_refunded_token_is_there_for_the_next_caller() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Limit(rate_per_s=1.0, burst=1), clock=clock)
    bucket.reserve()
    assert bucket.reserve() == pytest.approx(1.0)
    bucket.refund()
    assert bucket.reserve() == pytest.approx(1.0)  # not 2.0: the refunded reservation is gone


def test_emptying_the_bucket_makes_the_next_call_wait_a_refill() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Limit(rate_per_s=4.0, burst=10), clock=clock)
    bucket.empty()
    assert bucket.reserve() == pytest.approx(0.25)


def test_a_new_rate_applies_from_now() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Limit(rate_per_s=1.0, burst=1), clock=clock)
    bucket.reserve()
    bucket.set_rate(4.0)
    assert bucket.rate_per_s == 4.0
    assert bucket.reserve() == pytest.approx(0.25)
    bucket.set_rate(0)  # nonsense is ignored
    assert bucket.rate_per_s == 4.0


@pytest.mark.parametrize("limit", [Limit(0, 1), Limit(-1, 1), Limit(1, 0)])
def test_a_limit_without_rate_or_burst_is_refused(limit: Limit) -> None:
    with pytest.raises(ValueError, match="positive rate and burst"):
        TokenBucket(limit)


# -- Throttle ---------------------------------------------------------------------------------------------
def _throttle(clock: FakeClock, jitter: float = 1.0, **limits: Limit) -> Throttle:
    return Throttle(
        limits or {"op": Limit(rate_per_s=0.5, burst=2)},
        clock=clock,
        sleep=clock.sleep,
        jitter=lambda: jitter,
        base_backoff_s=1.0,
        max_backoff_s=8.0,
    )


def test_before_call_sleeps_only_when_the_bucket_is_empty() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for _ in range(4):
        throttle.before_call("op")
    assert clock.sleeps == pytest.approx([2.0, 2.0])  # burst of 2, then one call every 2 s


def test_before_call_raises_sync_paused_rather_than_wait_past_the_deadline() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    throttle.before_call("op")
    throttle.before_call("op")
    with pytest.raises(SyncPaused) as paused:
        throttle.before_call("op", deadline=clock() + 1.0)
    assert paused.value.retry_after_s == pytest.approx(2.0)
    assert clock.sleeps == []
    # The token given back: the next caller waits 2 s, not 4.
    throttle.before_call("op", deadline=clock() + 2.5)
    assert clock.sleeps == pytest.approx([2.0])


def test_after_throttled_backs_off_exponentially_up_to_the_cap() -> None:
    clock = FakeClock()
    throttle = _throttle(clock, op=Limit(rate_per_s=100.0, burst=5))
    for attempt in range(1, 7):
        throttle.after_throttled("op", attempt)
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_after_a_throttle_answer_the_next_call_waits_for_a_refill() -> None:
    clock = FakeClock()
    throttle = _throttle(clock, jitter=0.0)  # 0.5/s, burst 2: the bucket still holds two tokens
    throttle.after_throttled("op", 1)  # the platform's bucket is empty, so ours is too
    throttle.before_call("op")
    assert clock.sleeps == pytest.approx([0.0, 2.0])


def test_after_throttled_is_jittered() -> None:
    clock = FakeClock()
    _throttle(clock, jitter=0.25).after_throttled("op", 3)
    assert clock.sleeps == [1.0]  # a quarter of the 4 s ceiling


def test_after_throttled_raises_sync_paused_when_the_pause_and_a_refill_pass_the_deadline() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)  # 0.5/s: a refill takes 2 s
    throttle.after_throttled("op", 1, deadline=clock() + 3.5)  # 1 s pause + 2 s refill fits
    with pytest.raises(SyncPaused) as paused:
        throttle.after_throttled("op", 2, deadline=clock() + 3.5)  # 2 s + 2 s does not
    assert paused.value.retry_after_s == pytest.approx(4.0)
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize(
    ("header", "rate"),
    [
        ("0.0167", 0.0167),
        (" 2 ", 2.0),
        (None, 0.5),
        ("", 0.5),
        ("fast", 0.5),
        ("0", 0.5),
        ("-1", 0.5),
        ("inf", 0.5),
        ("nan", 0.5),
    ],
)
def test_observe_limit_applies_a_sensible_announced_rate(header: str | None, rate: float) -> None:
    throttle = _throttle(FakeClock())
    throttle.observe_limit("op", header)
    assert math.isclose(throttle.bucket("op").rate_per_s, rate)


# -- instances sharing one account's limit --------------------------------------------------------------
def _throttled_answers(instances: int, share: int, calls: int) -> int:
    """`instances` confirmers, each with its own throttle, call one account whose server-side bucket is
    confirmShipment's 2/s with a burst of 10: how many answers are 429s?"""
    clock = FakeClock()
    server = RateBucket(2.0, 10, clock)
    limits = {"confirmShipment": Limit(rate_per_s=2.0, burst=10)}
    throttles = [Throttle(limits, clock=clock, share=share) for _ in range(instances)]
    ready = [clock() + t.bucket("confirmShipment").reserve() for t in throttles]
    throttled = 0
    for _ in range(calls):
        instance = min(range(instances), key=ready.__getitem__)
        clock.now = max(clock.now, ready[instance])
        throttled += not server.take()
        ready[instance] = clock() + throttles[instance].bucket("confirmShipment").reserve()
    return throttled


def test_instances_each_spending_the_whole_limit_throttle_each_other() -> None:
    assert _throttled_answers(instances=4, share=1, calls=60) > 20


@pytest.mark.parametrize("instances", [2, 4])
def test_instances_sharing_the_limit_are_never_throttled(instances: int) -> None:
    assert _throttled_answers(instances=instances, share=instances, calls=60) == 0


def test_a_shared_throttle_takes_its_part_of_an_announced_rate_too() -> None:
    throttle = Throttle({"confirmShipment": Limit(rate_per_s=2.0, burst=10)}, share=2)
    assert throttle.bucket("confirmShipment").rate_per_s == 1.0
    throttle.observe_limit("confirmShipment", "5.0")  # Amazon: this account may make 5 calls a second
    assert throttle.bucket("confirmShipment").rate_per_s == 2.5
