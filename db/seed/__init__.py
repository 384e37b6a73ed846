"""Seed data: `medspa-api seed demo` (DESIGN §8)."""
