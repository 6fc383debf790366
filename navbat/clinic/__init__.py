"""Clinics, departments, staff, specialties, chairs, equipment, services and working plans."""
