"""Library and catalogue: import, price-only edits, custom services, consent versioning."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.services.helpers import codes, gid, rows, scalar, sid

UPDATE = """mutation($id: ID!, $input: UpdateServiceInput!) {
    updateService(id: $id, input: $input) {
    service { id name priceCents description standingOrders } errors { code field } } }"""
IMPORT = """mutation($ids: [ID!]!) { importLibraryServices(libraryServiceIds: $ids) {
    services { id name priceCents active imported consents { title version fromLibrary } }
    errors { code field } } }"""
CREATE_DOC = """mutation($k: ServiceDocumentKind!, $t: String!, $b: String!) {
    createServiceDocument(kind: $k, title: $t, body: $b) {
    document { id lineageId version title } errors { code field } } }"""
CREATE_GROUP = """mutation($n: String!) { createServiceGroup(name: $n) {
    group { id name } errors { code field } } }"""
CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) {
    service { id name active imported consents { id title version } careMessages { id } }
    errors { code field } } }"""
REVISE = """mutation($id: ID!, $t: String!, $b: String!, $apply: Boolean!) {
    reviseServiceDocument(id: $id, title: $t, body: $b, applyToServices: $apply) {
    document { id lineageId version title body } errors { code field } } }"""
ACTIVATE = """mutation($id: ID!, $a: Boolean!) { setServiceActive(id: $id, active: $a) {
    service { id active } errors { code } } }"""

DANA = "dana@glow.example"


async def _new_library_service(gql: Gql, name: str = "Sculptra") -> str:
    library = await gql("{ serviceLibrary { id name } }", as_="ops@portrait.example")
    group = next(g for g in library.data["serviceLibrary"] if g["name"] == "Dermal fillers")
    created = await gql(
        """mutation($g: ID!, $input: LibraryServiceInput!) {
            createLibraryService(groupId: $g, input: $input) {
            libraryService { id name version } errors { code field } } }""",
        {
            "g": group["id"],
            "input": {
                "name": name,
                "description": "Poly-L-lactic acid biostimulator.",
                "defaultPriceCents": 90_000,
                "standingOrders": "Reconstitute 48 hours ahead.",
                "consents": [{"title": f"{name} consent", "body": "I consent to PLLA."}],
                "careMessages": [{"title": f"{name} aftercare", "body": "Massage 5-5-5."}],
            },
        },
        as_="ops@portrait.example",
    )
    payload = created.data["createLibraryService"]
    assert payload["errors"] == [], payload
    return str(payload["libraryService"]["id"])


