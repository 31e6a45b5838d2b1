"""Schedule and ScheduleV2 events, locally: moto accepts EventBridge schedules but never fires them."""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from infra.local import runtime
from infra.local.deploy import LocalFunction, ScheduleSource

logger = logging.getLogger(__name__)

_RATE = re.compile(r"rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """Seconds between runs of `rate(N unit)`. Seconds are accepted for local tests (AWS starts at minutes);
    cron() and at() are not supported."""
    match = _RATE.fullmatch(expression.strip())
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"schedule expression {expression!r} is not supported locally: use rate(N minutes)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class Scheduler:
    def __init__(self, functions: list[LocalFunction], *, region: str, account_id: str) -> None:
        self._functions = {function.logical_id: function for function in functions}
        self._region = region
        self._account_id = account_id
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Fire every enabled schedule on its timer (the first run one interval after start, as on AWS)."""
        for function in self._functions.values():
            for schedule in function.schedules:
                if schedule.enabled:
                    interval = rate_seconds(schedule.expression)  # fails before any thread starts
                    self._threads.append(
                        threading.Thread(
                            target=self._run,
                            args=(function, schedule, interval),
                            name=f"schedule-{function.logical_id}-{schedule.event_name}",
                        )
                    )
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._stop.clear()

    def fire(self, function_logical_id: str, event_name: str | None = None) -> Any:
        """Invoke the function now with its schedule's event: the handler's result, or its exception."""
        function = self._functions[function_logical_id]
        schedules = [s for s in function.schedules if event_name in (None, s.event_name)]
        if not schedules:
            raise KeyError(f"{function_logical_id} has no schedule {event_name or ''}".rstrip())
        return runtime.invoke(function, self.event(function, schedules[0]))

    def event(self, function: LocalFunction, schedule: ScheduleSource) -> Any:
        if schedule.input is not None:  # the target's Input replaces the event, on both kinds of schedule
            return json.loads(schedule.input)
        name = f"{function.logical_id}{schedule.event_name}"  # SAM's name for the rule/schedule
        if schedule.type == "ScheduleV2":
            resource = f"arn:aws:scheduler:{self._region}:{self._account_id}:schedule/default/{name}"
        else:
            resource = f"arn:aws:events:{self._region}:{self._account_id}:rule/{name}"
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler" if schedule.type == "ScheduleV2" else "aws.events",
            "account": self._account_id,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._region,
            "resources": [resource],
            "detail": {},
        }

    def _run(self, function: LocalFunction, schedule: ScheduleSource, interval: int) -> None:
        while not self._stop.wait(interval):
            try:
                runtime.invoke(function, self.event(function, schedule))
            except Exception:
                logger.exception("scheduled run of %s failed", function.logical_id)
