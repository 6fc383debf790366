"""Dates, times and weekday names as each language writes them, in the clinic's time zone.

Uzbek: year first, the month in lower case ("2027-yil 1-mart"); Russian: the month in the genitive after a
day ("1 марта"); English: Django's own. See navbat/formats/.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from navbat.clinic.models import CalendarFeed
from tests.small_clinic import SmallClinic

# 04:30 UTC on Monday 1 March 2027: 09:30 in Tashkent (UTC+5), 15:30 in Sakhalin (UTC+11).
MOMENT = datetime(2027, 3, 1, 4, 30, tzinfo=UTC)


def rendered(language: str, text: str, zone: str = "Asia/Tashkent") -> str:
    template = Template("{% load tz %}{% timezone zone %}" + text + "{% endtimezone %}")
    with translation.override(language):
        return template.render(Context({"when": MOMENT, "zone": zone}))


@pytest.mark.parametrize(
    ("language", "date", "date_time", "day_month", "year_month", "weekday"),
    [
        ("uz", "2027-yil 1-mart", "2027-yil 1-mart, 9:30", "1-mart", "2027-yil mart", "Dushanba"),
        ("ru", "1 марта 2027 г.", "1 марта 2027 г. 9:30", "1 марта", "Март 2027 г.", "Понедельник"),
        ("en", "March 1, 2027", "March 1, 2027, 9:30 a.m.", "March 1", "March 2027", "Monday"),
    ],
)
def test_a_date_reads_as_the_language_writes_it(
    language: str, date: str, date_time: str, day_month: str, year_month: str, weekday: str
) -> None:
    formats = (
        "{{ when|date:'DATE_FORMAT' }}|{{ when|date:'DATETIME_FORMAT' }}|{{ when|date:'MONTH_DAY_FORMAT' }}"
    )
    formats += "|{{ when|date:'YEAR_MONTH_FORMAT' }}|{{ when|date:'l' }}"

    assert rendered(language, formats).split("|") == [date, date_time, day_month, year_month, weekday]


@pytest.mark.parametrize(
    ("month", "uzbek", "russian"),
    [(1, "yanvar", "января"), (5, "may", "мая"), (8, "avgust", "августа"), (12, "dekabr", "декабря")],
)
def test_every_month_has_its_name_in_a_date(month: int, uzbek: str, russian: str) -> None:
    when = MOMENT.replace(month=month)
    template = Template("{{ when|date:'DATE_FORMAT' }}")

    with translation.override("uz"):
        in_uzbek = template.render(Context({"when": when}))
    with translation.override("ru"):
        in_russian = template.render(Context({"when": when}))

    assert in_uzbek == f"2027-yil 1-{uzbek}"
    assert in_russian == f"1 {russian} 2027 г."


def test_times_are_the_clinics_local_time() -> None:
    assert (
        rendered("uz", "{{ when|date:'DATETIME_FORMAT' }}", zone="Asia/Sakhalin") == "2027-yil 1-mart, 15:30"
    )
    assert rendered("ru", "{{ when|time:'TIME_FORMAT' }}") == "9:30"


@pytest.mark.parametrize(
    ("language", "made"),
    [("uz", "2027-yil 1-mart, 9:30"), ("ru", "1 марта 2027 г. 9:30"), ("en", "March 1, 2027, 9:30 a.m.")],
)
def test_a_page_shows_a_time_in_the_clinics_zone_and_the_chosen_language(
    client: Client, small_clinic: SmallClinic, language: str, made: str
) -> None:
    client.force_login(small_clinic.first.user)
    client.post("/calendar/new/")
    CalendarFeed.objects.update(created_at=MOMENT)

    page = client.get("/calendar/", HTTP_ACCEPT_LANGUAGE=language)

    assert f"<dd>{made}</dd>" in page.content.decode()
