"""Shared test set-up (kept small: fixtures live next to the tests that use them)."""

import warnings

# starlette.testclient warns once, at import, that httpx is deprecated in favour of httpx2;
# the test dependencies pin httpx, so silence that one import-time notice.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import starlette.testclient  # noqa: F401
