"""A calendar month, the period every report covers (`--month YYYY-MM`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = MONTH_PATTERN.match(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise ValueError(f"{text!r} is not a month such as 2025-05 (YYYY-MM)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def current(cls) -> Month:
        return cls.of(datetime.now(UTC).date())

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The first day of the next month (Cost Explorer's exclusive end)."""
        return date(self.year + 1, 1, 1) if self.month == 12 else date(self.year, self.month + 1, 1)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def days(self, until: date | None = None) -> list[date]:
        """Every day of the month, up to `until` (inclusive) when it falls inside the month."""
        last = min(self.last_day, until) if until is not None else self.last_day
        return [self.start + timedelta(days=i) for i in range((last - self.start).days + 1)]

    def start_time(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    def end_time(self) -> datetime:
        return datetime.combine(self.end, time.min, tzinfo=UTC)

    def __str__(self) -> str:
        return self.label
