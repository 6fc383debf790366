"""Forms of the staff pages of messages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from navbat.notify.calls import OUTCOMES
from navbat.notify.inbox import Step
from navbat.notify.models import CallOutcome, Kind
from navbat.patients.models import ContactChannel, Language


class CallOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("What came of the call"),
        choices=[(value, label) for value, label in CallOutcome.choices if value in OUTCOMES],
        error_messages={"required": _("Choose what came of the call.")},
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ReplyForm(forms.Form):
    step = forms.ChoiceField(
        choices=[(step.value, step.value) for step in Step],
        error_messages={"required": _("Choose what to do with the reply.")},
    )


class TemplateForm(forms.Form):
    """A wording: subject (e-mail only) and text. The kind, channel and language travel with it for the
    live preview, which renders what is typed before it is saved."""

    kind = forms.ChoiceField(choices=Kind.choices, widget=forms.HiddenInput)
    channel = forms.ChoiceField(choices=ContactChannel.choices, widget=forms.HiddenInput)
    language = forms.ChoiceField(choices=Language.choices, widget=forms.HiddenInput)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Text"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "true"}),
        error_messages={"required": _("The text is empty.")},
    )
