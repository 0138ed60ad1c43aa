"""Seed the sandbox's demo portal, demo OAuth app and static token (idempotent).

Call ``seed_demo()`` as often as you like (every test, after a flush): it only creates what is
missing. The module constants name what it creates, so tests and scripts can use them directly.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from sandbox import catalog
from sandbox.batch_checks import value_hash
from sandbox.models import (
    AssociationLabel,
    CrmRecord,
    OAuthApp,
    Owner,
    Pipeline,
    Portal,
    PropertyDefinition,
    Token,
    UniqueValue,
)

DEMO_HUB_ID = 48213579
DEMO_PORTAL_NAME = "Riverside Care Network (demo)"
DEMO_DOMAIN = "riverside-care.example"
DISABLED_HUB_ID = 48213580
DISABLED_PORTAL_NAME = "Northwind Clinics (appointments not activated)"
DEMO_USER_ID = 71230456
DEMO_USER_EMAIL = "ops.lead@riverside-care.example"
DEMO_APP_ID = 3141592
DEMO_CLIENT_ID = "hubportal-demo-client"
DEMO_CLIENT_SECRET = "hubportal-demo-secret"  # noqa: S105 (public demo credential)
DEMO_STATIC_TOKEN = "pat-na1-5d0c7a1e-2b4f-4c8e-9a61-hubportaldemo"  # noqa: S105
DEFAULT_REDIRECT_URIS = [
    "http://127.0.0.1:8000/hubspot/oauth/callback",
    "http://localhost:8000/hubspot/oauth/callback",
]
DEMO_APP_SCOPES = [
    "oauth",
    "crm.objects.appointments.read",
    "crm.objects.appointments.write",
    "crm.schemas.appointments.read",
    # Lets the app create its row-key property (SANDBOX.md, properties).
    "crm.schemas.appointments.write",
    "crm.objects.appointments.sensitive.read.v2",
    "crm.objects.appointments.sensitive.write.v2",
    "crm.objects.contacts.read",
    "crm.objects.companies.read",
    "crm.objects.deals.read",
    "crm.objects.owners.read",
    "crm.objects.contacts.write",
]

DEMO_CONTACT_IDS = [str(51_234_500_003 + 17 * i) for i in range(60)]
DEMO_COMPANY_IDS = [str(18_771_200_011 + 23 * i) for i in range(20)]
DEMO_DEAL_IDS = [str(29_450_300_007 + 31 * i) for i in range(20)]
# More contacts, so that files naming clients by email find several hundred of them: emails
# ``client<i>@<clinic>.example``, first the 60 above (``<first>.<last><i>@example.org``).
DEMO_MORE_CONTACT_IDS = [str(51_234_600_001 + 13 * i) for i in range(400)]
# Two companies sharing one domain, and two deals sharing one name, as real portals have.
DEMO_SHARED_DOMAIN = "twin-clinics.example"
DEMO_TWIN_COMPANY_IDS = ["18771299001", "18771299002"]
DEMO_SHARED_DEAL_NAME = "Annual check-up contract"
DEMO_TWIN_DEAL_IDS = ["29450399001", "29450399002"]
# The custom unique-value identifiers of the demo records (catalog.RECORD_PROPERTIES): a patient
# number per contact (the 60 first, then the 400 more), an account number per company (the 20,
# then the two twins) and a booking reference per deal (the 20, then the two twins).
DEMO_PATIENT_NUMBERS = [f"PN-{i + 1:06d}" for i in range(60)] + [
    f"PN-{1001 + i:06d}" for i in range(400)
]
DEMO_ACCOUNT_NUMBERS = [f"AC-{1001 + i}" for i in range(20)] + ["AC-9001", "AC-9002"]
DEMO_BOOKING_REFS = [f"BR-{5001 + i}" for i in range(20)] + ["BR-9901", "BR-9902"]
# (owner id, user id, email, first name, last name, archived): HubSpot owners, one deactivated.
DEMO_OWNERS = [
    ("70110001", 9_100_001, "nadia.haddad@riverside-care.example", "Nadia", "Haddad", False),
    ("70110002", 9_100_002, "tom.keller@riverside-care.example", "Tom", "Keller", False),
    ("70110003", 9_100_003, "lea.moreau@riverside-care.example", "Léa", "Moreau", False),
    ("70110004", 9_100_004, "sam.ortiz@riverside-care.example", "Sam", "Ortiz", True),
]

_FIRST = ["Amina", "Bruno", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Inès", "Jonas"]
_LAST = ["Rivera", "Martin", "Nguyen", "Okafor", "Dubois", "Schmidt"]
_COMPANY = [
    "Acme",
    "Bellevue",
    "Cedar",
    "Dunmore",
    "Elmstead",
    "Fairview",
    "Glenwood",
    "Harbor",
    "Ironbridge",
    "Juniper",
]


def seed_demo() -> Portal:
    """Create (if missing) the demo portal, its schema and records, the demo app and static token.

    Returns the demo ``Portal``. Also creates a second portal, ``DISABLED_HUB_ID``, whose
    appointments object is not activated (https://developers.hubspot.com/docs/api-reference/latest/crm/crm-data-model/guide).
    """
    with transaction.atomic():
        portal, _ = Portal.objects.get_or_create(
            hub_id=DEMO_HUB_ID, defaults={"name": DEMO_PORTAL_NAME, "domain": DEMO_DOMAIN}
        )
        _seed_schema(portal)
        _seed_records(portal)
        other, _ = Portal.objects.get_or_create(
            hub_id=DISABLED_HUB_ID,
            defaults={
                "name": DISABLED_PORTAL_NAME,
                "domain": "northwind-clinics.example",
                "appointments_enabled": False,
            },
        )
        _seed_schema(other)
        app, _ = OAuthApp.objects.get_or_create(
            client_id=DEMO_CLIENT_ID,
            defaults={
                "app_id": DEMO_APP_ID,
                "name": "hubportal (demo app)",
                "client_secret": DEMO_CLIENT_SECRET,
                "redirect_uris": list(DEFAULT_REDIRECT_URIS),
                "scopes": list(DEMO_APP_SCOPES),
            },
        )
        Token.objects.get_or_create(
            token=DEMO_STATIC_TOKEN,
            defaults={
                "kind": Token.Kind.ACCESS,
                "app": app,
                "portal": portal,
                "user_id": DEMO_USER_ID,
                "scopes": list(DEMO_APP_SCOPES),
                "expires_at": None,
            },
        )
    return portal


def register_redirect_uri(uri: str) -> None:
    """Register ``uri`` (exact string) as a redirect URI of the demo app; seeds first if needed."""
    seed_demo()
    with transaction.atomic():
        app = OAuthApp.objects.select_for_update().get(client_id=DEMO_CLIENT_ID)
        if uri not in app.redirect_uris:
            app.redirect_uris = [*app.redirect_uris, uri]
            app.save(update_fields=["redirect_uris"])


def _seed_schema(portal: Portal) -> None:
    definitions = {
        catalog.APPOINTMENTS: catalog.APPOINTMENT_PROPERTIES,
        **{
            object_type: [(definition, False) for definition in listed]
            for object_type, listed in catalog.RECORD_PROPERTIES.items()
        },
    }
    seeded = set(
        PropertyDefinition.objects.filter(portal=portal).values_list("object_type", flat=True)
    )
    PropertyDefinition.objects.bulk_create(
        PropertyDefinition(
            portal=portal,
            object_type=object_type,
            name=definition["name"],
            definition=definition,
            required=required,
        )
        for object_type, listed in definitions.items()
        if object_type not in seeded
        for definition, required in listed
    )
    if not AssociationLabel.objects.filter(portal=portal).exists():
        AssociationLabel.objects.bulk_create(
            AssociationLabel(
                portal=portal,
                from_object_type=catalog.APPOINTMENTS,
                to_object_type=to_type,
                category=category,
                type_id=type_id,
                label=label,
            )
            for to_type, category, type_id, label in catalog.APPOINTMENT_LABELS
        )
    if not Pipeline.objects.filter(portal=portal).exists():
        created = timezone.now()
        stamp = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        Pipeline.objects.create(
            portal=portal,
            object_type=catalog.APPOINTMENTS,
            pipeline_id="0",
            label="Appointments",
            created_at=created,
            stages=[
                {
                    "id": stage_id,
                    "label": label,
                    "displayOrder": order,
                    "metadata": {},
                    "archived": False,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
                for stage_id, label, order in catalog.APPOINTMENT_STAGES
            ],
        )


def _seed_records(portal: Portal) -> None:
    if CrmRecord.objects.filter(portal=portal).exclude(object_type=catalog.APPOINTMENTS).exists():
        return
    # The demo portal's contacts, companies and deals were made long before any test or demo:
    # HubSpot's search has long since indexed them (its lag concerns new writes only).
    now = timezone.now() - timedelta(days=30)
    records = []
    for i, record_id in enumerate(DEMO_CONTACT_IDS):
        first, last = _FIRST[i % len(_FIRST)], _LAST[i % len(_LAST)]
        props = {
            "firstname": first,
            "lastname": last,
            "email": f"{first.lower()}.{last.lower()}{i}@example.org",
            "patient_number": DEMO_PATIENT_NUMBERS[i],
        }
        records.append((catalog.CONTACTS, record_id, props))
    for i, record_id in enumerate(DEMO_COMPANY_IDS):
        name = f"{_COMPANY[i % len(_COMPANY)]} {'Health' if i < 10 else 'Partners'}"
        domain = f"{name.lower().replace(' ', '-')}.example"
        props = {"name": name, "domain": domain, "account_number": DEMO_ACCOUNT_NUMBERS[i]}
        records.append((catalog.COMPANIES, record_id, props))
    for i, record_id in enumerate(DEMO_DEAL_IDS):
        props = {
            "dealname": f"Care plan {2026 + i // 10}-{i:02d}",
            "amount": str(1200 + 150 * i),
            "booking_ref": DEMO_BOOKING_REFS[i],
        }
        records.append((catalog.DEALS, record_id, props))
    for i, record_id in enumerate(DEMO_MORE_CONTACT_IDS):
        first, last = _FIRST[(i + 3) % len(_FIRST)], _LAST[(i + 1) % len(_LAST)]
        clinic = _COMPANY[i % len(_COMPANY)].lower()
        props = {
            "firstname": first,
            "lastname": last,
            "email": f"client{i}@{clinic}.example",
            "patient_number": DEMO_PATIENT_NUMBERS[60 + i],
        }
        records.append((catalog.CONTACTS, record_id, props))
    for i, record_id in enumerate(DEMO_TWIN_COMPANY_IDS):
        props = {
            "name": f"Twin Clinics {'North' if i == 0 else 'South'}",
            "domain": DEMO_SHARED_DOMAIN,
            "account_number": DEMO_ACCOUNT_NUMBERS[20 + i],
        }
        records.append((catalog.COMPANIES, record_id, props))
    for i, record_id in enumerate(DEMO_TWIN_DEAL_IDS):
        props = {
            "dealname": DEMO_SHARED_DEAL_NAME,
            "amount": str(900 + 100 * i),
            "booking_ref": DEMO_BOOKING_REFS[20 + i],
        }
        records.append((catalog.DEALS, record_id, props))
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    CrmRecord.objects.bulk_create(
        CrmRecord(
            portal=portal,
            object_type=object_type,
            record_id=record_id,
            properties={
                **props,
                "hs_object_id": record_id,
                "createdate": stamp,
                "hs_createdate": stamp,
                "hs_lastmodifieddate": stamp,
            },
            created_at=now,
            updated_at=now,
        )
        for object_type, record_id, props in records
    )
    # Their unique values, as a create stores them (sandbox.batch): what reads by idProperty use.
    unique = {
        object_type: [d["name"] for d in listed if d["hasUniqueValue"]]
        for object_type, listed in catalog.RECORD_PROPERTIES.items()
    }
    UniqueValue.objects.bulk_create(
        UniqueValue(
            portal=portal,
            object_type=object_type,
            property=name,
            value_hash=value_hash(props[name]),
            record_id=record_id,
        )
        for object_type, record_id, props in records
        for name in unique.get(object_type, ())
        if props.get(name)
    )
    Owner.objects.bulk_create(
        Owner(
            portal=portal,
            owner_id=owner_id,
            user_id=user_id,
            email=email,
            first_name=first,
            last_name=last,
            archived=archived,
            created_at=now,
            updated_at=now,
        )
        for owner_id, user_id, email, first, last, archived in DEMO_OWNERS
    )
