"""Reads for the staff pages of messages: the calls to make, the inbox, the templates, the delivery dashboard.

The dashboard's reads return counts, reasons and delivery numbers only — never a patient, an address or a
text: administrators and managers, who see it, may not see patient data (accounts/roles.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate

from navbat.clinic.models import Clinic
from navbat.notify.models import (
    CallOutcome,
    CallTask,
    Delivery,
    DeliveryStatus,
    InboundMessage,
    Kind,
    MessageTemplate,
)
from navbat.notify.rendering import DEFAULT_WORDING
from navbat.patients.models import ContactChannel, Language, Patient

# A call whose delivery ended some other way (the visit was cancelled, a reply came first) is not made.
LIVE_DELIVERY = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT)
DASHBOARD_DAYS = 14
# The columns of the dashboard; "waiting" is queued or being sent, "cancelled" is left out (nobody to reach).
DASHBOARD_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.SKIPPED,
)
FAILED_SHOWN = 50


# Calls ------------------------------------------------------------------------------------------------------


def calls_due(*, clinic: Clinic, now: datetime) -> QuerySet[CallTask]:
    """The open calls whose time has come, the longest-waiting first; not about a visit that has begun."""
    return (
        CallTask.objects.filter(
            clinic=clinic,
            outcome=CallOutcome.OPEN,
            call_after__lte=now,
            delivery__status__in=LIVE_DELIVERY,
        )
        .exclude(delivery__notification__appointment__starts_at__lte=now)
        .select_related(
            "delivery__recipient",
            "delivery__notification__appointment__patient",
            "delivery__notification__appointment__dentist__user",
            "delivery__notification__appointment__service",
            "delivery__notification__appointment__chair",
        )
        .order_by("call_after", "pk")
    )


def calls_later(*, clinic: Clinic, now: datetime) -> int:
    """How many open calls wait for a later time (unanswered ones, tried again in an hour or the morning)."""
    return CallTask.objects.filter(
        clinic=clinic, outcome=CallOutcome.OPEN, call_after__gt=now, delivery__status__in=LIVE_DELIVERY
    ).count()


def call_task_of_clinic(*, clinic: Clinic, pk: int) -> CallTask | None:
    return CallTask.objects.filter(clinic=clinic, pk=pk).select_related("delivery__notification").first()


# Inbox ------------------------------------------------------------------------------------------------------


def inbox_messages(*, clinic: Clinic, patients: QuerySet[Patient]) -> QuerySet[InboundMessage]:
    """The replies of the clinic's inbox, handled or not: those it received, and those without a clinic from
    a patient the user may see or from an unknown sender (nobody else would ever read them)."""
    mine = Q(clinic=clinic) | Q(clinic__isnull=True, patient__in=patients.values("pk"))
    mine |= Q(clinic__isnull=True, patient__isnull=True)
    return InboundMessage.objects.filter(mine)


def inbox(*, clinic: Clinic, patients: QuerySet[Patient]) -> QuerySet[InboundMessage]:
    """Replies nobody understood and nobody handled yet, the latest first."""
    return (
        inbox_messages(clinic=clinic, patients=patients)
        .filter(action="", handled_at__isnull=True)
        .select_related(
            "patient", "appointment__dentist__user", "appointment__service", "appointment__clinic"
        )
        .order_by("-received_at", "-pk")
    )


# Templates --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateCell:
    language: str
    custom: MessageTemplate | None  # the clinic's own, or the wording for every clinic; None: built in
    body: str  # the wording in force


@dataclass(frozen=True)
class TemplateRow:
    kind: str
    kind_label: str
    channel: str
    channel_label: str
    cells: tuple[TemplateCell, ...]


def template_rows(*, clinic: Clinic) -> list[TemplateRow]:
    """Every kind × channel, with each language's wording: the clinic's, every clinic's, or built in."""
    custom: dict[tuple[str, str, str], MessageTemplate] = {}
    for template in MessageTemplate.objects.filter(Q(clinic=clinic) | Q(clinic__isnull=True)):
        key = (template.kind, template.channel, template.language)
        if template.clinic_id is not None or key not in custom:  # the clinic's own wins
            custom[key] = template
    return [
        TemplateRow(
            kind=kind.value,
            kind_label=str(kind.label),
            channel=channel.value,
            channel_label=str(channel.label),
            cells=tuple(
                _cell(custom.get((kind.value, channel.value, language)), kind, channel, language)
                for language in Language.values
            ),
        )
        for kind in Kind
        for channel in ContactChannel
    ]


def _cell(custom: MessageTemplate | None, kind: str, channel: str, language: str) -> TemplateCell:
    body = custom.body if custom is not None else DEFAULT_WORDING[(kind, channel, language)].body
    return TemplateCell(language, custom, body)


