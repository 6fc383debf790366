"""Error codes the booking services answer with (stable: clients match on them)."""

from enum import StrEnum


class BookingErrorCode(StrEnum):
    SLOT_TAKEN = "slot_taken"
    SLOT_UNAVAILABLE = "slot_unavailable"
    INVALID_TRANSITION = "invalid_transition"
    SERVICE_NOT_FOR_AGE = "service_not_for_age"
    WRONG_CLINIC = "wrong_clinic"
    NAIVE_DATETIME = "naive_datetime"
    IN_THE_PAST = "in_the_past"
    NATIONAL_ID_REQUIRED = "national_id_required"


class TransferErrorCode(StrEnum):
    """Refusals of booking.transfer (a booking given to another patient by staff)."""

    REASON_REQUIRED = "reason_required"
    SAME_PATIENT = "same_patient"
    PATIENT_INACTIVE = "patient_inactive"
    PATIENT_BUSY = "patient_busy"
