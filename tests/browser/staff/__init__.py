"""The staff console at ``/api/staff`` in a real browser."""
