"""The FIFO consumers' partial-batch responses (parcelflow.sqs_batch), as Powertools' processor gave them."""

from __future__ import annotations

from typing import Any

import pytest

from parcelflow.sqs_batch import BatchProcessingError, SqsMessage, process_fifo_batch


def _event(*records: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": mid, "body": body, "attributes": {"MessageGroupId": group}}
            for mid, group, body in records
        ]
    }


def _handler(seen: list[str]) -> Any:
    def handle(record: SqsMessage) -> None:
        seen.append(record.message_id)
        if record.body == "bad":
            raise ValueError(f"bad record {record.message_id}")

    return handle


def test_every_record_processed_reports_no_failure() -> None:
    seen: list[str] = []
    answer = process_fifo_batch(_event(("m1", "a", "ok"), ("m2", "b", "ok")), _handler(seen))
    assert answer == {"batchItemFailures": []}
    assert seen == ["m1", "m2"]


def test_after_a_failure_the_rest_of_the_batch_comes_back_unprocessed() -> None:
    seen: list[str] = []
    event = _event(("m1", "a", "ok"), ("m2", "a", "bad"), ("m3", "b", "ok"), ("m4", "a", "ok"))
    answer = process_fifo_batch(event, _handler(seen))
    assert answer == {"batchItemFailures": [{"itemIdentifier": m} for m in ("m2", "m3", "m4")]}
    assert seen == ["m1", "m2"]


def test_skipping_the_group_lets_other_groups_go_on() -> None:
    seen: list[str] = []
    event = _event(("m1", "a", "bad"), ("m2", "b", "ok"), ("m3", "a", "ok"), ("m4", "b", "ok"))
    answer = process_fifo_batch(event, _handler(seen), skip_group_on_error=True)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert seen == ["m1", "m2", "m4"]


def test_a_batch_whose_every_record_failed_is_an_error_carrying_each_traceback() -> None:
    event = _event(("m1", "a", "bad"), ("m2", "a", "ok"))
    with pytest.raises(BatchProcessingError) as raised:
        process_fifo_batch(event, _handler([]), skip_group_on_error=True)
    assert type(raised.value).__name__ == "BatchProcessingError"  # the errorType Lambda reports
    assert "All records failed processing" in str(raised.value)
    assert "ValueError: bad record m1" in str(raised.value)
    assert "A previous record from this message group failed processing" in str(raised.value)


def test_an_event_without_records_is_refused() -> None:
    with pytest.raises(BatchProcessingError):
        process_fifo_batch({"Records": []}, _handler([]))
