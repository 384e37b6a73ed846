"""The HTTP edge of the API: the request pipeline every /graphql request passes through.

`pipeline.py` composes the stages; `transport.py` (bytes, JSON, shape), `documents.py` (parse,
validate, cache, trusted documents), `rules.py` (bounded shape limits), `cost.py` (static
cost), `budget.py` (per-caller budgets, shared across processes) and `logs.py` (one JSON
line per request) each hold one of them.
"""
