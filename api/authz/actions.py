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
    MEDSPA_READ_CONTRACT = "medspa.read_contract"
    MEDSPA_UPDATE_CONTRACT = "medspa.update_contract"

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
    APPOINTMENT_BOOK_PUBLIC = "appointment.book_public"
    APPOINTMENT_RESCHEDULE = "appointment.reschedule"
    APPOINTMENT_CANCEL = "appointment.cancel"
    APPOINTMENT_CHECK_IN = "appointment.check_in"
    APPOINTMENT_COMPLETE = "appointment.complete"
    APPOINTMENT_NO_SHOW = "appointment.no_show"

    PATIENT_READ = "patient.read"
    PATIENT_CREATE = "patient.create"
    PATIENT_UPDATE_CONTACT = "patient.update_contact"
    PATIENT_SEND_REGISTRATION_LINK = "patient.send_registration_link"
    PATIENT_IMPORT = "patient.import"
    PATIENT_COMPLETE_REGISTRATION = "patient.complete_registration"

    CHART_READ = "chart.read"
    CHART_WRITE = "chart.write"

    GFE_REQUEST = "gfe.request"
    GFE_SELF_CLEAR = "gfe.self_clear"
    GFE_READ_ROUTED = "gfe.read_routed"
    GFE_CLEAR = "gfe.clear"
    GFE_CANCEL = "gfe.cancel"

    SERVICE_READ = "service.read"
    SERVICE_MANAGE = "service.manage"
    SERVICE_LIBRARY_READ = "service_library.read"
    SERVICE_LIBRARY_MANAGE = "service_library.manage"

    INVENTORY_ORDER_READ = "inventory_order.read"
    INVENTORY_ORDER_CREATE = "inventory_order.create"
    INVENTORY_ORDER_REVIEW = "inventory_order.review"
    SUPPLIER_PRODUCT_READ = "supplier_product.read"
    SUPPLIER_PRODUCT_MANAGE = "supplier_product.manage"

    EARNINGS_READ = "earnings.read"
    CHECKOUT_CREATE = "checkout.create"
    CHECKOUT_REFUND = "checkout.refund"
    PAYMENT_METHOD_MANAGE = "payment_method.manage"
    TODO_READ = "todo.read"

    PCC_READ = "pcc.read"
    PCC_CHANGE_KIND = "pcc.change_kind"
    PCC_ASSIGNMENT_MANAGE = "pcc_assignment.manage"
    OOO_REPORT = "ooo.report"
    COVERAGE_READ = "coverage.read"
    COVERAGE_OFFER = "coverage.offer"
    COVERAGE_ASSIGN = "coverage.assign"
    COVERAGE_COVER_OWN_LINES = "coverage.cover_own_lines"
    PLATFORM_HOLIDAY_CREATE = "platform_holiday.create"

    MASQUERADE_START = "masquerade.start"
    MASQUERADE_READ = "masquerade.read"
    MASQUERADE_END = "masquerade.end"

    AUDIT_EVENT_READ = "audit_event.read"
    API_CLIENT_MANAGE = "api_client.manage"

    STAFF_READ = "staff.read"
    STAFF_MANAGE = "staff.manage"
    INVITATION_MANAGE = "invitation.manage"
    INVITATION_ACCEPT = "invitation.accept"
    ONBOARDING_READ = "onboarding.read"
    # Partner webhooks (issue 17): a key's own endpoints, the medspa admin's, the platform's.
    WEBHOOK_ENDPOINT_READ = "webhook_endpoint.read"
    WEBHOOK_ENDPOINT_MANAGE = "webhook_endpoint.manage"
    STAFF_DOCUMENT_READ = "staff_document.read"
    STAFF_DOCUMENT_MANAGE = "staff_document.manage"

    SUPPORT_TICKET_READ = "support_ticket.read"
    SUPPORT_TICKET_OPEN = "support_ticket.open"
    SUPPORT_TICKET_COMMENT = "support_ticket.comment"
    SUPPORT_TICKET_WORK = "support_ticket.work"

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
    MEDICAL_TEAM = "medical_team"
    MEDSPA_ADMIN = "medspa_admin"
    PROVIDER = "provider"
    PUBLIC = "public"
    INVENTORY_TEAM = "inventory_team"


class ApiScope(StrEnum):
    """Scopes a partner API key may carry; the Casbin subject is `scope:<value>`."""

    APPOINTMENTS_READ = "appointments:read"
    APPOINTMENTS_WRITE = "appointments:write"
    PATIENTS_READ = "patients:read"
    CATALOG_READ = "catalog:read"
    GFE_CLEAR = "gfe:clear"
    AVAILABILITY_READ = "availability:read"
    PATIENTS_CREATE = "patients:create"

    @property
    def subject(self) -> str:
        return f"scope:{self.value}"
