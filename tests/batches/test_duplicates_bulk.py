"""The duplicate check against HubSpot in bulk: a bounded number of calls for N rows, exact
matches by (start, contact in common) and by unique value, never the app's own records."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchRow, Portal
from appointments.services.duplicates import batch_duplicates_search_hubspot
from appointments.services.portals import portal_client
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS, CrmRecord
from sandbox.models import Portal as SandboxPortal
from sandbox.seed import DEMO_CONTACT_IDS
from tests.batches.test_duplicates import hubspot_create
from tests.helpers import batch_from_upload

BASE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HEADER = "Appointment name,Start time,hs_appointment_end,contact_ids"


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seed(
    hub_id: int, object_type: str, records: list[tuple[str, dict[str, str], list[str]]]
) -> None:
    """Records made in HubSpot long ago (past search's lag), written straight into the
    sandbox's table: ``(record id, properties, associated contact ids)``."""
    portal = SandboxPortal.objects.get(hub_id=hub_id)
    long_ago = timezone.now() - timedelta(days=30)
    CrmRecord.objects.bulk_create(
        CrmRecord(
            portal=portal,
            object_type=object_type,
            record_id=record_id,
            properties={**props, "hs_object_id": record_id},
            associations=[
                {
                    "toObjectTypeId": "0-1",
                    "toObjectId": contact,
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": 906,
                }
                for contact in contacts
            ],
            created_at=long_ago,
            updated_at=long_ago,
        )
        for record_id, props, contacts in records
    )


def appointment(name: str, start: datetime) -> dict[str, str]:
    end = start + timedelta(minutes=30)
    return {"hs_appointment_name": name, "hs_appointment_start": stamp(start)}.copy() | {
        "hs_appointment_end": stamp(end)
    }


def batch_of(
    user: User, portal: Portal, rows: list[tuple[datetime, str]], extra: str = ""
) -> Batch:
    lines = [HEADER + extra]
    for number, (start, contact) in enumerate(rows):
        end = start + timedelta(minutes=30)
        lines.append(f"Visit {number},{start:%Y-%m-%d %H:%M},{end:%Y-%m-%d %H:%M},{contact}")
    data = ("\n".join(lines) + "\n").encode()
    batch = batch_from_upload(user=user, portal=portal, data=data, filename="bulk.csv")
    assert batch.rows.filter(state=BatchRow.State.READY).count() == len(rows)
    return batch


def test_a_thousand_rows_and_contacts_cost_ten_searches_and_one_association_read(
    hubspot: Any, portal: Portal, user: User
) -> None:
    count = 1000
    contacts = [str(81_000_000_000 + n) for n in range(count)]
    seed(
        hubspot.hub_id,
        "0-1",
        [(c, {"email": f"c{n}@bulk.example"}, []) for n, c in enumerate(contacts)],
    )
    starts = [BASE + timedelta(minutes=15 * n) for n in range(count)]
    existing = [
        # Rows 0-299: the same start and contact (duplicates).
        *(
            (str(62_000_000_000 + n), appointment("Same", starts[n]), [contacts[n]])
            for n in range(300)
        ),
        # Rows 300-599: the same start, another contact.
        *(
            (str(62_000_000_000 + n), appointment("Other contact", starts[n]), [contacts[n - 1]])
            for n in range(300, 600)
        ),
        # Rows 600-899: the same contact, a minute later.
        *(
            (
                str(62_000_000_000 + n),
                appointment("Other start", starts[n] + timedelta(minutes=1)),
                [contacts[n]],
            )
            for n in range(600, 900)
        ),
    ]
    seed(hubspot.hub_id, "0-421", existing)
    batch = batch_of(user, portal, list(zip(starts, contacts, strict=True)))
    first = hubspot.journal()[-1].id

    found = batch_duplicates_search_hubspot(user=user, batch=batch)

    calls = [e for e in hubspot.journal() if e.id > first]
    searches = [e for e in calls if e.path.endswith("/search")]
    reads = [e for e in calls if e.path.endswith("/0-421/0-1/batch/read")]
    assert len(searches) == math.ceil(count / 100)
    # The candidates: the 600 appointments at one of the rows' starts.
    assert len(reads) == math.ceil(600 / 1000)
    assert len(calls) == len(searches) + len(reads)
    assert all(e.status == 200 for e in searches)
    asked = json.loads(searches[0].request_body)
    assert asked["properties"] == ["hs_appointment_start"] and asked["limit"] == 200
    assert len(asked["filterGroups"][0]["filters"][0]["values"]) == 100
    assert found == 300
    batch.refresh_from_db()
    first_row = batch.rows.order_by("row_number").values_list("row_number", flat=True)[0]
    assert batch.hubspot_duplicates == [
        {"row": first_row + n, "record_id": str(62_000_000_000 + n)} for n in range(300)
    ]


def test_it_matches_exactly_by_start_and_contact_and_by_unique_value(
    hubspot: Any, portal: Portal, user: User
) -> None:
    one, two, three = DEMO_CONTACT_IDS[:3]
    nine, ten = BASE, BASE + timedelta(hours=1)
    same = hubspot_create(hubspot, stamp(nine), one)
    hubspot_create(hubspot, stamp(nine), three)  # same start, a contact no row has then
    hubspot_create(hubspot, stamp(ten + timedelta(minutes=5)), two)  # same contact, later
    booked = hubspot_create(
        hubspot, stamp(ten + timedelta(days=3)), three, **{"external_booking_ref": "bk-1042"}
    )
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    lines = [
        (nine, one, "bk-1"),  # row 2: same start and contact
        (nine, two, "bk-2"),  # row 3: same start, another contact
        (ten, two, "bk-3"),  # row 4: same contact, another start
        (ten, three, "bk-1042"),  # row 5: the unique value of "booked"
    ]
    text = [HEADER + ",external_booking_ref"] + [
        f"V,{s:%Y-%m-%d %H:%M},{s + timedelta(minutes=30):%Y-%m-%d %H:%M},{c},{ref}"
        for s, c, ref in lines
    ]
    batch = batch_from_upload(
        user=user, portal=portal, data=("\n".join(text) + "\n").encode(), filename="x.csv"
    )

    assert batch_duplicates_search_hubspot(user=user, batch=batch) == 2
    batch.refresh_from_db()
    assert batch.hubspot_duplicates == [
        {"row": 2, "record_id": same},
        {"row": 5, "record_id": booked},
    ]
    reads = hubspot.journal("/0-421/batch/read")
    assert [json.loads(e.request_body)["idProperty"] for e in reads][-1] == "external_booking_ref"


def test_a_record_the_app_created_is_never_a_duplicate_of_itself(
    hubspot: Any, portal: Portal, user: User, logged_client: Any
) -> None:
    rows = [(BASE + timedelta(minutes=15 * n), DEMO_CONTACT_IDS[n]) for n in range(3)]
    sent = batch_of(user, portal, rows)
    logged_client.post(reverse("appointments:batch-submit", args=[sent.pk]))
    assert sent.rows.filter(state=BatchRow.State.CREATED).count() == 3
    # Long enough for search to see the app's records: they are found, and set aside.
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    again = batch_of(user, portal, rows)

    assert batch_duplicates_search_hubspot(user=user, batch=again) == 0
    assert len(hubspot.journal("/search")) == 1
    assert [e for e in hubspot.journal("/crm/associations/") if "batch/read" in e.path] == []


def test_it_splits_searches_that_match_more_than_search_reaches(
    hubspot: Any, portal: Portal, user: User, monkeypatch: Any
) -> None:
    # HubSpot stops a query at 10,000 results; the same rule at 150 (sandbox and app alike)
    # shows the split with hundreds of records instead of tens of thousands.
    monkeypatch.setattr("sandbox.search.MAX_RESULTS", 150)
    monkeypatch.setattr("appointments.services.duplicates.SEARCH_RESULTS_LIMIT", 150)
    starts = [BASE + timedelta(hours=n) for n in range(5)]
    wanted = [DEMO_CONTACT_IDS[n] for n in range(5)]
    crowd = [str(83_000_000_000 + n) for n in range(200)]
    seed(hubspot.hub_id, "0-1", [(c, {"email": f"k{c}@bulk.example"}, []) for c in crowd])
    existing = []
    for n, start in enumerate(starts):
        # 60 appointments at each of the first four starts, 160 at the last one; one of each
        # start's has the row's contact.
        for k in range(60 if n < 4 else 160):
            contact = wanted[n] if k == 59 else crowd[k]
            existing.append(
                (str(63_000_000_000 + 1000 * n + k), appointment("Busy", start), [contact])
            )
    seed(hubspot.hub_id, "0-421", existing)
    batch = batch_of(user, portal, list(zip(starts, wanted, strict=True)))

    assert batch_duplicates_search_hubspot(user=user, batch=batch) == 5
    batch.refresh_from_db()
    assert [hit["record_id"] for hit in batch.hubspot_duplicates] == [
        str(63_000_000_000 + 1000 * n + 59) for n in range(5)
    ]
    bodies = [json.loads(e.request_body) for e in hubspot.journal("/0-421/search")]
    # The last start alone still matches 160: it is searched with its rows' contacts.
    last = bodies[-1]["filterGroups"][0]["filters"]
    assert last[1] == {
        "propertyName": "associations.contact",
        "operator": "IN",
        "values": [wanted[4]],
    }


def test_the_batch_page_states_the_search_lag(
    hubspot: Any, portal: Portal, user: User, logged_client: Any
) -> None:
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0])])
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert 'id="search-duplicates"' in page.text
    assert "one made in HubSpot in the last seconds may be missed" in page.text


