"""The staff's side of messages: the calls to make (in the call-centre console), the inbox of replies nobody
understood, the template editor and the delivery dashboard.

Thin, like the console: every view first asks access.py (403), then finds the object among the user's
clinic's (404), calls one service and renders — the whole page, or for htmx the part that changed. Bad input
is answered 400 and a change somebody made meanwhile 409, both with the page part that explains it. The call
list and the inbox show patients, so each showing is put on record; the template editor and the dashboard
show no patient at all (administrators and managers, who use them, may not see patient data).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from navbat.accounts.access import (
    AnyUser,
    can_edit_templates,
    can_make_calls,
    can_read_inbox,
    can_resend,
    can_view_deliveries,
    clinic_of,
    require,
    visible_patients,
)
from navbat.accounts.audit import Actor
from navbat.booking.errors import BookingErrorCode
from navbat.booking.services import record_board_view
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.notify import selectors
from navbat.notify.calls import QUESTIONS, CallErrorCode, record_call_outcome
from navbat.notify.inbox import InboxErrorCode, Step, handle_reply
from navbat.notify.models import CallOutcome, CallTask, DeliveryStatus, Kind, MessageTemplate
from navbat.notify.rendering import DEFAULT_WORDING, check_template, render_message, sample_context
from navbat.notify.segments import count_segments
from navbat.notify.staff_forms import CallOutcomeForm, ReplyForm, TemplateForm
from navbat.notify.wording import is_template_address, reset_template, save_template
from navbat.patients.models import ContactChannel, Language

# What the call list and the inbox show of each patient, as the audit log names it.
CALL_FIELDS = ("name", "phone", "appointments", "messages")
INBOX_FIELDS = ("name", "inbound_messages", "appointments")
# Channels whose texts are billed per SMS: the editor counts their segments.
SEGMENTED = frozenset({ContactChannel.SMS})


def _clinic(user: AnyUser, allowed: bool) -> Clinic:
    require(allowed)
    clinic = clinic_of(user)
    assert clinic is not None  # every can_… of this module says so
    return clinic


def _partial(request: HttpRequest) -> bool:
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _show(
    request: HttpRequest, template: str, context: dict[str, Any], part: str, status: int = 200
) -> HttpResponse:
    """The whole page, or for htmx only `part` of it."""
    name = f"{template}#{part}" if _partial(request) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


# Calls to make (console:calls) ----------------------------------------------------------------------------

CALLS = "notify/calls.html"


def _calls_page(request: HttpRequest, clinic: Clinic, **parts: Any) -> dict[str, Any]:
    """The calls whose time has come, put on record as read (names, phones, visits, the texts)."""
    now = timezone.now()
    tasks = list(selectors.calls_due(clinic=clinic, now=now))
    shown: set[int] = set()
    for task in tasks:
        appointment = task.delivery.notification.appointment
        shown.update(pk for pk in (task.delivery.recipient_id, appointment and appointment.patient_id) if pk)
    if shown:
        record_board_view(actor=Actor.of(request), patient_ids=shown, fields=CALL_FIELDS, note="call list")
    return {
        "clinic": clinic,
        "tasks": tasks,
        "questions": {str(kind) for kind in QUESTIONS},
        "later": selectors.calls_later(clinic=clinic, now=now),
        **parts,
    }


@login_required
@never_cache
@require_GET
def calls(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request.user, can_make_calls(request.user))
    return _show(request, CALLS, _calls_page(request, clinic), "calls")


@login_required
@never_cache
@require_POST
def call_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    """Record what came of one call; the list comes back without it (or with it later, if unanswered)."""
    clinic = _clinic(request.user, can_make_calls(request.user))
    task = selectors.call_task_of_clinic(clinic=clinic, pk=pk)
    if task is None:
        raise Http404(_("No such call."))
    form = CallOutcomeForm(request.POST)
    if not form.is_valid():
        refusal = _("Choose what came of the call.")
        return _show(request, CALLS, _calls_page(request, clinic, refusal=refusal), "calls", status=400)
    try:
        task = record_call_outcome(
            task=task,
            outcome=form.cleaned_data["outcome"],
            actor=Actor.of(request),
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        status = 409 if error.code in _CONFLICTS else 400
        return _show(
            request, CALLS, _calls_page(request, clinic, refusal=str(error.message)), "calls", status=status
        )
    messages.success(request, _recorded(task))
    if not _partial(request):
        return redirect("console:calls")
    return _show(request, CALLS, _calls_page(request, clinic, focus_message=True), "calls")


# Somebody (or the patient himself) changed the call, the reply or the visit meanwhile.
_CONFLICTS = frozenset(
    {CallErrorCode.NOT_OPEN, InboxErrorCode.ALREADY_HANDLED, BookingErrorCode.INVALID_TRANSITION}
)


def _recorded(task: CallTask) -> str:
    if task.outcome == CallOutcome.OPEN:
        return _("No answer: the call comes back on the list at %(time)s.") % {
            "time": timezone.localtime(task.call_after, task.clinic.tz).strftime("%H:%M")
        }
    if task.outcome == CallOutcome.GAVE_UP:
        return _("No answer again: the call is given up.")
    return _("Recorded: %(outcome)s.") % {"outcome": task.get_outcome_display()}


# The inbox of replies (messages:inbox) ---------------------------------------------------------------------

INBOX = "notify/inbox.html"


def _inbox_page(request: HttpRequest, clinic: Clinic, **parts: Any) -> dict[str, Any]:
    rows = list(selectors.inbox(clinic=clinic, patients=visible_patients(request.user)))
    shown = {row.patient_id for row in rows if row.patient_id}
    if shown:
        actor = Actor.of(request)
        record_board_view(actor=actor, patient_ids=shown, fields=INBOX_FIELDS, note="replies inbox")
    return {"clinic": clinic, "replies": rows, **parts}


@login_required
@never_cache
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request.user, can_read_inbox(request.user))
    return _show(request, INBOX, _inbox_page(request, clinic), "replies")


@login_required
@never_cache
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one reply handled, confirming or cancelling the visit it answers if asked to."""
    clinic = _clinic(request.user, can_read_inbox(request.user))
    message = (
        selectors.inbox_messages(clinic=clinic, patients=visible_patients(request.user)).filter(pk=pk).first()
    )
    if message is None:
        raise Http404(_("No such reply."))
    form = ReplyForm(request.POST)
    if not form.is_valid():
        refusal = _("Choose what to do with the reply.")
        return _show(request, INBOX, _inbox_page(request, clinic, refusal=refusal), "replies", status=400)
    try:
        handle_reply(message=message, step=form.cleaned_data["step"], actor=Actor.of(request))
    except DomainError as error:
        status = 409 if error.code in _CONFLICTS else 400
        context = _inbox_page(request, clinic, refusal=str(error.message))
        return _show(request, INBOX, context, "replies", status=status)
    messages.success(request, _handled(form.cleaned_data["step"]))
    if not _partial(request):
        return redirect("messages:inbox")
    return _show(request, INBOX, _inbox_page(request, clinic), "replies")


