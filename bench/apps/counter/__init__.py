"""The entity benchmark app; the host loads its ``function_app`` from this folder."""
