"""A slot is never offered to two people at once: concurrent offers of one freed time, each on its own
connection (PostgreSQL: the hold's exclusion constraints and the entry's row lock; SQLite: the serialised
write transaction)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections

from navbat.booking import waitlist
from navbat.booking.models import OfferStatus, SlotHold, WaitlistOffer
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

OFFERERS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_offers_of_one_freed_time_make_exactly_one_live_offer(small_clinic: SmallClinic) -> None:
    c = small_clinic
    for n in range(4):
        waitlist.join_waitlist(
            patient=factories.PatientFactory(clinic=c.clinic),
            service=c.therapy,
            date_from=MONDAY,
            date_to=MONDAY + timedelta(days=6),
            now=NOW - timedelta(days=n + 1),
        )
    start_together = threading.Barrier(OFFERERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def offerer() -> None:
        try:
            start_together.wait()
            offer = waitlist.offer_freed_time(
                clinic=c.clinic,
                dentist=c.first,
                chair=c.chair_plain,
                start=at(MONDAY, 10),
                end=at(MONDAY, 10, 30),
                now=NOW,
            )
            outcome = "offered" if offer is not None else "none"
        except Exception as error:  # anything else is a bug the test must show, not hide
            outcome = f"crash: {type(error).__name__}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=offerer) for _ in range(OFFERERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == ["none"] * (OFFERERS - 1) + ["offered"]
    live = WaitlistOffer.objects.filter(status=OfferStatus.OFFERED)
    assert live.count() == 1
    assert SlotHold.objects.count() == 1
    assert SlotHold.objects.get().pk == live.get().hold_id
