"""Time: stored in UTC, shown and reasoned about in China time (Asia/Shanghai)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_china(dt: datetime | None) -> datetime | None:
    return dt.astimezone(CHINA) if dt is not None else None


def china_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(CHINA).date()


def china_midnight(day: date) -> datetime:
    """The UTC instant at which `day` begins in China."""
    return datetime.combine(day, time(0, 0), tzinfo=CHINA).astimezone(UTC)


def format_china(dt: datetime | None, with_time: bool = True) -> str:
    if dt is None:
        return ""
    local = to_china(dt)
    return local.strftime("%Y-%m-%d %H:%M") if with_time else local.strftime("%Y-%m-%d")


def end_of_china_day(day: date) -> datetime:
    return china_midnight(day + timedelta(days=1))
