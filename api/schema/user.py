"""User: the person behind an account (email and name, nothing else)."""

from __future__ import annotations

import strawberry

from api.schema.node import Node, encode_global_id
from db import models


@strawberry.type
class User(Node):
    email: str
    full_name: str

    @classmethod
    def from_row(cls, row: models.User) -> User:
        return cls(id=encode_global_id("User", row.id), email=row.email, full_name=row.full_name)
