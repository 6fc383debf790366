"""The delivery dashboard: per channel and day (the clinic's days) what became of the messages, why they
failed, and a failed one sent again by the administrator — with no patient on the page."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from navbat.accounts.models import AuditEntry
from navbat.clinic.models import StaffRole
from navbat.notify.models import Delivery, DeliveryStatus, Kind
from tests.notify.staff_world import Staffed, build_staffed, delivery

pytestmark = pytest.mark.django_db

ENGLISH = {"Accept-Language": "en"}
TEXT = "Tabassum: Dilnoza, qabul 10:00. Kelasizmi?"


@pytest.fixture
def staffed() -> Staffed:
    return build_staffed()


def local(staffed: Staffed, days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.now().astimezone(staffed.clinic.tz).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=staffed.clinic.tz)


def made(
    staffed: Staffed, when: datetime, status: str, channel: str = "sms", n: int = 1, **more: object
) -> None:
    for _ in range(n):
        delivery(
            clinic=staffed.clinic,
            kind=Kind.REMINDER,
            channel=channel,
            recipient=staffed.patient,
            status=status,
            when=when,
            text=TEXT,
            **more,  # type: ignore[arg-type]
        )


def cells(html: str, channel: str, status: str) -> list[str]:
    """The numbers of one column of one channel's table, the latest day first, then the total."""
    table = html.split(f'data-channel="{channel}"')[1].split("</table>")[0]
    return re.findall(rf'data-status="{status}">(?:<strong>)?(\d+)<', table)


def test_counts_per_channel_and_day_in_the_clinics_time(staffed: Staffed, client: Client) -> None:
    made(
        staffed, local(staffed, 0, 0, 30), DeliveryStatus.DELIVERED, n=3
    )  # early this morning, Tashkent time
    made(staffed, local(staffed, 0, 10), DeliveryStatus.SENT, n=2)
    made(staffed, local(staffed, 0, 11), DeliveryStatus.FAILED, reason="timeout")
    made(staffed, local(staffed, 1, 23, 30), DeliveryStatus.DELIVERED)  # yesterday late: still yesterday
    made(staffed, local(staffed, 1, 12), DeliveryStatus.SKIPPED, reason="no consent to SMS")
    made(staffed, local(staffed, 2, 9), DeliveryStatus.DELIVERED, channel="telegram", n=4)
    made(staffed, local(staffed, 0, 9), DeliveryStatus.QUEUED)  # still waiting: not counted yet
    made(staffed, local(staffed, 14, 9), DeliveryStatus.FAILED, reason="old")  # before the 14 days
    other = build_staffed()
    delivery(clinic=other.clinic, channel="sms", recipient=other.patient, status=DeliveryStatus.FAILED)
    staffed.client(client, StaffRole.MANAGER)

    response = client.get(reverse("messages:deliveries"), headers=ENGLISH)

    html = response.content.decode()
    assert response.status_code == 200
    zeros = ["0"] * 12
    assert cells(html, "sms", "delivered") == ["3", "1", *zeros, "4"]
    assert cells(html, "sms", "sent") == ["2", "0", *zeros, "2"]
    assert cells(html, "sms", "failed") == ["1", "0", *zeros, "1"]
    assert cells(html, "sms", "skipped") == ["0", "1", *zeros, "1"]
    assert cells(html, "telegram", "delivered") == ["0", "0", "4", *zeros[1:], "4"]
    assert 'data-channel="email"' not in html  # a channel nobody used is left out
    assert "timeout" in html and "old" not in html.split("Why messages failed")[1].split("</table>")[0]


def test_failures_are_grouped_by_their_reason(staffed: Staffed, client: Client) -> None:
    made(staffed, local(staffed, 0, 10), DeliveryStatus.FAILED, n=3, reason="gateway answered 503")
    made(staffed, local(staffed, 1, 10), DeliveryStatus.FAILED, reason="number rejected")
    made(staffed, local(staffed, 1, 10), DeliveryStatus.FAILED, channel="telegram", reason="bot blocked")
    staffed.client(client, StaffRole.ADMINISTRATOR)

    html = client.get(reverse("messages:deliveries"), headers=ENGLISH).content.decode()

    reasons = html.split("Why messages failed")[1].split("</table>")[0]
    rows = reasons.split("<tr>")[2:]
    assert "gateway answered 503" in rows[0] and ">3<" in rows[0]  # the most frequent first
    assert any("bot blocked" in row and "Telegram" in row for row in rows)
    assert len(rows) == 3


