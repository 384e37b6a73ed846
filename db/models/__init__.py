"""All models, imported here so Alembic and the app see one metadata."""

from db.models.api_client import ApiClient
from db.models.audit_event import AuditEvent
from db.models.enums import (
    AuditOutcome,
    BusinessModel,
    Dashboard,
    GfeRouting,
    MembershipRole,
    PccKind,
    StaffRole,
)
from db.models.location import Location
from db.models.masquerade import MasqueradeSession
from db.models.medspa import Medspa
from db.models.pcc import Pcc, PccAssignment
from db.models.policy_rule import PolicyRule, PolicyVersion
from db.models.provider import Provider
from db.models.user import Membership, StaffMember, User

__all__ = [
    "ApiClient",
    "AuditEvent",
    "AuditOutcome",
    "BusinessModel",
    "Dashboard",
    "GfeRouting",
    "Location",
    "MasqueradeSession",
    "Medspa",
    "Membership",
    "MembershipRole",
    "Pcc",
    "PccAssignment",
    "PccKind",
    "PolicyRule",
    "PolicyVersion",
    "Provider",
    "StaffMember",
    "StaffRole",
    "User",
]
