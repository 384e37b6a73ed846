"""Enumerations shared by the models, the schema and the seed."""

from __future__ import annotations

from enum import StrEnum


class BusinessModel(StrEnum):
    LEGACY = "LEGACY"
    LAUNCH = "LAUNCH"
    FLEX = "FLEX"


class GfeRouting(StrEnum):
    DO_NOT_ROUTE = "DO_NOT_ROUTE"
    OWN_CLEARING_PROVIDER = "OWN_CLEARING_PROVIDER"
    PORTRAIT_CLEARING = "PORTRAIT_CLEARING"


class MembershipRole(StrEnum):
    MEDSPA_ADMIN = "medspa_admin"
    PROVIDER = "provider"


class StaffRole(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    PCC_MANAGER = "pcc_manager"
    PCC = "pcc"
    MEDICAL_TEAM = "medical_team"  # Portrait's clinicians who clear routed GFE requests
    INVENTORY_TEAM = "inventory_team"


class PccKind(StrEnum):
    VIRTUAL = "VIRTUAL"
    DESIGNATED = "DESIGNATED"


class Dashboard(StrEnum):
    ADMIN = "ADMIN"
    PROVIDER = "PROVIDER"


class AuditOutcome(StrEnum):
    ALLOWED = "ALLOWED"
    DENIED = "DENIED"
    FAILED = "FAILED"


class OooKind(StrEnum):
    FULL_DAY = "FULL_DAY"
    PARTIAL_DAY = "PARTIAL_DAY"


class OooReason(StrEnum):
    VACATION = "VACATION"
    SICK = "SICK"
    EMERGENCY = "EMERGENCY"
    OTHER = "OTHER"


class CoverageSource(StrEnum):
    OFFERED = "OFFERED"  # a PCC opted in
    ASSIGNED = "ASSIGNED"  # a PCC manager assigned one


class Channel(StrEnum):
    OPENPHONE_LINE = "OPENPHONE_LINE"
    TIGERCONNECT_CHAT = "TIGERCONNECT_CHAT"


class IntegrationKind(StrEnum):
    OPENPHONE_LINE = "OPENPHONE_LINE"
    TIGERCONNECT_CHANNEL = "TIGERCONNECT_CHANNEL"
    ACUITY_CALENDAR = "ACUITY_CALENDAR"


class IntegrationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    MARKED_FOR_RELEASE = "MARKED_FOR_RELEASE"
    DEACTIVATED = "DEACTIVATED"
    REVOKED = "REVOKED"
