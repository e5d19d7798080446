"""Pydantic contracts for everything that crosses a boundary of the order app."""
