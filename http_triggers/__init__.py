"""HTTP triggers, one blueprint per audience: the mobile app (orders) and staff (approval)."""
