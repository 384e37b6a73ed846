"""Root fields of services, GFE and charting (issue 6), mixed into the root Query and Mutation."""

from __future__ import annotations

import strawberry

from api.schema.chart import CHART_TYPES, ChartMutation, ChartQuery
from api.schema.gfe import GFE_TYPES, GfeMutation, GfeQuery
from api.schema.service import CATALOGUE_TYPES, CatalogueMutation, CatalogueQuery

SERVICE_TYPES = [*CATALOGUE_TYPES, *GFE_TYPES, *CHART_TYPES]


@strawberry.type
class ServiceQuery(CatalogueQuery, GfeQuery, ChartQuery):
    pass


@strawberry.type
class ServiceMutation(CatalogueMutation, GfeMutation, ChartMutation):
    pass
