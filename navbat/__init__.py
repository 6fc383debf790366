"""navbat: appointments and the patient queue for dental clinics."""
