"""Slot holds: a time kept for a patient for a few minutes while he confirms it online (booking.holds).

On PostgreSQL, EXCLUDE USING gist forbids two overlapping holds of one dentist or one chair, as migration 0002
does for appointments; a hold has no status, so the constraint covers every row, and booking.holds deletes
the expired overlapping rows before it writes a new one. SQLite has no such constraint: there the
serialised (BEGIN IMMEDIATE) transaction of place_hold checks before it writes.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CONSTRAINTS = {"slot_hold_no_dentist_overlap": "dentist_id", "slot_hold_no_chair_overlap": "chair_id"}


def add_constraints(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in CONSTRAINTS.items():
        schema_editor.execute(
            f"ALTER TABLE booking_slothold ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
        )


def drop_constraints(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE booking_slothold DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0002_no_overlap"),
        ("clinic", "0002_network_and_registry_settings"),
        ("patients", "0002_registry"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SlotHold",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("starts_at", models.DateTimeField(verbose_name="starts at")),
                ("ends_at", models.DateTimeField(verbose_name="ends at")),
                ("expires_at", models.DateTimeField(verbose_name="held until")),
                ("urgent", models.BooleanField(default=False, verbose_name="urgent")),
                ("notes", models.TextField(blank=True, verbose_name="notes")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                (
                    "chair",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="clinic.chair",
                        verbose_name="chair",
                    ),
                ),
                (
                    "clinic",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="clinic.clinic",
                        verbose_name="clinic",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "dentist",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="clinic.staffmember",
                        verbose_name="dentist",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="slot_holds",
                        to="patients.patient",
                        verbose_name="patient",
                    ),
                ),
                (
                    "service",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="clinic.service",
                        verbose_name="service",
                    ),
                ),
            ],
            options={
                "verbose_name": "held time",
                "verbose_name_plural": "held times",
                "ordering": ["starts_at"],
                "indexes": [
                    models.Index(fields=["dentist", "starts_at"], name="booking_slo_dentist_68c61f_idx"),
                    models.Index(fields=["chair", "starts_at"], name="booking_slo_chair_i_edbb3e_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("patient",), name="slot_hold_one_per_patient"),
                    models.CheckConstraint(
                        condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                        name="slot_hold_ends_after_start",
                    ),
                ],
            },
        ),
        migrations.RunPython(add_constraints, drop_constraints, elidable=False),
    ]