def test_the_dashboard_shows_no_patient(staffed: Staffed, client: Client) -> None:
    made(staffed, local(staffed, 0, 10), DeliveryStatus.FAILED, reason="timeout")
    made(staffed, local(staffed, 0, 10), DeliveryStatus.DELIVERED)
    staffed.client(client, StaffRole.ADMINISTRATOR)

    html = client.get(reverse("messages:deliveries"), headers=ENGLISH).content.decode()

    for personal in (
        "Yuldasheva",
        "Dilnoza",
        "+998901112233",
        "998 90",
        "Kelasizmi",
        str(staffed.patient.number),
    ):
        assert personal not in html, personal
    assert not AuditEntry.objects.filter(action="view").exists()  # nothing about a patient was read


def test_the_administrator_sends_a_failed_delivery_again_once(staffed: Staffed, client: Client) -> None:
    made(staffed, local(staffed, 0, 10), DeliveryStatus.FAILED, reason="timeout")
    failed = Delivery.objects.get()
    staffed.client(client, StaffRole.ADMINISTRATOR)
    url = reverse("messages:resend", kwargs={"pk": failed.pk})

    response = client.post(url, headers=ENGLISH)

    assert response.status_code == 302 and response["Location"] == reverse("messages:deliveries")
    again = Delivery.objects.exclude(pk=failed.pk).get()
    assert again.status == DeliveryStatus.QUEUED and again.channel == "sms" and again.text == TEXT
    assert again.idempotency_key.endswith(":resend-1")
    page = client.get(reverse("messages:deliveries"), headers=ENGLISH).content.decode()
    assert f"Delivery {failed.pk} is sent again as {again.pk}." in page and "sent again" in page

    twice = client.post(url, headers=ENGLISH)
    assert twice.status_code == 409 and Delivery.objects.count() == 2


def test_only_a_failed_delivery_of_the_clinic_is_sent_again(staffed: Staffed, client: Client) -> None:
    made(staffed, local(staffed, 0, 10), DeliveryStatus.DELIVERED)
    delivered = Delivery.objects.get()
    other = build_staffed()
    foreign = delivery(clinic=other.clinic, recipient=other.patient, status=DeliveryStatus.FAILED)
    staffed.client(client, StaffRole.ADMINISTRATOR)

    not_failed = client.post(reverse("messages:resend", kwargs={"pk": delivered.pk}), headers=ENGLISH)
    not_ours = client.post(reverse("messages:resend", kwargs={"pk": foreign.pk}), headers=ENGLISH)

    assert not_failed.status_code == 409 and "Only a failed delivery" in not_failed.content.decode()
    assert not_ours.status_code == 404
    assert Delivery.objects.count() == 2


@pytest.mark.parametrize(
    ("role", "sees", "resends"),
    [
        (StaffRole.ADMINISTRATOR, 200, 302),
        (StaffRole.MANAGER, 200, 403),  # managers watch; sending again is the administrator's decision
        (StaffRole.OPERATOR, 403, 403),
        (StaffRole.REGISTRAR, 403, 403),
        (StaffRole.DENTIST, 403, 403),
    ],
)
def test_who_sees_the_dashboard_and_who_sends_again(
    staffed: Staffed, client: Client, role: StaffRole, sees: int, resends: int
) -> None:
    made(staffed, local(staffed, 0, 10), DeliveryStatus.FAILED, reason="timeout")
    failed = Delivery.objects.get()
    staffed.client(client, role)

    page = client.get(reverse("messages:deliveries"), headers=ENGLISH)
    again = client.post(reverse("messages:resend", kwargs={"pk": failed.pk}))

    assert (page.status_code, again.status_code) == (sees, resends)
    assert ("Send again" in page.content.decode()) == (role == StaffRole.ADMINISTRATOR)
    assert Delivery.objects.count() == (2 if resends == 302 else 1)


@pytest.mark.parametrize(
    ("role", "to"),
    [
        (StaffRole.OPERATOR, "messages:inbox"),
        (StaffRole.REGISTRAR, "messages:inbox"),
        (StaffRole.MANAGER, "messages:deliveries"),
    ],
)
def test_the_messages_address_leads_each_role_to_its_page(
    staffed: Staffed, client: Client, role: StaffRole, to: str
) -> None:
    staffed.client(client, role)

    response = client.get(reverse("messages:home"))

    assert response.status_code == 302 and response["Location"] == reverse(to)
