"""China's one time zone (UTC+8), in which the days people name are counted: a filter's dates, a step's date."""

from __future__ import annotations

from datetime import timedelta, timezone

CHINA = timezone(timedelta(hours=8))
