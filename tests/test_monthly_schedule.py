"""When the coordinators' monthly summary runs, and which month a run delivers."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import reports
from bot.app import build_application
from bot.config import Settings
from tests.botapi import FakeBotAPI

pytestmark = pytest.mark.botapi

STHLM = ZoneInfo("Europe/Stockholm")


def settings(tmp_path, **kw) -> Settings:
    return Settings(token="123456:TEST", db_path=tmp_path / "e.db", **kw)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 22, 10, 0, tzinfo=STHLM), datetime(2026, 12, 1, 8, 0, tzinfo=STHLM)),
        (datetime(2026, 12, 1, 7, 59, tzinfo=STHLM), datetime(2026, 12, 1, 8, 0, tzinfo=STHLM)),
        (datetime(2026, 12, 1, 8, 1, tzinfo=STHLM), datetime(2027, 1, 1, 8, 0, tzinfo=STHLM)),
        (datetime(2026, 12, 31, 23, 0, tzinfo=STHLM), datetime(2027, 1, 1, 8, 0, tzinfo=STHLM)),
    ],
)
def test_next_run_is_the_first_of_the_month_at_eight_stockholm_time(tmp_path, now, expected):
    assert reports.next_run(now, settings(tmp_path)) == expected


def test_next_run_follows_the_day_and_hour_settings(tmp_path):
    s = settings(tmp_path, report_day=15, report_hour=6, report_minute=30)
    now = datetime(2026, 11, 22, 10, 0, tzinfo=STHLM)
    assert reports.next_run(now, s) == datetime(2026, 12, 15, 6, 30, tzinfo=STHLM)


def test_next_run_is_in_local_time_across_daylight_saving(tmp_path):
    # 1 April is summer time (UTC+2), 1 March winter time (UTC+1): 08:00 local both times.
    s = settings(tmp_path)
    march = reports.next_run(datetime(2027, 2, 10, tzinfo=STHLM), s)
    april = reports.next_run(datetime(2027, 3, 10, tzinfo=STHLM), s)
    assert march.astimezone(ZoneInfo("UTC")).hour == 7
    assert april.astimezone(ZoneInfo("UTC")).hour == 6


@pytest.mark.parametrize(
    ("now", "month"),
    [
        (datetime(2026, 11, 22, 10, 0, tzinfo=STHLM), "2026-10"),
        (datetime(2026, 12, 1, 7, 59, tzinfo=STHLM), "2026-10"),
        (datetime(2026, 12, 1, 8, 0, tzinfo=STHLM), "2026-11"),
        (datetime(2027, 1, 5, 0, 0, tzinfo=STHLM), "2026-12"),
    ],
)
def test_a_run_delivers_the_newest_month_that_is_due(tmp_path, now, month):
    assert reports.latest_due_month(now, settings(tmp_path)) == month


def test_the_job_queue_schedules_the_monthly_job_at_next_run(tmp_path):
    """The real PTB JobQueue (APScheduler underneath) agrees with next_run."""

    async def scenario() -> tuple[datetime, datetime]:
        with FakeBotAPI(token="123456:TEST") as api:
            s = Settings(
                token="123456:TEST", db_path=tmp_path / "e.db", api_url=api.base_url
            )
            app = build_application(s)
            async with app:
                reports.schedule(app, s)
                assert app.job_queue is not None
                await app.job_queue.start()
                try:
                    job = app.job_queue.get_jobs_by_name("manadsrapport")[0]
                    assert job.next_t is not None
                    return job.next_t, reports.next_run(datetime.now(STHLM), s)
                finally:
                    await app.job_queue.stop(wait=False)

    scheduled, expected = asyncio.run(scenario())
    assert scheduled == expected
