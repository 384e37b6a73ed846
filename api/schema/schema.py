"""The root Query and Mutation, and the Schema with its limits (DESIGN §6.9, §6.10).

This module only composes: each domain's root fields live in its own module
(`api/schema/<domain>.py`, a `<Domain>Query` / `<Domain>Mutation` mixin).
"""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from api.execution import CompiledExecutor
from api.scalars import harden_text_scalars
from api.schema.api_client import ApiClient, ApiClientMutation, ApiClientQuery
from api.schema.appointment import Appointment, AppointmentMutation, AppointmentQuery
from api.schema.appointment_type import AppointmentType, AppointmentTypeMutation
from api.schema.audit import AuditEvent, AuditQuery
from api.schema.availability import AvailabilityMutation
from api.schema.chart import CHART_TYPES, ChartMutation, ChartQuery
from api.schema.checkout import CHECKOUT_TYPES, CheckoutMutation, CheckoutQuery
from api.schema.coverage import COVERAGE_TYPES, CoverageMutation, CoverageQuery
from api.schema.document import DOCUMENT_TYPES, DocumentMutation, DocumentQuery
from api.schema.earnings import EarningsQuery
from api.schema.gfe import GFE_TYPES, GfeMutation, GfeQuery
from api.schema.gfe_clearing import GfeClearingMutation, GfeClearingQuery
from api.schema.inventory import INVENTORY_TYPES, InventoryMutation, InventoryQuery
from api.schema.invitation import INVITATION_TYPES, InvitationMutation, InvitationQuery
from api.schema.live_calendar import LiveCalendarSubscription
from api.schema.location import Location, LocationMutation
from api.schema.masquerade import MasqueradeMutation, MasqueradeQuery, MasqueradeSession
from api.schema.medspa import Medspa, MedspaQuery
from api.schema.node import NodeQuery
from api.schema.notification_template import (
    NOTIFICATION_TEMPLATE_TYPES,
    NotificationTemplateMutation,
    NotificationTemplateQuery,
)
from api.schema.onboarding import ONBOARDING_TYPES, OnboardingMutation, OnboardingQuery
from api.schema.patient import Patient, PatientMutation, PatientQuery
from api.schema.payment_method import PaymentMethodMutation, PaymentMethodQuery
from api.schema.pcc import PCC_TYPES, PccMutation, PccQuery
from api.schema.prepaid_item import PrepaidItemQuery
from api.schema.provider import Provider, ProviderMutation
from api.schema.public_booking import PublicBookingMutation, PublicBookingQuery
from api.schema.scheduling_settings import SchedulingSettingsMutation
from api.schema.service import CATALOGUE_TYPES, CatalogueMutation, CatalogueQuery
from api.schema.service_document import ServiceDocumentMutation, ServiceDocumentQuery
from api.schema.service_library import LibraryMutation, LibraryQuery
from api.schema.staff import STAFF_TYPES, StaffMutation, StaffQuery
from api.schema.supplier_catalogue import (
    SUPPLIER_CATALOGUE_TYPES,
    SupplierCatalogueMutation,
    SupplierCatalogueQuery,
)
from api.schema.support_ticket import (
    SUPPORT_TICKET_TYPES,
    SupportTicketMutation,
    SupportTicketQuery,
)
from api.schema.user import User
from api.schema.viewer import ViewerQuery
from api.schema.webhook import WEBHOOK_TYPES, WebhookMutation, WebhookQuery
from api.settings import Settings


@strawberry.type
class Query(
    ViewerQuery,
    NodeQuery,
    MedspaQuery,
    AuditQuery,
    ApiClientQuery,
    MasqueradeQuery,
    AppointmentQuery,
    PublicBookingQuery,
    ServiceDocumentQuery,
    PccQuery,
    CoverageQuery,
    PatientQuery,
    CatalogueQuery,
    LibraryQuery,
    GfeQuery,
    GfeClearingQuery,
    ChartQuery,
    InvitationQuery,
    StaffQuery,
    OnboardingQuery,
    WebhookQuery,
    InventoryQuery,
    SupplierCatalogueQuery,
    SupportTicketQuery,
    DocumentQuery,
    CheckoutQuery,
    EarningsQuery,
    PaymentMethodQuery,
    PrepaidItemQuery,
    NotificationTemplateQuery,
):
    """Every root field, from the domains' mixins."""


@strawberry.type
class Mutation(
    MasqueradeMutation,
    ApiClientMutation,
    LocationMutation,
    ProviderMutation,
    AppointmentTypeMutation,
    AvailabilityMutation,
    SchedulingSettingsMutation,
    AppointmentMutation,
    PublicBookingMutation,
    ServiceDocumentMutation,
    PccMutation,
    CoverageMutation,
    PatientMutation,
    CatalogueMutation,
    LibraryMutation,
    GfeMutation,
    GfeClearingMutation,
    ChartMutation,
    InvitationMutation,
    StaffMutation,
    OnboardingMutation,
    WebhookMutation,
    InventoryMutation,
    SupplierCatalogueMutation,
    SupportTicketMutation,
    DocumentMutation,
    CheckoutMutation,
    PaymentMethodMutation,
    NotificationTemplateMutation,
):
    """Every mutation, from the domains' mixins."""


@strawberry.type
class Subscription(LiveCalendarSubscription):
    """Live answers, over WebSocket (graphql-transport-ws)."""


TYPES = [
    Medspa,
    Location,
    Provider,
    User,
    MasqueradeSession,
    ApiClient,
    AuditEvent,
    Appointment,
    AppointmentType,
    Patient,
    *PCC_TYPES,
    *COVERAGE_TYPES,
    *CATALOGUE_TYPES,
    *GFE_TYPES,
    *CHART_TYPES,
    *INVITATION_TYPES,
    *STAFF_TYPES,
    *ONBOARDING_TYPES,
    *WEBHOOK_TYPES,
    *INVENTORY_TYPES,
    *SUPPLIER_CATALOGUE_TYPES,
    *SUPPORT_TICKET_TYPES,
    *DOCUMENT_TYPES,
    *NOTIFICATION_TEMPLATE_TYPES,
    *CHECKOUT_TYPES,
]


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema. Its limits, introspection switch and error masking live in the request
    pipeline (api/http); suggestions only in development."""
    harden_text_scalars()
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=TYPES,
        # Queries run as compiled plans; the rest falls back to graphql-core (api/execution).
        # The request pipeline executes with the schema's execution_context_class.
        execution_context_class=CompiledExecutor,
        config=StrawberryConfig(disable_field_suggestions=not settings.is_dev),
    )
