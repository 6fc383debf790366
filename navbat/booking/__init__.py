"""Appointments, their history, and the booking services."""
