"""Invariant 1 on PostgreSQL: never two active appointments overlapping for one dentist, chair or patient.

EXCLUDE USING gist over (id WITH =, period WITH &&) for the statuses that occupy time. SQLite has no such
constraint: there the booking service's serialised (BEGIN IMMEDIATE) transaction checks before it writes.
The list of statuses is written out here on purpose: a migration records the rule as it was when it ran.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

ACTIVE = "('pending', 'booked', 'arrived', 'checked-in', 'fulfilled')"
CONSTRAINTS = {
    "appointment_no_dentist_overlap": "dentist_id",
    "appointment_no_chair_overlap": "chair_id",
    "appointment_no_patient_overlap": "patient_id",
}


def add_constraints(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in CONSTRAINTS.items():
        schema_editor.execute(
            f"ALTER TABLE booking_appointment ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN {ACTIVE})"
        )


def drop_constraints(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE booking_appointment DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        migrations.RunPython(add_constraints, drop_constraints, elidable=False),
    ]
