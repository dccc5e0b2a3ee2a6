"""The audit trail, read by supervisors."""
