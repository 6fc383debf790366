"""Shared test set-up. Tests that touch the database are marked `database` so CI can run them again on
PostgreSQL (`pytest -m database` with DATABASE_URL=postgres://…)."""

from __future__ import annotations

import pytest

from tests.small_clinic import SmallClinic, build_small_clinic

DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_setup",
    "django_db_blocker",
    "client",
    "admin_client",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & DATABASE_FIXTURES:
            item.add_marker(pytest.mark.database)


@pytest.fixture
def small_clinic(db: None) -> SmallClinic:
    """Two therapists, two chairs (one with X-ray), Mon–Fri 09:00–18:00 from 2027 on."""
    return build_small_clinic()
