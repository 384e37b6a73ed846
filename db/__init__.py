"""Persistence: SQLAlchemy models, sessions, migrations and seed data."""
