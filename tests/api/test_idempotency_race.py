"""A client that retries at once (a timeout, a double tap): the same Idempotency-Key sent by 8 requests at the
same moment, each on its own database connection. One books; all 8 get its answer."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from navbat.booking.models import Appointment
from navbat.booking.statuses import Status
from tests.api.conftest import ApiClient, build_api_world

REQUESTS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_book_once_and_get_one_answer() -> None:
    world = build_api_world()
    token = world.token("operator")
    body = {"patient": world.patient.pk, "service": "checkup", "start": world.at(1, 10).isoformat()}
    start_together = threading.Barrier(REQUESTS)
    answers: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def retry() -> None:
        try:
            client = ApiClient(token)
            start_together.wait()
            response = client.post("/appointments", body, **{"Idempotency-Key": "double-tap"})
            answer = (response.status_code, response.content)
        except Exception as error:  # a crash must show in the answers, not vanish with the thread
            answer = (0, repr(error).encode())
        finally:
            connections.close_all()
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=retry) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == REQUESTS
    assert {status for status, _ in answers} == {201}, answers
    assert len({content for _, content in answers}) == 1
    assert Appointment.objects.filter(status=Status.BOOKED).count() == 1
