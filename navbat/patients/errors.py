"""Error codes of the registry services, and the identifier rules' messages in the user's language."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class PatientErrorCode(StrEnum):
    BAD_PHONE = "bad_phone"
    PHONE_REQUIRED = "phone_required"
    PHONE_LIMIT = "phone_limit"
    BAD_IDENTIFIER = "bad_identifier"
    IDENTIFIER_TAKEN = "identifier_taken"
    POSSIBLE_DUPLICATE = "possible_duplicate"
    INVALID = "invalid"
    NOT_EDITABLE = "not_editable"
    FLAG_NEEDS_REASON = "flag_needs_reason"
    MERGE_SAME = "merge_same"
    MERGE_INACTIVE = "merge_inactive"
    REASON_REQUIRED = "reason_required"
    GUARDIAN_SELF = "guardian_self"
    BIRTH_DATE_IN_FUTURE = "birth_date_in_future"


# The pure identifiers module names its rules by code; these are the words people read.
IDENTIFIER_MESSAGES = {
    "invalid": _("This identifier is not valid."),
    "not_digits": _("The %(name)s may contain only digits, spaces, dashes and dots."),
    "wrong_length": _("The %(name)s must have %(expected)d digits; this one has %(length)d."),
    "bad_century": _("The first digit of the %(name)s must be from 1 to 8."),
    "bad_birth_date": _("This %(name)s encodes a date of birth that does not exist."),
    "bad_check_digit": _("This %(name)s fails its check-digit test; please look for a typing error."),
    "birth_date_mismatch": _("The date of birth in this %(name)s is not the patient's date of birth."),
    "sex_mismatch": _("The sex encoded in this %(name)s is not the patient's sex."),
}
