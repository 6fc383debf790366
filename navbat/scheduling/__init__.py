"""The pure scheduling core: intervals, working plans and slot search.

No Django, no database, no clock, no settings: services load the data, call these functions with
`now` and the clinic's time zone, and persist the answer. All datetimes it returns are in UTC.
"""

from navbat.scheduling.intervals import Interval, clip, covers, intersect, normalize, subtract, union
from navbat.scheduling.plans import (
    DateException,
    ExceptionKind,
    WeeklyPlan,
    WeeklyRule,
    local_span,
    working_time,
)
from navbat.scheduling.slots import (
    ChairSchedule,
    DentistSchedule,
    Slot,
    SlotRequest,
    TimeWindow,
    Wishes,
    check_slot,
    find_slots,
)

__all__ = [
    "ChairSchedule",
    "DateException",
    "DentistSchedule",
    "ExceptionKind",
    "Interval",
    "Slot",
    "SlotRequest",
    "TimeWindow",
    "WeeklyPlan",
    "WeeklyRule",
    "Wishes",
    "check_slot",
    "clip",
    "covers",
    "find_slots",
    "intersect",
    "local_span",
    "normalize",
    "subtract",
    "union",
    "working_time",
]