def _handled(step: str) -> str:
    if step == Step.CONFIRM:
        return _("The visit is confirmed and the reply handled.")
    if step == Step.CANCEL:
        return _("The visit is cancelled and the reply handled.")
    return _("The reply is marked handled.")


# Templates (messages:templates) ----------------------------------------------------------------------------

TEMPLATES = "notify/templates.html"
EDITOR = "notify/template_edit.html"


@login_required
@never_cache
@require_GET
def templates(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request.user, can_edit_templates(request.user))
    context = {"clinic": clinic, "rows": selectors.template_rows(clinic=clinic)}
    return render(request, TEMPLATES, context)


def _address(kind: str, channel: str, language: str) -> None:
    if not is_template_address(kind, channel, language):
        raise Http404(_("No such message."))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, kind: str, channel: str, language: str) -> HttpResponse:
    """The wording of one kind × channel × language: the form, the live preview; saved only if it works."""
    clinic = _clinic(request.user, can_edit_templates(request.user))
    _address(kind, channel, language)
    address = {"kind": kind, "channel": channel, "language": language}
    current = selectors.template_for(clinic=clinic, **address)
    if request.method == "POST":
        form = TemplateForm(request.POST, initial=address)
        if form.is_valid() and _same_address(form, address):
            data = form.cleaned_data
            subject = data["subject"] if channel == ContactChannel.EMAIL else ""
            try:
                save_template(
                    clinic=clinic, **address, subject=subject, body=data["body"], user=_user(request)
                )
            except DomainError as error:
                form.add_error("body", list(error.details.get("errors", [str(error.message)])))
            else:
                messages.success(request, _("The wording is saved: the next messages use it."))
                return redirect("messages:template_edit", kind=kind, channel=channel, language=language)
        context = _editor(clinic, form, current, address)
        return render(request, EDITOR, context, status=400)
    source = current or DEFAULT_WORDING[(kind, channel, language)]
    form = TemplateForm(initial={**address, "subject": source.subject, "body": source.body})
    return render(request, EDITOR, _editor(clinic, form, current, address))


def _same_address(form: TemplateForm, address: dict[str, str]) -> bool:
    same = all(form.cleaned_data[key] == value for key, value in address.items())
    if not same:
        form.add_error(None, _("The form belongs to another message: open it again."))
    return same


def _editor(
    clinic: Clinic, form: TemplateForm, current: MessageTemplate | None, address: dict[str, str]
) -> dict[str, Any]:
    subject = str(form["subject"].value() or "")
    body = str(form["body"].value() or "")
    return {
        "clinic": clinic,
        "form": form,
        "current": current,
        "own": current is not None and current.clinic_id == clinic.pk,
        "is_email": address["channel"] == ContactChannel.EMAIL,
        "preview": _preview(clinic=clinic, subject=subject, body=body, **address),
        "kind_label": Kind(address["kind"]).label,
        "channel_label": ContactChannel(address["channel"]).label,
        "language_label": Language(address["language"]).label,
        "placeholders": sorted(sample_context(address["kind"], address["language"])),
        **address,
    }


