"""Suite-wide settings: hypothesis profiles, and no silent skips in CI.

Hypothesis profiles (``--hypothesis-profile NAME`` picks one):

* ``ci``: loaded when the ``CI`` environment variable is set (``.ci/run`` sets it).
  ``derandomize=True``: every run draws the same examples, so CI is deterministic;
  no example database, no deadline (a shared 2-core machine is slow at times).
* ``dev``: the default elsewhere: random examples, a fresh draw each run.
* ``long``: a longer random search for local use, e.g.
  ``python -m pytest tests/test_properties.py tests/test_fuzz.py --hypothesis-profile long``
  (10x the examples; tests that set their own ``max_examples`` keep it unless you raise it).

In CI (``CI`` set) a test that skips because a tool or package is missing fails
instead, so CI always runs the browser, fuzz and peer tests for real.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

IN_CI = bool(os.environ.get("CI"))

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.register_profile("long", max_examples=1000, deadline=None)
settings.load_profile("ci" if IN_CI else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        # A skip in CI means something CI should have installed is missing: make it a failure.
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI (CI is set), where everything the suite needs is installed: {reason}"
