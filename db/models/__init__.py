"""All models, imported here so Alembic and the app see one metadata."""

from db.models.api_client import ApiClient
from db.models.appointment import (
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    BookingSource,
)
from db.models.appointment_type import (
    AppointmentType,
    AppointmentTypeLocation,
    ProviderAppointmentType,
)
from db.models.audit_event import AuditEvent
from db.models.availability import (
    AvailabilityException,
    AvailabilityExceptionKind,
    ProviderLocation,
    WeeklyHours,
)
from db.models.chart import ServiceVisit, ServiceVisitService, ServiceVisitStatus
from db.models.enums import (
    AuditOutcome,
    BusinessModel,
    Channel,
    CoverageSource,
    Dashboard,
    GfeRouting,
    IntegrationKind,
    IntegrationStatus,
    MembershipRole,
    OooKind,
    OooReason,
    PccKind,
    StaffRole,
)
from db.models.gfe import (
    Clearance,
    ClearanceSource,
    GfeDestination,
    GfeRequest,
    GfeRequestService,
    GfeRequestStatus,
    GfeSettings,
)
from db.models.location import Location
from db.models.masquerade import MasqueradeSession
from db.models.medspa import (
    BusinessModelTransition,
    Medspa,
    MedspaFeeLine,
    MedspaIntegration,
)
from db.models.notification import NotificationKind, NotificationOutbox
from db.models.patient import Patient, PatientSource, RegistrationLink, RegistrationStatus
from db.models.pcc import (
    ChannelAccessGrant,
    Coverage,
    OooAffectedProvider,
    OutOfOffice,
    Pcc,
    PccAssignment,
    PlatformHoliday,
)
from db.models.policy_rule import PolicyRule, PolicyVersion
from db.models.provider import Provider
from db.models.scheduling_settings import SchedulingSettings
from db.models.service import (
    AppointmentTypeService,
    LibraryService,
    LibraryServiceGroup,
    Service,
    ServiceDocument,
    ServiceDocumentKind,
    ServiceDocumentRequirement,
    ServiceGroup,
)
from db.models.user import Membership, StaffMember, User

__all__ = [
    "RELEASED_STATUSES",
    "ApiClient",
    "Appointment",
    "AppointmentStatus",
    "AppointmentType",
    "AppointmentTypeLocation",
    "AppointmentTypeService",
    "AuditEvent",
    "AuditOutcome",
    "AvailabilityException",
    "AvailabilityExceptionKind",
    "BookingSource",
    "BusinessModel",
    "BusinessModelTransition",
    "Channel",
    "ChannelAccessGrant",
    "Clearance",
    "ClearanceSource",
    "Coverage",
    "CoverageSource",
    "Dashboard",
    "GfeDestination",
    "GfeRequest",
    "GfeRequestService",
    "GfeRequestStatus",
    "GfeRouting",
    "GfeSettings",
    "IntegrationKind",
    "IntegrationStatus",
    "LibraryService",
    "LibraryServiceGroup",
    "Location",
    "MasqueradeSession",
    "Medspa",
    "MedspaFeeLine",
    "MedspaIntegration",
    "Membership",
    "MembershipRole",
    "NotificationKind",
    "NotificationOutbox",
    "OooAffectedProvider",
    "OooKind",
    "OooReason",
    "OutOfOffice",
    "Patient",
    "PatientSource",
    "Pcc",
    "PccAssignment",
    "PccKind",
    "PlatformHoliday",
    "PolicyRule",
    "PolicyVersion",
    "Provider",
    "ProviderAppointmentType",
    "ProviderLocation",
    "RegistrationLink",
    "RegistrationStatus",
    "SchedulingSettings",
    "Service",
    "ServiceDocument",
    "ServiceDocumentKind",
    "ServiceDocumentRequirement",
    "ServiceGroup",
    "ServiceVisit",
    "ServiceVisitService",
    "ServiceVisitStatus",
    "StaffMember",
    "StaffRole",
    "User",
    "WeeklyHours",
]
