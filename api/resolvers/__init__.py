"""Use cases per domain: authorize, query or write through the scope module, return rows."""
