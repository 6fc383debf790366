"""The "call" channel: a person phones the patient. Sending opens a call task in the operator console.

The delivery is not delivered by sending (Sent(delivered=False)): it is when the operator records the answer
(notify.calls.record_call_outcome), or failed when nobody answered after the clinic's number of attempts.
"""

from __future__ import annotations

from navbat.notify.calls import open_call_task
from navbat.notify.channels.base import Outgoing, PermanentFailure, Sent
from navbat.notify.models import Delivery


class CallChannel:
    def send(self, message: Outgoing) -> Sent:
        if message.delivery_id is None:
            raise PermanentFailure("a call needs its delivery")
        delivery = (
            Delivery.objects.select_related("notification__clinic").filter(pk=message.delivery_id).first()
        )
        if delivery is None:
            raise PermanentFailure("no such delivery")
        if not message.to:
            raise PermanentFailure("no phone number")
        task = open_call_task(delivery=delivery)
        return Sent(provider_id=f"call-{task.pk}", delivered=False)
