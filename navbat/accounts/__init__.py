"""Staff roles, sign-in and (later) the audit log."""
