"""Inventory ordering tests (issue 18)."""