def test_it_waits_out_search_s_own_limit_when_another_client_searches(
    hubspot: Any, portal: Portal, user: User, settings: Any
) -> None:
    # The app paces at 10 searches a second, the portal allows 1: as when another app of the
    # portal uses part of it. Each 429 is tried again a second later.
    settings.HUBSPOT_SEARCH_PER_SECOND = 10
    hubspot.set_limits(search_per_second=1)
    contacts = DEMO_CONTACT_IDS[:10]
    rows = [(BASE + timedelta(minutes=15 * n), contacts[n % 10]) for n in range(300)]
    seed(
        hubspot.hub_id,
        "0-421",
        [
            (str(65_000_000_000 + n), appointment("Phone", rows[n][0]), [rows[n][1]])
            for n in (0, 299)
        ],
    )
    batch = batch_of(user, portal, rows)

    assert batch_duplicates_search_hubspot(user=user, batch=batch) == 2
    statuses = [e.status for e in hubspot.journal("/0-421/search")]
    assert statuses.count(200) == 3 and 429 in statuses


def test_it_reads_every_contact_of_an_appointment_past_one_answer(
    hubspot: Any, portal: Portal, monkeypatch: Any
) -> None:
    # HubSpot lists a record's associations a page at a time; one per page shows the cursor.
    monkeypatch.setattr("sandbox.views.associations.ASSOCIATIONS_PAGE", 1)
    contacts = DEMO_CONTACT_IDS[:3]
    seed(hubspot.hub_id, "0-421", [("66000000001", appointment("Group", BASE), contacts)])

    with portal_client(portal=portal) as client:
        linked = client.read_associations("0-421", "0-1", ["66000000001", "66000000002"])

    assert linked == {"66000000001": set(contacts)}
    reads = hubspot.journal("/0-421/0-1/batch/read")
    assert [json.loads(e.request_body)["inputs"] for e in reads] == [
        [{"id": "66000000001"}, {"id": "66000000002"}],
        [{"id": "66000000001", "after": "1"}],
        [{"id": "66000000001", "after": "2"}],
    ]
