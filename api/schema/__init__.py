"""Strawberry types and root fields: they declare, resolvers decide."""
