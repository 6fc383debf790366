from django import forms
from django.utils.translation import gettext_lazy as _

from navbat.accounts.services import normalise_token


class CodeForm(forms.Form):
    """One code: six digits from the authenticator app, or a recovery code."""

    token = forms.CharField(
        label=_("Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )

    def clean_token(self) -> str:
        token = normalise_token(self.cleaned_data["token"])
        if not token.isalnum():
            raise forms.ValidationError(_("A code has only digits and letters."))
        return token
