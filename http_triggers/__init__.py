"""HTTP triggers, one blueprint per concern: the mobile app's orders, the staff's approval, list
and console, and the generated OpenAPI document of them all."""
