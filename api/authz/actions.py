"""The one vocabulary of permissions: every action is `resource.verb`, every grant has a scope.

`policy.csv` names exactly these actions (a test keeps the two in step). Resolvers name an
`Action`; they never spell an action as a string.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """Which rows an allowed action reaches (DESIGN §5), broadest first."""

    ANY = "ANY"
    TENANT = "TENANT"
    ASSIGNED = "ASSIGNED"
    OWN = "OWN"
    PUBLIC = "PUBLIC"

    @property
    def breadth(self) -> int:
        """Larger is broader; used to pick one scope when several rules grant an action."""
        return len(SCOPE_ORDER) - SCOPE_ORDER.index(self)


SCOPE_ORDER: tuple[Scope, ...] = tuple(Scope)


class Action(StrEnum):
    """Every action the API authorizes. The value is the Casbin `obj.act` pair."""

    MEDSPA_READ = "medspa.read"
    MEDSPA_CREATE = "medspa.create"
    MEDSPA_TRANSITION_MODEL = "medspa.transition_model"
    MEDSPA_UPDATE_SETTINGS = "medspa.update_settings"

    LOCATION_READ = "location.read"
    LOCATION_MANAGE = "location.manage"

    PROVIDER_READ = "provider.read"
    PROVIDER_CONFIGURE = "provider.configure"
    PROVIDER_UPDATE_IDENTITY = "provider.update_identity"

    APPOINTMENT_TYPE_READ = "appointment_type.read"
    APPOINTMENT_TYPE_MANAGE = "appointment_type.manage"

    AVAILABILITY_READ = "availability.read"
    AVAILABILITY_MANAGE = "availability.manage"
    AVAILABILITY_BLOCK_OFF = "availability.block_off"

    APPOINTMENT_READ = "appointment.read"
    APPOINTMENT_BOOK = "appointment.book"
    APPOINTMENT_RESCHEDULE = "appointment.reschedule"
    APPOINTMENT_CANCEL = "appointment.cancel"
    APPOINTMENT_CHECK_IN = "appointment.check_in"
    APPOINTMENT_COMPLETE = "appointment.complete"
    APPOINTMENT_NO_SHOW = "appointment.no_show"

    PATIENT_READ = "patient.read"
    PATIENT_CREATE = "patient.create"
    PATIENT_UPDATE_CONTACT = "patient.update_contact"
    PATIENT_SEND_REGISTRATION_LINK = "patient.send_registration_link"

    CHART_READ = "chart.read"
    CHART_WRITE = "chart.write"

    GFE_REQUEST = "gfe.request"
    GFE_SELF_CLEAR = "gfe.self_clear"

    SERVICE_READ = "service.read"
    SERVICE_MANAGE = "service.manage"
    SERVICE_LIBRARY_MANAGE = "service_library.manage"

    INVENTORY_ORDER_READ = "inventory_order.read"
    INVENTORY_ORDER_CREATE = "inventory_order.create"

    EARNINGS_READ = "earnings.read"
    TODO_READ = "todo.read"

    PCC_READ = "pcc.read"
    PCC_ASSIGNMENT_MANAGE = "pcc_assignment.manage"
    OOO_REPORT = "ooo.report"
    COVERAGE_READ = "coverage.read"
    COVERAGE_OFFER = "coverage.offer"
    COVERAGE_ASSIGN = "coverage.assign"
    COVERAGE_COVER_OWN_LINES = "coverage.cover_own_lines"

    MASQUERADE_START = "masquerade.start"
    MASQUERADE_READ = "masquerade.read"

    AUDIT_EVENT_READ = "audit_event.read"
    API_CLIENT_MANAGE = "api_client.manage"

    @property
    def resource(self) -> str:
        return self.value.split(".", 1)[0]

    @property
    def verb(self) -> str:
        return self.value.split(".", 1)[1]


class Role(StrEnum):
    """Casbin subjects that are roles. Partner API scopes are subjects `scope:<name>`."""

    PLATFORM_ADMIN = "platform_admin"
    PCC_MANAGER = "pcc_manager"
    PCC_DESIGNATED = "pcc_designated"
    PCC_VIRTUAL = "pcc_virtual"
    MEDSPA_ADMIN = "medspa_admin"
    PROVIDER = "provider"
    PUBLIC = "public"


class ApiScope(StrEnum):
    """Scopes a partner API key may carry; the Casbin subject is `scope:<value>`."""

    APPOINTMENTS_READ = "appointments:read"
    APPOINTMENTS_WRITE = "appointments:write"
    PATIENTS_READ = "patients:read"
    CATALOG_READ = "catalog:read"

    @property
    def subject(self) -> str:
        return f"scope:{self.value}"