async def test_seed_imports_the_library_active_into_every_medspa(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    library = await gql(
        "{ serviceLibrary { name services { name defaultPriceCents consents { title } } } }",
        as_=DANA,
    )
    names = {s["name"] for g in library.data["serviceLibrary"] for s in g["services"]}
    assert {"Botox Cosmetic", "Juvederm Ultra XC", "VI Peel", "Kybella", "Microneedling"} <= names
    assert {"Vitamin B-12 injection", "PRF under-eye"} <= names
    for slug in ("glow", "radiance", "legacy"):
        inactive = await scalar(
            owner_engine,
            "SELECT count(*) FROM service WHERE medspa_id = :m AND (NOT active"
            " OR library_service_id IS NULL)",
            m=demo.medspas[slug],
        )
        assert inactive == 0
        assert len(demo.services[slug]) == len(names)
    glow = await gql(
        "{ services(first: 100) { edges { node { name active imported } } } }", as_=DANA
    )
    assert len(glow.data["services"]["edges"]) == len(names)


async def test_glow_imports_a_library_service_and_edits_only_its_price(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    library_id = await _new_library_service(gql)
    imported = await gql(IMPORT, {"ids": [library_id]}, as_=DANA)
    payload = imported.data["importLibraryServices"]
    assert payload["errors"] == [], payload
    (service,) = payload["services"]
    assert service["imported"] and not service["active"] and service["priceCents"] == 90_000
    assert service["consents"] == [{"title": "Sculptra consent", "version": 1, "fromLibrary": True}]

    again = await gql(IMPORT, {"ids": [library_id]}, as_=DANA)
    assert codes(again.data["importLibraryServices"]) == ["ALREADY_IMPORTED"]

    priced = await gql(UPDATE, {"id": service["id"], "input": {"priceCents": 85_000}}, as_=DANA)
    assert priced.data["updateService"]["service"]["priceCents"] == 85_000

    for field, value in (
        ("name", "My Sculptra"),
        ("description", "x"),
        ("standingOrders", "x"),
    ):
        locked = await gql(
            UPDATE, {"id": service["id"], "input": {field: value, "priceCents": 1}}, as_=DANA
        )
        assert locked.data["updateService"]["errors"] == [
            {"code": "LIBRARY_FIELD_LOCKED", "field": field}
        ]
    # Nothing of the refused edits landed, not even their price.
    row = (
        await rows(
            owner_engine,
            "SELECT name, price_cents FROM service WHERE medspa_id = :m AND name = 'Sculptra'",
            m=demo.medspas["glow"],
        )
    )[0]
    assert tuple(row) == ("Sculptra", 85_000)
    failed = [r for r in await audit.rows(action="service.manage") if r["outcome"] == "FAILED"]
    assert len(failed) == 4  # ALREADY_IMPORTED and the three locked edits


async def test_library_updates_reach_imported_services_but_not_their_price(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    botox = sid(demo, "glow", "Botox Cosmetic")
    await gql(UPDATE, {"id": botox, "input": {"priceCents": 39_900}}, as_=DANA)
    library_id = gid("LibraryService", demo.library_services["Botox Cosmetic"])
    updated = await gql(
        """mutation($id: ID!, $input: LibraryServiceInput!) {
            updateLibraryService(id: $id, input: $input) {
            libraryService { version } errors { code } } }""",
        {
            "id": library_id,
            "input": {
                "description": "Updated label: glabellar, lateral canthal and forehead lines.",
                "defaultPriceCents": 50_000,
                "consents": [{"title": "Botox Cosmetic consent", "body": "Revised consent."}],
            },
        },
        as_="ops@portrait.example",
    )
    assert updated.data["updateLibraryService"]["libraryService"]["version"] == 2
    glow = await gql(
        """query($id: ID!) { node(id: $id) { ... on Service { priceCents description
            libraryVersion consents { body version } } } }""",
        {"id": botox},
        as_=DANA,
    )
    node = glow.data["node"]
    assert node["priceCents"] == 39_900  # Glow's price survives
    assert node["description"].startswith("Updated label")
    assert node["libraryVersion"] == 2
    assert node["consents"] == [{"body": "Revised consent.", "version": 2}]
    # Radiance never set its own price: it keeps the one it imported (its own to change).
    radiance = await scalar(
        owner_engine,
        "SELECT price_cents FROM service WHERE id = :id",
        id=demo.services["radiance"]["Botox Cosmetic"],
    )
    assert radiance == 45_000
    # The old consent version is still there for patients who signed it.
    versions = await scalar(
        owner_engine,
        "SELECT count(*) FROM service_document WHERE medspa_id = :m"
        " AND title = 'Botox Cosmetic consent'",
        m=demo.medspas["glow"],
    )
    assert versions == 2


async def test_glow_creates_a_custom_service_with_its_own_consent(gql: Gql, demo: DemoIds) -> None:
    group = await gql(CREATE_GROUP, {"n": "Signature facials"}, as_=DANA)
    group_id = group.data["createServiceGroup"]["group"]["id"]
    consent = await gql(
        CREATE_DOC,
        {"k": "CONSENT", "t": "Glow HydraGlow consent", "b": "I consent to the HydraGlow."},
        as_=DANA,
    )
    consent_id = consent.data["createServiceDocument"]["document"]["id"]
    care = await gql(
        CREATE_DOC, {"k": "CARE_MESSAGE", "t": "HydraGlow aftercare", "b": "SPF."}, as_=DANA
    )
    care_id = care.data["createServiceDocument"]["document"]["id"]
    created = await gql(
        CREATE_SERVICE,
        {
            "input": {
                "groupId": group_id,
                "name": "HydraGlow facial",
                "priceCents": 18_000,
                "standingOrders": "No active rosacea flare.",
                "documentIds": [consent_id, care_id],
            }
        },
        as_=DANA,
    )
    payload = created.data["createService"]
    assert payload["errors"] == [], payload
    service = payload["service"]
    assert not service["imported"] and not service["active"]
    assert [c["title"] for c in service["consents"]] == ["Glow HydraGlow consent"]
    assert len(service["careMessages"]) == 1
    renamed = await gql(
        UPDATE, {"id": service["id"], "input": {"name": "HydraGlow signature"}}, as_=DANA
    )
    assert renamed.data["updateService"]["service"]["name"] == "HydraGlow signature"
    active = await gql(ACTIVATE, {"id": service["id"], "a": True}, as_=DANA)
    assert active.data["setServiceActive"]["service"]["active"] is True
    # Radiance does not see it.
    radiance = await gql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": service["id"]},
        as_="ruth@radiance.example",
    )
    assert radiance.data["node"] is None


async def test_consent_versions_are_new_rows_and_services_point_at_versions(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    group = await gql(CREATE_GROUP, {"n": "Body"}, as_=DANA)
    v1 = (
        await gql(CREATE_DOC, {"k": "CONSENT", "t": "Body consent", "b": "Version one."}, as_=DANA)
    ).data["createServiceDocument"]["document"]
    first = await gql(
        CREATE_SERVICE,
        {
            "input": {
                "groupId": group.data["createServiceGroup"]["group"]["id"],
                "name": "Body contouring",
                "priceCents": 1000,
                "documentIds": [v1["id"]],
            }
        },
        as_=DANA,
    )
    service_id = first.data["createService"]["service"]["id"]
    v2 = (
        await gql(
            REVISE,
            {"id": v1["id"], "t": "Body consent", "b": "Version two.", "apply": False},
            as_=DANA,
        )
    ).data["reviseServiceDocument"]["document"]
    assert v2["version"] == 2 and v2["lineageId"] == v1["lineageId"] and v2["id"] != v1["id"]
    consents = (
        """query($id: ID!) { node(id: $id) { ... on Service { consents { id version body } } } }"""
    )
    still = await gql(consents, {"id": service_id}, as_=DANA)
    assert still.data["node"]["consents"] == [
        {"id": v1["id"], "version": 1, "body": "Version one."}
    ]
    pointed = await gql(
        """mutation($id: ID!, $d: [ID!]!) { setServiceDocuments(id: $id, documentIds: $d) {
            service { consents { version } } errors { code } } }""",
        {"id": service_id, "d": [v2["id"]]},
        as_=DANA,
    )
    assert pointed.data["setServiceDocuments"]["service"]["consents"] == [{"version": 2}]
    v3 = (
        await gql(
            REVISE,
            {"id": v2["id"], "t": "Body consent", "b": "Version three.", "apply": True},
            as_=DANA,
        )
    ).data["reviseServiceDocument"]["document"]
    moved = await gql(consents, {"id": service_id}, as_=DANA)
    assert moved.data["node"]["consents"] == [
        {"id": v3["id"], "version": 3, "body": "Version three."}
    ]
    history = await gql(
        """query($l: ID!) { serviceDocuments(lineageId: $l) {
            edges { node { version body } } } }""",
        {"l": v1["lineageId"]},
        as_=DANA,
    )
    assert [e["node"]["body"] for e in history.data["serviceDocuments"]["edges"]] == [
        "Version one.",
        "Version two.",
        "Version three.",
    ]
    both_versions = await gql(
        """mutation($id: ID!, $d: [ID!]!) { setServiceDocuments(id: $id, documentIds: $d) {
            errors { code field } } }""",
        {"id": service_id, "d": [v1["id"], v3["id"]]},
        as_=DANA,
    )
    assert codes(both_versions.data["setServiceDocuments"]) == ["VALIDATION"]
    # The app role cannot rewrite a version in place.
    grants = await scalar(
        owner_engine,
        "SELECT has_table_privilege('medspa_app', 'service_document', 'UPDATE')",
    )
    assert grants is False


async def test_library_documents_and_fields_are_locked_for_the_medspa(
    gql: Gql, demo: DemoIds
) -> None:
    botox = sid(demo, "glow", "Botox Cosmetic")
    consent = await gql(
        """query($id: ID!) { node(id: $id) { ... on Service { consents { id } } } }""",
        {"id": botox},
        as_=DANA,
    )
    consent_id = consent.data["node"]["consents"][0]["id"]
    revised = await gql(
        REVISE, {"id": consent_id, "t": "Mine", "b": "Mine", "apply": True}, as_=DANA
    )
    assert codes(revised.data["reviseServiceDocument"]) == ["LIBRARY_FIELD_LOCKED"]
    documents = await gql(
        """mutation($id: ID!) { setServiceDocuments(id: $id, documentIds: []) {
            errors { code field } } }""",
        {"id": botox},
        as_=DANA,
    )
    assert documents.data["setServiceDocuments"]["errors"] == [
        {"code": "LIBRARY_FIELD_LOCKED", "field": "documentIds"}
    ]


async def test_legacy_has_the_library_only(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    lena = "lena@legacy.example"
    group = await gql(CREATE_GROUP, {"n": "Custom"}, as_=lena)
    assert codes(group.data["createServiceGroup"]) == ["FEATURE_UNAVAILABLE"]
    doc = await gql(CREATE_DOC, {"k": "CONSENT", "t": "x", "b": "y"}, as_=lena)
    assert codes(doc.data["createServiceDocument"]) == ["FEATURE_UNAVAILABLE"]
    before = await scalar(owner_engine, "SELECT count(*) FROM service_group")
    # Library services: price and activation are still theirs.
    kybella = sid(demo, "legacy", "Kybella")
    priced = await gql(UPDATE, {"id": kybella, "input": {"priceCents": 55_000}}, as_=lena)
    assert priced.data["updateService"]["service"]["priceCents"] == 55_000
    off = await gql(ACTIVATE, {"id": kybella, "a": False}, as_=lena)
    assert off.data["setServiceActive"]["service"]["active"] is False
    assert await scalar(owner_engine, "SELECT count(*) FROM service_group") == before


async def test_only_active_services_link_to_appointment_types(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    kybella = sid(demo, "glow", "Kybella")
    await gql(ACTIVATE, {"id": kybella, "a": False}, as_=DANA)
    link = """mutation($t: ID!, $s: [ID!]!) { setAppointmentTypeServices(appointmentTypeId: $t,
        serviceIds: $s) { services { name } errors { code field } } }"""
    type_id = gid("AppointmentType", demo.appointment_types["glow"]["Neuromodulator"])
    refused = await gql(link, {"t": type_id, "s": [kybella]}, as_=DANA)
    assert refused.data["setAppointmentTypeServices"]["errors"] == [
        {"code": "SERVICE_INACTIVE", "field": "serviceIds"}
    ]
    linked = await gql(
        link,
        {"t": type_id, "s": [sid(demo, "glow", "Dysport"), sid(demo, "glow", "Xeomin")]},
        as_=DANA,
    )
    assert [s["name"] for s in linked.data["setAppointmentTypeServices"]["services"]] == [
        "Dysport",
        "Xeomin",
    ]
    public = await gql("{ services(activeOnly: true) { edges { node { name } } } }", as_=DANA)
    assert "Kybella" not in {e["node"]["name"] for e in public.data["services"]["edges"]}
