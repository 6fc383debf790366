"""Date formats per language (settings.FORMAT_MODULE_PATH), where Django's own are wrong for us; a format a
module here does not set is Django's.

Uzbek writes a date year first with the month in lower case: "2027-yil 1-mart" (Django's uz formats give
"1-Mart, 2027-yil"). The month's name in a date is the `E` date format, which reads Django's "alt. month"
translations; these msgids put the lower-case names into our catalogue, which takes precedence over Django's.
Russian keeps Django's genitive names ("1 марта"): its catalogue repeats them.
"""

from django.utils.translation import pgettext_lazy

MONTHS_IN_A_DATE = (
    pgettext_lazy("alt. month", "January"),
    pgettext_lazy("alt. month", "February"),
    pgettext_lazy("alt. month", "March"),
    pgettext_lazy("alt. month", "April"),
    pgettext_lazy("alt. month", "May"),
    pgettext_lazy("alt. month", "June"),
    pgettext_lazy("alt. month", "July"),
    pgettext_lazy("alt. month", "August"),
    pgettext_lazy("alt. month", "September"),
    pgettext_lazy("alt. month", "October"),
    pgettext_lazy("alt. month", "November"),
    pgettext_lazy("alt. month", "December"),
)
