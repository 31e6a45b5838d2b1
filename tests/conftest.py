"""Hypothesis profiles for the whole suite.

`make test` (and so CI) uses `repeatable`: each property draws the same examples on every run, derived
from the test itself, with no example database, so a failure on a clean clone fails again on the next run
and on any machine, and a green run is not a matter of luck. `HYPOTHESIS_PROFILE=explore make test` draws
new examples each run and keeps the failing ones in `.hypothesis/` to replay first: for looking for bugs,
not for gating a change.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
