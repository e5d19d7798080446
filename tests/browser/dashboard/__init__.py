"""The host's dashboard at ``/_devhost/``, driven in Chromium."""
