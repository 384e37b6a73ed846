"""The Casbin model and baseline policy, tested from tables: no database, no HTTP.

`TABLE` restates DESIGN §5 cell by cell. Each allowed cell is one case; each role also holds
exactly its column (nothing more), and named denied neighbours document the edges that
matter. Per-medspa rows, reloads, the broadest-scope rule and the one-Casbin-call-per-subject
promise are tested against `PolicyEngine` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import casbin
import pytest

from api.authz.actions import Action, ApiScope, Role, Scope
from api.authz.enforcer import (
    POLICY_PATH,
    Grant,
    PermissionSet,
    PolicyEngine,
    PolicyRow,
    policy_actions,
)

MEDSPA_A = "0f6a3c52-5d8e-4c1b-9a57-1f0c2b7e4a11"
MEDSPA_B = "7b2d9e04-3f61-4d8a-b0c5-8e9f1a2b3c44"

A = Action
ANY, TENANT, ASSIGNED, OWN, PUBLIC = Scope

PLATFORM_ADMIN = Role.PLATFORM_ADMIN.value
PCC_MANAGER = Role.PCC_MANAGER.value
PCC_DESIGNATED = Role.PCC_DESIGNATED.value
PCC_VIRTUAL = Role.PCC_VIRTUAL.value
MEDSPA_ADMIN = Role.MEDSPA_ADMIN.value
PROVIDER = Role.PROVIDER.value
PUBLIC_ROLE = Role.PUBLIC.value
MEDICAL_TEAM = Role.MEDICAL_TEAM.value
INVENTORY_TEAM = Role.INVENTORY_TEAM.value
APPOINTMENTS_READ = ApiScope.APPOINTMENTS_READ.subject
APPOINTMENTS_WRITE = ApiScope.APPOINTMENTS_WRITE.subject
PATIENTS_READ = ApiScope.PATIENTS_READ.subject
CATALOG_READ = ApiScope.CATALOG_READ.subject
GFE_CLEAR = ApiScope.GFE_CLEAR.subject
AVAILABILITY_READ = ApiScope.AVAILABILITY_READ.subject
PATIENTS_CREATE = ApiScope.PATIENTS_CREATE.subject
EVERY_PARTNER_SCOPE = tuple(scope.subject for scope in ApiScope)
SUBJECTS = (*(role.value for role in Role), *EVERY_PARTNER_SCOPE)


def partner(*subjects: str) -> dict[str, Scope]:
    """The partner column: TENANT for the named scopes, or for every scope when none is named."""
    return dict.fromkeys(subjects or EVERY_PARTNER_SCOPE, TENANT)


# DESIGN §5, one entry per action; a missing subject is a "—" cell.
TABLE: dict[Action, dict[str, Scope]] = {
    A.MEDSPA_READ: {
        PLATFORM_ADMIN: ANY, PCC_MANAGER: ANY, PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED,
        MEDSPA_ADMIN: TENANT, PROVIDER: TENANT, **partner(), INVENTORY_TEAM: ANY,
    },
    A.MEDSPA_CREATE: {PLATFORM_ADMIN: ANY},
    A.MEDSPA_TRANSITION_MODEL: {PLATFORM_ADMIN: ANY},
    A.MEDSPA_UPDATE_SETTINGS: {MEDSPA_ADMIN: TENANT},
    A.MEDSPA_READ_CONTRACT: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT},
    A.MEDSPA_UPDATE_CONTRACT: {PLATFORM_ADMIN: ANY},
    A.LOCATION_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED,
        MEDSPA_ADMIN: TENANT, PROVIDER: TENANT, **partner(CATALOG_READ, AVAILABILITY_READ),
        PUBLIC_ROLE: PUBLIC,
    },
    A.LOCATION_MANAGE: {MEDSPA_ADMIN: TENANT},
    A.PROVIDER_READ: {
        PLATFORM_ADMIN: ANY, PCC_MANAGER: ANY, PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED,
        MEDSPA_ADMIN: TENANT, PROVIDER: TENANT, **partner(), PUBLIC_ROLE: PUBLIC,
    },
    A.PROVIDER_CONFIGURE: {MEDSPA_ADMIN: TENANT},
    A.PROVIDER_UPDATE_IDENTITY: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.APPOINTMENT_TYPE_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED,
        MEDSPA_ADMIN: TENANT, PROVIDER: TENANT, **partner(CATALOG_READ, AVAILABILITY_READ),
        PUBLIC_ROLE: PUBLIC,
    },
    A.APPOINTMENT_TYPE_MANAGE: {MEDSPA_ADMIN: TENANT},
    A.AVAILABILITY_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED,
        MEDSPA_ADMIN: TENANT, PROVIDER: OWN, **partner(AVAILABILITY_READ), PUBLIC_ROLE: PUBLIC,
    },
    A.AVAILABILITY_MANAGE: {MEDSPA_ADMIN: TENANT},
    A.AVAILABILITY_BLOCK_OFF: {PCC_DESIGNATED: ASSIGNED, MEDSPA_ADMIN: TENANT},
    A.APPOINTMENT_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED,
        MEDSPA_ADMIN: TENANT, PROVIDER: OWN, **partner(APPOINTMENTS_READ),
    },
    **{
        action: {
            PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED, MEDSPA_ADMIN: TENANT, PROVIDER: OWN,
            **partner(APPOINTMENTS_WRITE),
        }
        for action in (A.APPOINTMENT_BOOK, A.APPOINTMENT_RESCHEDULE, A.APPOINTMENT_CANCEL)
    },
    # The public booking page: everyone books through it alike.
    A.APPOINTMENT_BOOK_PUBLIC: dict.fromkeys(SUBJECTS, PUBLIC),
    # A registration link's token is the credential: anyone holding one completes it.
    A.PATIENT_COMPLETE_REGISTRATION: dict.fromkeys(SUBJECTS, PUBLIC),
    **{
        action: {PCC_DESIGNATED: ASSIGNED, MEDSPA_ADMIN: TENANT, PROVIDER: OWN}
        for action in (A.APPOINTMENT_CHECK_IN, A.APPOINTMENT_COMPLETE, A.APPOINTMENT_NO_SHOW)
    },
    A.PATIENT_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED,
        MEDSPA_ADMIN: TENANT, PROVIDER: OWN, **partner(PATIENTS_READ),
    },
    A.PATIENT_CREATE: {
        PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED, MEDSPA_ADMIN: TENANT, PROVIDER: OWN,
        **partner(PATIENTS_CREATE),
    },
    **{
        action: {
            PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED, MEDSPA_ADMIN: TENANT, PROVIDER: OWN,
        }
        for action in (A.PATIENT_UPDATE_CONTACT, A.PATIENT_SEND_REGISTRATION_LINK)
    },
    A.PATIENT_IMPORT: {MEDSPA_ADMIN: TENANT},
    A.CHART_READ: {PROVIDER: OWN},
    A.CHART_WRITE: {PROVIDER: OWN},
    A.GFE_REQUEST: {PROVIDER: OWN},
    A.GFE_SELF_CLEAR: {PROVIDER: OWN},
    # The clearing side of a routed request: Portrait's medical team (the requests routed to
    # Portrait) and a medspa's clearing partner key (its routed requests).
    A.GFE_READ_ROUTED: {MEDICAL_TEAM: ASSIGNED, **partner(GFE_CLEAR)},
    A.GFE_CLEAR: {MEDICAL_TEAM: ASSIGNED, **partner(GFE_CLEAR)},
    A.GFE_CANCEL: {MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.SERVICE_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ASSIGNED, PCC_VIRTUAL: ASSIGNED,
        MEDSPA_ADMIN: TENANT, PROVIDER: TENANT, **partner(CATALOG_READ), PUBLIC_ROLE: PUBLIC,
    },
    A.SERVICE_MANAGE: {MEDSPA_ADMIN: TENANT},
    A.SERVICE_LIBRARY_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ANY, PCC_VIRTUAL: ANY, MEDSPA_ADMIN: ANY,
        PROVIDER: ANY, CATALOG_READ: ANY,
    },
    A.SERVICE_LIBRARY_MANAGE: {PLATFORM_ADMIN: ANY},
    A.INVENTORY_ORDER_CREATE: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ASSIGNED, MEDSPA_ADMIN: TENANT, PROVIDER: OWN,
    },
    A.INVENTORY_ORDER_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ASSIGNED, MEDSPA_ADMIN: TENANT, PROVIDER: OWN,
        INVENTORY_TEAM: ANY,
    },
    A.INVENTORY_ORDER_REVIEW: {INVENTORY_TEAM: ANY},
    A.SUPPLIER_PRODUCT_READ: {
        PLATFORM_ADMIN: ANY, PCC_DESIGNATED: ANY, MEDSPA_ADMIN: ANY, PROVIDER: ANY,
        INVENTORY_TEAM: ANY,
    },
    A.SUPPLIER_PRODUCT_MANAGE: {PLATFORM_ADMIN: ANY, INVENTORY_TEAM: ANY},
    A.EARNINGS_READ: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.CHECKOUT_CREATE: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.CHECKOUT_REFUND: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.PAYMENT_METHOD_MANAGE: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.TODO_READ: {PROVIDER: OWN},
    A.PCC_CHANGE_KIND: {PLATFORM_ADMIN: ANY},
    A.STAFF_READ: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.STAFF_MANAGE: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT},
    A.INVITATION_MANAGE: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT},
    A.INVITATION_ACCEPT: dict.fromkeys(SUBJECTS, PUBLIC),
    A.ONBOARDING_READ: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT},
    A.PCC_READ: {
        PLATFORM_ADMIN: ANY, PCC_MANAGER: ANY, PCC_DESIGNATED: OWN, PCC_VIRTUAL: OWN,
        MEDSPA_ADMIN: TENANT, PROVIDER: TENANT,
    },
    A.PCC_ASSIGNMENT_MANAGE: {PLATFORM_ADMIN: ANY, PCC_MANAGER: ANY},
    A.OOO_REPORT: {PCC_MANAGER: ANY, PCC_DESIGNATED: OWN, PCC_VIRTUAL: OWN},
    A.COVERAGE_READ: {
        PLATFORM_ADMIN: ANY, PCC_MANAGER: ANY, PCC_DESIGNATED: OWN, PCC_VIRTUAL: OWN,
        MEDSPA_ADMIN: TENANT, PROVIDER: OWN,
    },
    A.COVERAGE_OFFER: {PCC_DESIGNATED: OWN, PCC_VIRTUAL: OWN},
    A.COVERAGE_ASSIGN: {PCC_MANAGER: ANY},
    A.COVERAGE_COVER_OWN_LINES: {PCC_MANAGER: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.PLATFORM_HOLIDAY_CREATE: {PCC_MANAGER: ANY},
    A.MASQUERADE_START: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT},
    A.MASQUERADE_READ: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    # Every user may end a session of their own (a masquerade token ends its own).
    A.MASQUERADE_END: {
        PLATFORM_ADMIN: OWN, PCC_MANAGER: OWN, PCC_DESIGNATED: OWN, PCC_VIRTUAL: OWN,
        MEDSPA_ADMIN: OWN, PROVIDER: OWN, MEDICAL_TEAM: OWN, INVENTORY_TEAM: OWN,
    },
    A.AUDIT_EVENT_READ: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT},
    A.API_CLIENT_MANAGE: {MEDSPA_ADMIN: TENANT},
    # Issue 17: a partner key's own webhook endpoints; the admin's medspa; the platform reads.
    A.WEBHOOK_ENDPOINT_READ: {
        PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, **dict.fromkeys(EVERY_PARTNER_SCOPE, OWN),
    },
    A.WEBHOOK_ENDPOINT_MANAGE: {
        MEDSPA_ADMIN: TENANT, **dict.fromkeys(EVERY_PARTNER_SCOPE, OWN),
    },
    # Issue 19: staff documents and support tickets.
    A.STAFF_DOCUMENT_READ: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.STAFF_DOCUMENT_MANAGE: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.SUPPORT_TICKET_READ: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.SUPPORT_TICKET_OPEN: {MEDSPA_ADMIN: TENANT, PROVIDER: TENANT},
    A.SUPPORT_TICKET_COMMENT: {PLATFORM_ADMIN: ANY, MEDSPA_ADMIN: TENANT, PROVIDER: OWN},
    A.SUPPORT_TICKET_WORK: {PLATFORM_ADMIN: ANY},
}  # fmt: skip

ALLOWED_CELLS = [
    pytest.param(subject, action, scope, id=f"{subject}-{action}")
    for action, column in TABLE.items()
    for subject, scope in column.items()
]

# The edges worth naming: a neighbour of something the role may do, which it may not.
DENIED_NEIGHBOURS = [
    (PLATFORM_ADMIN, A.MEDSPA_UPDATE_SETTINGS),
    (PLATFORM_ADMIN, A.APPOINTMENT_BOOK),
    (PLATFORM_ADMIN, A.CHART_READ),
    (PLATFORM_ADMIN, A.API_CLIENT_MANAGE),
    (PCC_MANAGER, A.PATIENT_READ),
    (PCC_MANAGER, A.COVERAGE_OFFER),
    (PCC_MANAGER, A.MASQUERADE_START),
    (PCC_DESIGNATED, A.AVAILABILITY_MANAGE),
    (PCC_DESIGNATED, A.CHART_READ),
    (PCC_DESIGNATED, A.COVERAGE_ASSIGN),
    (PCC_VIRTUAL, A.APPOINTMENT_CHECK_IN),
    (PCC_VIRTUAL, A.AVAILABILITY_BLOCK_OFF),
    (PCC_VIRTUAL, A.INVENTORY_ORDER_READ),
    (MEDSPA_ADMIN, A.CHART_WRITE),
    (MEDSPA_ADMIN, A.GFE_REQUEST),
    (MEDSPA_ADMIN, A.GFE_SELF_CLEAR),
    (MEDSPA_ADMIN, A.TODO_READ),
    (MEDSPA_ADMIN, A.MEDSPA_CREATE),
    (PROVIDER, A.APPOINTMENT_TYPE_MANAGE),
    (PROVIDER, A.AVAILABILITY_MANAGE),
    (PROVIDER, A.AVAILABILITY_BLOCK_OFF),
    (PROVIDER, A.MASQUERADE_START),
    (PROVIDER, A.API_CLIENT_MANAGE),
    (PUBLIC_ROLE, A.APPOINTMENT_READ),
    (PUBLIC_ROLE, A.APPOINTMENT_CANCEL),
    (PUBLIC_ROLE, A.MEDSPA_READ),
    (APPOINTMENTS_READ, A.APPOINTMENT_BOOK),
    (APPOINTMENTS_WRITE, A.APPOINTMENT_CHECK_IN),
    (APPOINTMENTS_WRITE, A.APPOINTMENT_READ),
    (PATIENTS_READ, A.PATIENT_CREATE),
    (CATALOG_READ, A.PATIENT_READ),
    (CATALOG_READ, A.AVAILABILITY_READ),
    (PLATFORM_ADMIN, A.PLATFORM_HOLIDAY_CREATE),
    (PCC_VIRTUAL, A.PATIENT_IMPORT),
    (PROVIDER, A.PATIENT_IMPORT),
    (PROVIDER, A.MEDSPA_READ_CONTRACT),
    (PCC_MANAGER, A.SERVICE_LIBRARY_READ),
    (PUBLIC_ROLE, A.APPOINTMENT_BOOK),
    (PUBLIC_ROLE, A.SERVICE_LIBRARY_READ),
    (PUBLIC_ROLE, A.MASQUERADE_END),
    (APPOINTMENTS_READ, A.SERVICE_LIBRARY_READ),
    (APPOINTMENTS_WRITE, A.MASQUERADE_END),
    (MEDICAL_TEAM, A.PATIENT_READ),
    (MEDICAL_TEAM, A.GFE_SELF_CLEAR),
    (GFE_CLEAR, A.PATIENT_READ),
    (GFE_CLEAR, A.GFE_CANCEL),
    (MEDSPA_ADMIN, A.GFE_CLEAR),
    (PROVIDER, A.GFE_CLEAR),
    (PATIENTS_CREATE, A.PATIENT_READ),
    (AVAILABILITY_READ, A.APPOINTMENT_READ),
    (PCC_VIRTUAL, A.SUPPLIER_PRODUCT_READ),
    (MEDSPA_ADMIN, A.INVENTORY_ORDER_REVIEW),
    (PLATFORM_ADMIN, A.INVENTORY_ORDER_REVIEW),
    (CATALOG_READ, A.SUPPLIER_PRODUCT_READ),
    (INVENTORY_TEAM, A.INVENTORY_ORDER_CREATE),
    (INVENTORY_TEAM, A.PATIENT_READ),
]


@pytest.fixture(scope="module")
def baseline() -> PolicyEngine:
    return PolicyEngine()


def p_row(*values: str) -> PolicyRow:
    return PolicyRow("p", values)


def g_row(*values: str) -> PolicyRow:
    return PolicyRow("g", values)


def policy_file_rows() -> Iterator[list[str]]:
    for line in Path(POLICY_PATH).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield [column.strip() for column in line.split(",")]


# The baseline table


def test_table_names_every_action() -> None:
    assert set(TABLE) == set(Action)


@pytest.mark.parametrize(("subject", "action", "scope"), ALLOWED_CELLS)
def test_allowed_cell(baseline: PolicyEngine, subject: str, action: Action, scope: Scope) -> None:
    assert baseline.permissions(subject, MEDSPA_A).scope(action) is scope


@pytest.mark.parametrize(("subject", "action"), DENIED_NEIGHBOURS, ids=lambda v: str(v))
def test_denied_neighbour(baseline: PolicyEngine, subject: str, action: Action) -> None:
    permissions = baseline.permissions(subject, MEDSPA_A)

    assert not permissions.allows(action)
    assert permissions.scope(action) is None
    assert permissions.grant(action) is None
    assert permissions.reason(action) == f"no rule grants {subject} {action} in medspa {MEDSPA_A}"


def test_denied_neighbours_are_denied_by_the_table() -> None:
    assert [(s, a) for s, a in DENIED_NEIGHBOURS if s in TABLE[a]] == []
    assert {s for s, _ in DENIED_NEIGHBOURS} == set(SUBJECTS)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_holds_exactly_its_column(baseline: PolicyEngine, subject: str) -> None:
    expected = {action: col[subject] for action, col in TABLE.items() if subject in col}
    permissions = baseline.permissions(subject, MEDSPA_A)

    assert {action: grant.scope for action, grant in permissions.grants.items()} == expected
    assert set(permissions.denials) == set(Action) - set(expected)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_baseline_holds_in_every_domain(baseline: PolicyEngine, subject: str) -> None:
    in_a = baseline.permissions(subject, MEDSPA_A)

    assert in_a.grants == baseline.permissions(subject, MEDSPA_B).grants
    assert in_a.grants == baseline.permissions(subject, "*").grants


def test_inherited_grant_names_the_parent_rule(baseline: PolicyEngine) -> None:
    grant = baseline.permissions(PCC_DESIGNATED, MEDSPA_A).grant(A.PATIENT_READ)

    assert grant == Grant(
        A.PATIENT_READ, ASSIGNED, "p, pcc_virtual, *, patient, read, ASSIGNED, allow"
    )


def test_partner_scope_inherits_partner_rules(baseline: PolicyEngine) -> None:
    grant = baseline.permissions(APPOINTMENTS_READ, MEDSPA_A).grant(A.PROVIDER_READ)

    assert grant is not None
    assert grant.rule == "p, partner, *, provider, read, TENANT, allow"


# The vocabulary


def test_policy_names_exactly_the_actions() -> None:
    assert policy_actions() == {action.value for action in Action}


def test_every_policy_scope_is_a_scope() -> None:
    scopes = {row[5] for row in policy_file_rows() if row[0] == "p"}

    assert scopes
    assert scopes <= {scope.value for scope in Scope}


def test_baseline_rows_are_platform_wide_allows() -> None:
    rows = list(policy_file_rows())

    assert {row[0] for row in rows} == {"p", "g"}
    assert [row for row in rows if row[0] == "p" and (len(row) != 7 or row[2] != "*")] == []
    assert [row for row in rows if row[0] == "g" and (len(row) != 4 or row[3] != "*")] == []
    assert {row[6] for row in rows if row[0] == "p"} == {"allow"}


def test_policy_subjects_are_roles_or_partner_scopes() -> None:
    # `partner` is the policy-internal role every partner scope inherits; no principal holds it.
    known = {role.value for role in Role} | set(EVERY_PARTNER_SCOPE) | {"partner"}
    subjects = {row[1] for row in policy_file_rows()} | {
        row[2] for row in policy_file_rows() if row[0] == "g"
    }

    assert subjects == known


# Per-medspa rows


def test_extra_deny_row_removes_the_action_only_in_its_medspa() -> None:
    engine = PolicyEngine(
        [p_row(MEDSPA_ADMIN, MEDSPA_A, "appointment", "cancel", "TENANT", "deny")]
    )

    in_a = engine.permissions(MEDSPA_ADMIN, MEDSPA_A)
    assert not in_a.allows(A.APPOINTMENT_CANCEL)
    assert in_a.reason(A.APPOINTMENT_CANCEL) == (
        f"denied by p, medspa_admin, {MEDSPA_A}, appointment, cancel, TENANT, deny"
    )
    assert in_a.allows(A.APPOINTMENT_RESCHEDULE)
    assert engine.permissions(MEDSPA_ADMIN, MEDSPA_B).scope(A.APPOINTMENT_CANCEL) is TENANT


def test_extra_deny_row_on_a_parent_role_reaches_its_children() -> None:
    engine = PolicyEngine([p_row(PCC_VIRTUAL, MEDSPA_A, "patient", "create", "ASSIGNED", "deny")])

    assert not engine.permissions(PCC_DESIGNATED, MEDSPA_A).allows(A.PATIENT_CREATE)
    assert engine.permissions(PCC_DESIGNATED, MEDSPA_B).allows(A.PATIENT_CREATE)


def test_extra_allow_row_adds_the_action_only_in_its_medspa() -> None:
    engine = PolicyEngine([p_row(PROVIDER, MEDSPA_A, "availability", "block_off", "OWN", "allow")])

    grant = engine.permissions(PROVIDER, MEDSPA_A).grant(A.AVAILABILITY_BLOCK_OFF)
    assert grant == Grant(
        A.AVAILABILITY_BLOCK_OFF,
        OWN,
        f"p, provider, {MEDSPA_A}, availability, block_off, OWN, allow",
    )
    assert not engine.permissions(PROVIDER, MEDSPA_B).allows(A.AVAILABILITY_BLOCK_OFF)
    assert not engine.permissions(PROVIDER, "*").allows(A.AVAILABILITY_BLOCK_OFF)


def test_extra_inheritance_row_holds_only_in_its_medspa() -> None:
    # The new link lives in medspa A; the pcc_designated -> pcc_virtual link it leads to lives
    # in `*`. The chain must be followed across both.
    engine = PolicyEngine([g_row("front_desk_lead", PCC_DESIGNATED, MEDSPA_A)])

    in_a = engine.permissions("front_desk_lead", MEDSPA_A)
    assert in_a.scope(A.APPOINTMENT_CHECK_IN) is ASSIGNED
    assert in_a.scope(A.PATIENT_READ) is ASSIGNED
    assert engine.permissions("front_desk_lead", MEDSPA_B).grants == {}


def test_broader_extra_allow_wins_over_the_baseline_scope() -> None:
    engine = PolicyEngine([p_row(PROVIDER, MEDSPA_A, "appointment", "read", "TENANT", "allow")])

    assert engine.permissions(PROVIDER, MEDSPA_A).scope(A.APPOINTMENT_READ) is TENANT
    assert engine.permissions(PROVIDER, MEDSPA_B).scope(A.APPOINTMENT_READ) is OWN


def test_narrower_extra_allow_does_not_narrow_the_baseline_scope() -> None:
    engine = PolicyEngine([p_row(MEDSPA_ADMIN, MEDSPA_A, "appointment", "read", "OWN", "allow")])

    grant = engine.permissions(MEDSPA_ADMIN, MEDSPA_A).grant(A.APPOINTMENT_READ)
    assert grant is not None
    assert grant.scope is TENANT
    assert grant.rule == "p, medspa_admin, *, appointment, read, TENANT, allow"


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(lambda: p_row(PROVIDER, "*", "chart", "read", "OWN", "deny"), id="p-in-*"),
        pytest.param(lambda: g_row(PROVIDER, MEDSPA_ADMIN, "*"), id="g-in-*"),
    ],
)
def test_extra_row_may_not_change_the_platform_domain(row: Callable[[], PolicyRow]) -> None:
    with pytest.raises(ValueError, match="must name a medspa"):
        PolicyEngine([row()])


@pytest.mark.parametrize(
    ("ptype", "values", "message"),
    [
        ("p", (PROVIDER, MEDSPA_A, "appointment", "manage", "OWN", "allow"), "unknown action"),
        ("p", (PROVIDER, MEDSPA_A, "appointment", "read", "MINE", "allow"), "unknown scope"),
        ("p", (PROVIDER, MEDSPA_A, "appointment", "read", "OWN", "maybe"), "allow or deny"),
        ("p", (PROVIDER, MEDSPA_A, "appointment", "read", "OWN"), "a p row is"),
        ("g", (PROVIDER, MEDSPA_ADMIN), "a g row is"),
        ("x", (PROVIDER, MEDSPA_ADMIN, MEDSPA_A), "unknown policy type"),
    ],
)
def test_malformed_rows_are_refused(ptype: Any, values: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PolicyRow(ptype, values)


# Reload


def test_reload_bumps_the_version_and_changes_the_answer() -> None:
    engine = PolicyEngine()
    before = engine.version
    assert engine.permissions(PROVIDER, MEDSPA_A).allows(A.CHART_WRITE)

    engine.reload([p_row(PROVIDER, MEDSPA_A, "chart", "write", "OWN", "deny")])

    assert engine.version == before + 1
    assert not engine.permissions(PROVIDER, MEDSPA_A).allows(A.CHART_WRITE)

    engine.reload([])

    assert engine.version == before + 2
    assert engine.permissions(PROVIDER, MEDSPA_A).allows(A.CHART_WRITE)


def test_failed_reload_keeps_the_previous_policy() -> None:
    engine = PolicyEngine([p_row(PROVIDER, MEDSPA_A, "chart", "write", "OWN", "deny")])
    version = engine.version

    with pytest.raises(ValueError, match="must name a medspa"):
        engine.reload([p_row(PROVIDER, "*", "chart", "read", "OWN", "deny")])

    assert engine.version == version
    assert not engine.permissions(PROVIDER, MEDSPA_A).allows(A.CHART_WRITE)


# PermissionSet


def grant(action: Action, scope: Scope, rule: str = "rule") -> Grant:
    return Grant(action=action, scope=scope, rule=f"{rule} {scope}")


@pytest.mark.parametrize("order", ["narrow-first", "broad-first"])
def test_union_keeps_the_broadest_scope(order: str) -> None:
    narrow = PermissionSet({A.APPOINTMENT_READ: grant(A.APPOINTMENT_READ, OWN)})
    broad = PermissionSet({A.APPOINTMENT_READ: grant(A.APPOINTMENT_READ, TENANT)})

    union = narrow.union(broad) if order == "narrow-first" else broad.union(narrow)

    assert union.grant(A.APPOINTMENT_READ) == grant(A.APPOINTMENT_READ, TENANT)


def test_union_allows_what_either_allows_and_keeps_both_denial_reasons() -> None:
    one = PermissionSet(
        {A.LOCATION_READ: grant(A.LOCATION_READ, TENANT)},
        {A.PATIENT_READ: "not one", A.CHART_READ: "not one"},
    )
    other = PermissionSet(
        {A.PATIENT_READ: grant(A.PATIENT_READ, TENANT)},
        {A.LOCATION_READ: "not other", A.CHART_READ: "not other"},
    )

    union = one.union(other)

    assert set(union.grants) == {A.LOCATION_READ, A.PATIENT_READ}
    assert union.denials == {A.CHART_READ: "not one; not other"}


def test_permissions_for_several_partner_scopes_is_their_union(baseline: PolicyEngine) -> None:
    permissions = baseline.permissions_for([CATALOG_READ, PATIENTS_READ], MEDSPA_A)

    assert permissions == baseline.permissions(CATALOG_READ, MEDSPA_A).union(
        baseline.permissions(PATIENTS_READ, MEDSPA_A)
    )
    assert permissions.scope(A.PATIENT_READ) is TENANT
    assert permissions.scope(A.SERVICE_READ) is TENANT
    assert not permissions.allows(A.APPOINTMENT_READ)


def test_permissions_for_no_subject_denies_everything(baseline: PolicyEngine) -> None:
    permissions = baseline.permissions_for([], MEDSPA_A)

    assert permissions.grants == {}
    assert set(permissions.denials) == set(Action)


def test_without_moves_grants_to_denials_with_the_reason(baseline: PolicyEngine) -> None:
    provider = baseline.permissions(PROVIDER, MEDSPA_A)
    restricted = (A.GFE_SELF_CLEAR, A.PROVIDER_UPDATE_IDENTITY, A.MASQUERADE_START)

    masquerading = provider.without(restricted, "not while masquerading")

    for action in restricted:
        assert not masquerading.allows(action)
        assert masquerading.reason(action) == "not while masquerading"
    assert masquerading.scope(A.CHART_WRITE) is OWN
    assert provider.allows(A.GFE_SELF_CLEAR), "without() must not change the original"
    assert set(masquerading.grants) == set(provider.grants) - set(restricted)


def test_reason_of_a_grant_names_its_rule(baseline: PolicyEngine) -> None:
    permissions = baseline.permissions(PROVIDER, MEDSPA_A)

    assert permissions.reason(A.APPOINTMENT_READ) == (
        "allowed by p, provider, *, appointment, read, OWN, allow"
    )


def test_reason_of_a_denial_in_the_platform_domain(baseline: PolicyEngine) -> None:
    permissions = baseline.permissions(PCC_MANAGER, "*")

    assert permissions.reason(A.CHART_READ) == (
        "no rule grants pcc_manager chart.read in the platform domain *"
    )


def test_permission_set_is_read_only(baseline: PolicyEngine) -> None:
    permissions = baseline.permissions(PROVIDER, MEDSPA_A)

    with pytest.raises(TypeError):
        permissions.grants[A.CHART_READ] = grant(A.CHART_READ, ANY)  # type: ignore[index]
    with pytest.raises(AttributeError):
        permissions._grants = {}


def test_permission_set_refuses_an_action_both_granted_and_denied() -> None:
    with pytest.raises(ValueError, match="both granted and denied"):
        PermissionSet({A.CHART_READ: grant(A.CHART_READ, OWN)}, {A.CHART_READ: "no"})


# One Casbin consultation per (subject, domain, policy version)


@pytest.fixture
def casbin_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    enforce_ex = casbin.Enforcer.enforce_ex

    def counting_enforce_ex(self: casbin.Enforcer, *request: str) -> Any:
        calls.append(request)
        return enforce_ex(self, *request)

    def forbidden_enforce(self: casbin.Enforcer, *request: str) -> Any:
        raise AssertionError(f"enforce() called directly with {request}")

    monkeypatch.setattr(casbin.Enforcer, "enforce_ex", counting_enforce_ex)
    monkeypatch.setattr(casbin.Enforcer, "enforce", forbidden_enforce)
    return calls


def test_casbin_is_consulted_once_per_subject_and_medspa_policy(
    casbin_calls: list[tuple[str, ...]],
) -> None:
    engine = PolicyEngine()

    # A medspa without rows of its own is answered from the baseline (domain `*`).
    first = engine.permissions(PROVIDER, MEDSPA_A)
    assert sorted(casbin_calls) == sorted((PROVIDER, "*", a.resource, a.verb) for a in Action)

    assert engine.permissions(PROVIDER, MEDSPA_A) is first
    first.allows(A.CHART_READ)
    engine.permissions_for([PROVIDER], MEDSPA_A)
    assert len(casbin_calls) == len(Action)

    # Another untailored medspa costs no Casbin call; its denials still name it.
    other = engine.permissions(PROVIDER, MEDSPA_B)
    assert len(casbin_calls) == len(Action)
    assert MEDSPA_B in other.reason(A.APPOINTMENT_TYPE_MANAGE)
    assert other.grants == first.grants

    # A medspa with rows of its own is asked about in its own domain when its rows are
    # installed (the subjects those rows touch, off the request path), never afterwards.
    engine.reload([PolicyRow("p", (PROVIDER, MEDSPA_A, "earnings", "read", "OWN", "deny"))])
    installed = len(casbin_calls)
    assert {call[1] for call in casbin_calls[len(Action) :]} == {MEDSPA_A}
    assert installed == 2 * len(Action)
    tailored = engine.permissions(PROVIDER, MEDSPA_A)
    assert engine.permissions(PROVIDER, MEDSPA_A) is tailored
    assert not tailored.allows(A.EARNINGS_READ)
    assert len(casbin_calls) == installed

    # Changing medspa A's rows leaves medspa B's cached set (and Casbin) alone.
    assert engine.permissions(PROVIDER, MEDSPA_B) is other
    engine.install({MEDSPA_A: None})
    assert engine.permissions(PROVIDER, MEDSPA_B) is other
    assert engine.permissions(PROVIDER, MEDSPA_A).allows(A.EARNINGS_READ)
    assert len(casbin_calls) == installed


# --- the permission set's own contract (no database) ----------------------------------------


def test_deny_all_denies_every_action_with_its_reason() -> None:
    refused = PermissionSet.deny_all("no role or scope in glow")
    assert refused.grants == {}
    assert all(refused.reason(action) == "no role or scope in glow" for action in Action)
    assert not any(refused.allows(action) for action in Action)


def test_permission_sets_are_equal_only_when_grants_and_denials_both_match() -> None:
    grant = Grant(Action.LOCATION_READ, Scope.TENANT, "p, medspa_admin, *, location, read")
    same = PermissionSet({Action.LOCATION_READ: grant}, {Action.LOCATION_MANAGE: "no"})
    assert same == PermissionSet({Action.LOCATION_READ: grant}, {Action.LOCATION_MANAGE: "no"})
    assert same != PermissionSet({Action.LOCATION_READ: grant}, {Action.LOCATION_MANAGE: "other"})
    assert same != PermissionSet({}, {Action.LOCATION_MANAGE: "no"})


def test_policy_actions_reads_permission_rows_only(tmp_path: Path) -> None:
    """Role inheritance rows (`g`), however many fields they carry, name no action; a `p`
    row too short to name one is skipped (the policy checks reject it elsewhere)."""
    policy = tmp_path / "policy.csv"
    policy.write_text(
        "# a comment\n"
        "p, medspa_admin, *, location, read, TENANT, allow\n"
        "g, pcc_designated, pcc_virtual, *, extra\n"
        "g, pcc_designated, pcc_virtual, *\n"
        "p, provider, *, todo\n"
    )
    assert policy_actions(policy) == {"location.read"}
