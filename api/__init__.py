"""The medspa platform's GraphQL API."""
