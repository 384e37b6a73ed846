"""Per-request DataLoaders. Each applies the principal's scope; results come in key order."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from api.resolvers.location import locations_by_ids, locations_by_medspa
from api.resolvers.medspa import medspas_by_ids
from api.resolvers.pagination import Page
from api.resolvers.provider import providers_by_ids, providers_by_medspa
from api.resolvers.user import users_by_ids
from db.models import Location, Medspa, Provider, User

if TYPE_CHECKING:
    from api.context import Context

PageKey = tuple[uuid.UUID, int | None, str | None]


class Loaders:
    """Built once per request, bound to its Context."""

    def __init__(self, ctx: Context) -> None:
        self.medspa_by_id: DataLoader[uuid.UUID, Medspa | None] = DataLoader(
            lambda ids: medspas_by_ids(ctx, ids)
        )
        self.location_by_id: DataLoader[uuid.UUID, Location | None] = DataLoader(
            lambda ids: locations_by_ids(ctx, ids)
        )
        self.provider_by_id: DataLoader[uuid.UUID, Provider | None] = DataLoader(
            lambda ids: providers_by_ids(ctx, ids)
        )
        self.user_by_id: DataLoader[uuid.UUID, User | None] = DataLoader(
            lambda ids: users_by_ids(ctx, ids)
        )
        self.locations_by_medspa: DataLoader[PageKey, Page[Location]] = DataLoader(
            lambda keys: locations_by_medspa(ctx, keys)
        )
        self.providers_by_medspa: DataLoader[PageKey, Page[Provider]] = DataLoader(
            lambda keys: providers_by_medspa(ctx, keys)
        )
