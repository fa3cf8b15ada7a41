"""``LimitExceeded``: a bound of the session was reached (it names the limit and its option).

Every bound the engine enforces (handoffs per user turn, tool run time, reply length and
duration, nesting depth of tool arguments) reports the same way: one ``error`` event with a
``LimitExceeded``, an error output for the call it stopped, and a session that keeps going.
"""

from __future__ import annotations


class LimitExceeded(Exception):
    """A session bound was hit; ``option`` is the setting that raises it."""

    def __init__(self, message: str, *, limit: str, option: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.option = option