def _preview(
    *, clinic: Clinic, kind: str, channel: str, language: str, subject: str, body: str
) -> dict[str, Any]:
    """The text as a patient would get it, filled in with invented values; or what is wrong with it."""
    errors = check_template(subject=subject, body=body, kind=kind, channel=channel, language=language)
    preview: dict[str, Any] = {"errors": errors, "channel": channel}
    if errors:
        return preview
    # An unsaved template: the preview renders what is typed, not what is stored.
    draft = MessageTemplate(kind=kind, channel=channel, language=language, subject=subject, body=body)
    rendered = render_message(
        kind=kind,
        channel=channel,
        language=language,
        context=sample_context(kind, language),
        clinic=clinic,
        template=draft,
    )
    preview.update(subject=rendered.subject, text=rendered.text)
    if channel in SEGMENTED:
        preview["segments"] = count_segments(rendered.text)
    return preview


@login_required
@never_cache
@require_POST
def template_preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx, as the administrator types): the filled-in text, the SMS count, the errors."""
    clinic = _clinic(request.user, can_edit_templates(request.user))
    # Only the address must be valid; an empty or broken text is what the preview is there to show.
    address = {key: request.POST.get(key, "") for key in ("kind", "channel", "language")}
    if not is_template_address(**address):
        return render(request, f"{EDITOR}#preview", {"preview": None, "bad_address": True}, status=400)
    subject = request.POST.get("subject", "") if address["channel"] == ContactChannel.EMAIL else ""
    preview = _preview(clinic=clinic, subject=subject, body=request.POST.get("body", ""), **address)
    return render(request, f"{EDITOR}#preview", {"preview": preview})


@login_required
@never_cache
@require_POST
def template_reset(request: HttpRequest, kind: str, channel: str, language: str) -> HttpResponse:
    clinic = _clinic(request.user, can_edit_templates(request.user))
    _address(kind, channel, language)
    if reset_template(clinic=clinic, kind=kind, channel=channel, language=language):
        messages.success(request, _("The clinic’s own wording is removed: the built-in one is used again."))
    return redirect("messages:template_edit", kind=kind, channel=channel, language=language)


# The delivery dashboard (messages:deliveries) ---------------------------------------------------------------

DASHBOARD = "notify/dashboard.html"


def _dashboard(request: HttpRequest, clinic: Clinic, **parts: Any) -> dict[str, Any]:
    today = timezone.now().astimezone(clinic.tz).date()
    return {
        "clinic": clinic,
        "channels": selectors.delivery_counts(clinic=clinic, today=today),
        "statuses": [DeliveryStatus(status) for status in selectors.DASHBOARD_STATUSES],
        "reasons": selectors.failure_reasons(clinic=clinic, today=today),
        "failed": list(selectors.failed_deliveries(clinic=clinic, today=today)),
        "days": selectors.DASHBOARD_DAYS,
        "may_resend": can_resend(request.user),
        **parts,
    }


@login_required
@never_cache
@require_GET
def deliveries(request: HttpRequest) -> HttpResponse:
    """Counts per channel and day, failures with their reasons, failed deliveries to resend: no people."""
    clinic = _clinic(request.user, can_view_deliveries(request.user))
    return render(request, DASHBOARD, _dashboard(request, clinic))


@login_required
@never_cache
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a failed delivery again (a new delivery of the same message): the administrator's decision."""
    clinic = _clinic(request.user, can_resend(request.user))
    delivery = selectors.clinic_deliveries(clinic=clinic).filter(pk=pk).first()
    if delivery is None:
        raise Http404(_("No such delivery."))
    if delivery.status != DeliveryStatus.FAILED:
        refusal = _("Only a failed delivery can be sent again.")
        return render(request, DASHBOARD, _dashboard(request, clinic, refusal=refusal), status=409)
    if selectors.was_resent(delivery):  # a second click, or another administrator meanwhile
        refusal = _("This delivery has already been sent again.")
        return render(request, DASHBOARD, _dashboard(request, clinic, refusal=refusal), status=409)
    from navbat.notify.services import resend_delivery  # the notification services import the booking hooks

    again = resend_delivery(delivery=delivery, actor=Actor.of(request))
    messages.success(request, _("Delivery %(old)s is sent again as %(new)s.") % {"old": pk, "new": again.pk})
    return redirect("messages:deliveries")


@login_required
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """/messages/: the page of messages the user works with."""
    user = request.user
    if can_read_inbox(user):
        return redirect("messages:inbox")
    require(can_view_deliveries(user))
    return redirect("messages:deliveries")
