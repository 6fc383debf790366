"""The booking worker's tasks: a waitlist offer that nobody answered ends, and its time goes on."""

from __future__ import annotations

from django_tasks import task

from navbat.booking.models import WaitlistOffer


@task()
def expire_offer(offer_id: int) -> str:
    """Run at the offer's end (scheduled with run_after): expire it and offer the time to the next patient.
    An offer answered meanwhile stays as it is. Returns the offer's status afterwards."""
    from navbat.booking.waitlist import expire_offer_now

    offer = WaitlistOffer.objects.filter(pk=offer_id).first()
    if offer is None:
        return "gone"
    expire_offer_now(offer=offer)
    offer.refresh_from_db(fields=["status"])
    return offer.status