def template_for(*, clinic: Clinic, kind: str, channel: str, language: str) -> MessageTemplate | None:
    """The wording in force: the clinic's own, else the one for every clinic; None: the built-in one."""
    found = MessageTemplate.objects.filter(kind=kind, channel=channel, language=language)
    return found.filter(clinic=clinic).first() or found.filter(clinic__isnull=True).first()


# The delivery dashboard -----------------------------------------------------------------------------------


@dataclass
class DayCounts:
    day: date
    counts: dict[str, int] = field(default_factory=dict)

    def of(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def cells(self) -> list[tuple[str, int]]:
        """(status, count) in the dashboard's column order."""
        return [(status.value, self.of(status)) for status in DASHBOARD_STATUSES]


@dataclass(frozen=True)
class ChannelDays:
    channel: str
    label: str
    days: tuple[DayCounts, ...]

    def total(self, status: str) -> int:
        return sum(day.of(status) for day in self.days)

    @property
    def totals(self) -> list[tuple[str, int]]:
        return [(status.value, self.total(status)) for status in DASHBOARD_STATUSES]


@dataclass(frozen=True)
class FailureReason:
    channel: str
    reason: str
    count: int

    @property
    def channel_label(self) -> str:
        return str(ContactChannel(self.channel).label)


def dashboard_since(*, clinic: Clinic, today: date) -> datetime:
    """The start of the first day the dashboard shows, in the clinic's time zone."""
    return datetime.combine(today - timedelta(days=DASHBOARD_DAYS - 1), time.min, tzinfo=clinic.tz)


def clinic_deliveries(*, clinic: Clinic) -> QuerySet[Delivery]:
    return Delivery.objects.filter(notification__clinic=clinic)


def delivery_counts(*, clinic: Clinic, today: date) -> list[ChannelDays]:
    """Per channel that was used, per day of the last DASHBOARD_DAYS (the clinic's days), the deliveries made
    that day by their status now: sent (accepted), delivered, failed, skipped."""
    since = dashboard_since(clinic=clinic, today=today)
    rows = (
        clinic_deliveries(clinic=clinic)
        .filter(created_at__gte=since, status__in=DASHBOARD_STATUSES)
        .annotate(day=TruncDate("created_at", tzinfo=clinic.tz))
        .values("channel", "day", "status")
        .annotate(n=Count("pk"))
    )
    counts: dict[str, dict[date, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        counts[row["channel"]][row["day"]][row["status"]] = row["n"]
    days = [today - timedelta(days=back) for back in range(DASHBOARD_DAYS)]  # the latest first
    return [
        ChannelDays(
            channel=channel.value,
            label=str(channel.label),
            days=tuple(DayCounts(day, dict(counts[channel.value].get(day, {}))) for day in days),
        )
        for channel in ContactChannel
        if channel.value in counts
    ]


def failure_reasons(*, clinic: Clinic, today: date) -> list[FailureReason]:
    """The failures of the period, grouped by channel and reason, the most frequent first."""
    rows = (
        clinic_deliveries(clinic=clinic)
        .filter(created_at__gte=dashboard_since(clinic=clinic, today=today), status=DeliveryStatus.FAILED)
        .values("channel", "reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "channel", "reason")
    )
    return [FailureReason(row["channel"], row["reason"], row["n"]) for row in rows]


def was_resent(delivery: Delivery) -> bool:
    """Whether a later delivery of the same message to the same person on the same channel exists: the copy
    resend_delivery makes."""
    return Delivery.objects.filter(
        notification_id=delivery.notification_id,
        channel=delivery.channel,
        recipient_id=delivery.recipient_id,
        pk__gt=delivery.pk,
    ).exists()


def _later_tries() -> QuerySet[Delivery]:
    """was_resent, as a subquery of a list of deliveries."""
    return Delivery.objects.filter(
        notification=OuterRef("notification"),
        channel=OuterRef("channel"),
        recipient=OuterRef("recipient"),
        pk__gt=OuterRef("pk"),
    )


def failed_deliveries(*, clinic: Clinic, today: date) -> QuerySet[Delivery]:
    """The latest failed deliveries of the period, to send again: their number, kind, channel and reason,
    and whether they were sent again already. Only these fields are read (`only`), so that no address or
    text reaches the page."""
    return (
        clinic_deliveries(clinic=clinic)
        .filter(created_at__gte=dashboard_since(clinic=clinic, today=today), status=DeliveryStatus.FAILED)
        .annotate(resent=Exists(_later_tries()))
        .select_related("notification")
        .only(
            "pk",
            "channel",
            "status",
            "reason",
            "attempts",
            "created_at",
            "updated_at",
            "recipient_id",
            "notification__kind",
            "notification__clinic_id",
        )
        .order_by("-updated_at", "-pk")[:FAILED_SHOWN]
    )
