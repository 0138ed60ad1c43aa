"""The intake commands for scripts: import_appointments (dry run and send), portal_add."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from appointments.models import Batch, BatchRow, Portal, SavedMapping, Upload
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS
from tests.batches.test_duplicates import hubspot_create
from tests.intake_fixtures import CORPUS
from tests.web import creates

# The ``user`` fixture (an admin), who owns the ``portal`` fixture.
ADMIN_NAME = "ops-amina"


def run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("import_appointments", *args, "--user", ADMIN_NAME, stdout=out)
    return json.loads(out.getvalue())


def write_csv(tmp_path: Path, lines: list[str], name: str = "export.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


LINES = [
    "Appointment name,Start time,Appointment status,contact_ids,Venue",
    f"Intake visit,2026-12-03 14:00,Scheduled,{DEMO_CONTACT_IDS[0]};{DEMO_CONTACT_IDS[1]},",
    "Follow-up,2026-12-04 25:00,Tentative,51234.5,",
]


def test_it_prints_what_would_be_sent_and_sends_nothing_on_a_dry_run(
    portal: Portal, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, LINES)

    output = run(path, "--portal", str(portal.hub_id), "--timezone", "Europe/Paris", "--dry-run")

    first, second = output["rows"]
    assert first == {
        "row": 2,
        "properties": {
            "hs_appointment_name": "Intake visit",
            "hs_appointment_start": "2026-12-03T13:00:00Z",
            "hs_appointment_status": "scheduled",
        },
        "associations": [
            {"to_object_type": "0-1", "id": DEMO_CONTACT_IDS[0], "association_type_id": 906},
            {"to_object_type": "0-1", "id": DEMO_CONTACT_IDS[1], "association_type_id": 906},
        ],
        "errors": [],
        "duplicates": [],
        "action": "create",
    }
    assert second["row"] == 3
    assert "action" not in second  # invalid: not sent at all
    assert [(e["column"], e["value"], e["code"]) for e in second["errors"]] == [
        ("Start time", "2026-12-04 25:00", "invalid_datetime"),
        ("Appointment status", "Tentative", "invalid_option"),
        ("contact_ids", "51234.5", "invalid_record_id"),
    ]
    assert all(e["message"].startswith("Row 3") for e in second["errors"])
    assert output["summary"] == {"total": 2, "valid": 1, "invalid": 1, "duplicates": 0}
    assert not Batch.objects.exists()
    assert creates() == []


def test_it_creates_the_batch_and_sends_the_valid_rows_without_dry_run(
    portal: Portal, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, LINES)

    output = run(path, "--portal", str(portal.hub_id), "--timezone", "Europe/Paris")

    batch = Batch.objects.get()
    assert output["batch"]["id"] == str(batch.pk)
    assert output["batch"]["queued"] == 1
    assert batch.created_by == portal.connected_by
    assert [len(body["inputs"]) for body in creates()] == [1]
    assert creates()[0]["inputs"][0]["properties"]["hs_appointment_name"] == "Intake visit"
    states = dict(batch.rows.values_list("row_number", "state"))
    assert states == {2: BatchRow.State.CREATED, 3: BatchRow.State.INVALID}


def test_it_uses_a_saved_mapping_by_name(portal: Portal, tmp_path: Path) -> None:
    SavedMapping.objects.create(
        portal=portal,
        name="Venues",
        columns=[
            {
                "header": "Venue",
                "target": {
                    "kind": "association",
                    "name": "0-2",
                    "association_type_id": 41,
                    "association_category": "USER_DEFINED",
                },
            }
        ],
    )
    lines = ["Appointment name,Venue", f"Tour,{DEMO_COMPANY_IDS[0]}"]

    output = run(
        write_csv(tmp_path, lines),
        *("--portal", str(portal.hub_id), "--timezone", "UTC", "--mapping", "Venues"),
        "--dry-run",
    )

    assert output["rows"][0]["associations"] == [
        {"to_object_type": "0-2", "id": DEMO_COMPANY_IDS[0], "association_type_id": 41}
    ]
    assert SavedMapping.objects.get().last_used_at is not None


def test_it_reads_the_sheet_asked_for(portal: Portal) -> None:
    path = str(CORPUS / "hidden_first_sheet.xlsx")
    common = ("--portal", str(portal.hub_id), "--timezone", "UTC", "--dry-run")

    first_visible = run(path, *common)
    archive = run(path, *common, "--sheet", "Archive")

    assert first_visible["rows"][0]["properties"]["hs_appointment_name"] == "Vaccination"
    # "Status" is no label of the demo portal's "Appointment status", but a synonym of it.
    assert archive["rows"][0]["properties"] == {
        "hs_appointment_name": "Old visit",
        "hs_appointment_start": "2025-01-01T08:30:00Z",
        "hs_appointment_status": "completed",
    }


def test_it_reads_a_forced_day_month_order(portal: Portal, tmp_path: Path) -> None:
    lines = ["Appointment name,Follow-up date", "Check-up,03/04/2026"]
    path = write_csv(tmp_path, lines)
    common = ("--portal", str(portal.hub_id), "--timezone", "UTC", "--dry-run")

    ambiguous = run(path, *common)
    forced = run(path, *common, "--date-order", "MDY")

    assert [e["code"] for e in ambiguous["rows"][0]["errors"]] == ["ambiguous_date_order"]
    assert forced["rows"][0]["properties"]["follow_up_date"] == "2026-03-04"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--portal", "1", "--timezone", "UTC"), "No connected portal has hub ID 1"),
        (("--timezone", "Mars/Olympus"), "“Mars/Olympus” is not a time zone"),
        (("--timezone", "UTC", "--mapping", "Nope"), "has no mapping named “Nope”"),
    ],
)
def test_it_explains_bad_arguments_without_a_traceback(
    portal: Portal, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    path = write_csv(tmp_path, LINES)
    defaults = ("--portal", str(portal.hub_id)) if "--portal" not in args else ()
    with pytest.raises(CommandError, match=message):
        call_command(
            "import_appointments", path, *defaults, *args, "--dry-run", "--user", ADMIN_NAME
        )


def test_it_explains_an_unreadable_file(portal: Portal, tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes((CORPUS / "bomb.xlsx").read_bytes())
    with pytest.raises(CommandError, match=r"^bomb.xlsx: "):
        call_command(
            "import_appointments",
            str(path),
            "--portal",
            str(portal.hub_id),
            "--timezone",
            "UTC",
            "--dry-run",
            "--user",
            ADMIN_NAME,
        )


# --- portal_add ---------------------------------------------------------------------------------


def test_it_connects_the_demo_portal_with_the_static_token(hubspot: Any, user: User) -> None:
    out = io.StringIO()

    call_command("portal_add", "--access-token", hubspot.token, "--user", user.username, stdout=out)

    portal = Portal.objects.get()
    assert portal.hub_id == hubspot.hub_id
    assert portal.hub_domain == "app.hubspot.com"
    assert portal.auth_kind == Portal.AuthKind.PRIVATE_APP
    assert portal.status == Portal.Status.ACTIVE
    assert portal.connected_by == user
    assert portal.access_token == hubspot.token
    assert portal.access_token_expires_at is None
    assert portal.refresh_token_encrypted == ""
    assert out.getvalue() == (
        f"Connected HubSpot portal {hubspot.hub_id} (app.hubspot.com) with a private-app "
        f"token, for user {user.username}.\n"
    )
    (entry,) = hubspot.journal("/account-info/v3/details")
    assert (entry.method, entry.status) == ("GET", 200)


def test_it_explains_a_refused_token_without_a_traceback(hubspot: Any, user: User) -> None:
    with pytest.raises(CommandError, match=r"^HubSpot refused the token: Authentication"):
        call_command("portal_add", "--access-token", "CNwrong", "--user", user.username)

    assert not Portal.objects.exists()
    assert [e.status for e in hubspot.journal("/account-info/v3/details")] == [401]


# --- prune_uploads ------------------------------------------------------------------------------


def prune(*args: str) -> str:
    out = io.StringIO()
    call_command("prune_uploads", *args, "--user", ADMIN_NAME, stdout=out)
    return out.getvalue()


def make_upload(portal: Portal, name: str, *, age_days: float, batch: Batch | None = None) -> None:
    upload = Upload.objects.create(
        portal=portal, created_by=portal.connected_by, filename=name, data=b"a,b\n1,2\n"
    )
    # created_at is auto_now_add: age it afterwards.
    Upload.objects.filter(pk=upload.pk).update(
        created_at=timezone.now() - timedelta(days=age_days), batch=batch
    )


def test_it_prunes_only_unconfirmed_uploads_older_than_two_days(portal: Portal) -> None:
    batch = Batch.objects.create(portal=portal, created_by=portal.connected_by)
    make_upload(portal, "abandoned.csv", age_days=3)
    make_upload(portal, "yesterday.csv", age_days=1)
    make_upload(portal, "confirmed.csv", age_days=30, batch=batch)

    output = prune()

    assert output == "Deleted 1 unconfirmed upload older than 2 days.\n"
    names = set(Upload.objects.values_list("filename", flat=True))
    assert names == {"yesterday.csv", "confirmed.csv"}
    assert prune("--older-than-days", "0") == "Deleted 1 unconfirmed upload older than 0 days.\n"
    assert list(Upload.objects.values_list("filename", flat=True)) == ["confirmed.csv"]
    assert Batch.objects.filter(pk=batch.pk).exists()


def test_it_refuses_a_negative_age(portal: Portal) -> None:
    with pytest.raises(CommandError, match=r"--older-than-days must be 0 or more, not -1\."):
        call_command("prune_uploads", "--older-than-days", "-1", "--user", ADMIN_NAME)


# --- acting as --user, and user_access ----------------------------------------------------------


def test_import_acts_as_the_named_user_and_records_the_batch_as_theirs(
    portal: Portal, user: User, other_user: User, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, LINES)
    args = (path, "--portal", str(portal.hub_id), "--timezone", "UTC", "--user", "ops-bruno")

    # An operator not granted the portal may not import to it, not even a dry run.
    with pytest.raises(CommandError, match=r"“ops-bruno” \(operator\) may not do this on Hub"):
        call_command("import_appointments", *args, "--dry-run", stdout=io.StringIO())
    call_command("user_access", "ops-bruno", "--grant", str(portal.hub_id), "--user", ADMIN_NAME)
    call_command("import_appointments", *args, stdout=io.StringIO())

    assert Batch.objects.get().created_by == other_user
    assert Upload.objects.get().created_by == other_user


def test_a_viewer_cannot_import_and_an_unknown_user_is_named(
    portal: Portal, other_user: User, tmp_path: Path
) -> None:
    call_command(
        "user_access", "ops-bruno", "--role", "viewer", "--grant", str(portal.hub_id),
        "--user", ADMIN_NAME, stdout=io.StringIO(),
    )  # fmt: skip
    path = write_csv(tmp_path, LINES)
    base = (path, "--portal", str(portal.hub_id), "--timezone", "UTC")

    with pytest.raises(CommandError, match=r"“ops-bruno” \(viewer\) may not do this"):
        call_command("import_appointments", *base, "--user", "ops-bruno")
    with pytest.raises(CommandError, match=r"There is no active user “nobody”"):
        call_command("import_appointments", *base, "--user", "nobody")
    assert not Batch.objects.exists() and not Upload.objects.exists()


def test_user_access_sets_a_role_and_grants_and_is_for_admins_only(
    portal: Portal, user: User, other_user: User
) -> None:
    out = io.StringIO()
    call_command(
        "user_access", "ops-bruno", "--role", "viewer", "--grant", str(portal.hub_id),
        "--user", ADMIN_NAME, stdout=out,
    )  # fmt: skip
    assert out.getvalue() == f"ops-bruno: role viewer; portals {portal.hub_id}.\n"
    assert list(other_user.groups.values_list("name", flat=True)) == ["viewer"]

    # A viewer (or operator) cannot hand out roles, and a typo changes nothing.
    with pytest.raises(CommandError, match=r"“ops-bruno” \(viewer\) may not do this"):
        call_command("user_access", ADMIN_NAME, "--role", "none", "--user", "ops-bruno")
    with pytest.raises(CommandError, match=r"No portal has hub ID 7\. Portals: "):
        call_command(
            "user_access", "ops-bruno", "--role", "admin", "--grant", "7", "--user", ADMIN_NAME
        )
    assert list(other_user.groups.values_list("name", flat=True)) == ["viewer"]

    call_command(
        "user_access", "ops-bruno", "--role", "none", "--revoke", str(portal.hub_id),
        "--user", ADMIN_NAME, stdout=out,
    )  # fmt: skip
    assert out.getvalue().endswith("ops-bruno: role none; portals none.\n")


def test_only_an_admin_connects_a_portal_with_a_token(hubspot: Any, other_user: User) -> None:
    with pytest.raises(CommandError, match=r"“ops-bruno” \(operator\) may not do this\."):
        call_command("portal_add", "--access-token", hubspot.token, "--user", "ops-bruno")
    assert not Portal.objects.exists()
    assert hubspot.journal("/account-info/v3/details") == []


def test_it_refuses_two_columns_for_one_property_naming_both(
    portal: Portal, tmp_path: Path
) -> None:
    # The start sits in the second of two start columns: never sent without it, silently.
    path = write_csv(
        tmp_path,
        [
            "Appointment name,hs_appointment_start,hs_appointment_start",
            "Intake visit,,2026-12-03 14:00",
        ],
    )
    message = (
        r"^Columns “hs_appointment_start \(B\)” and “hs_appointment_start \(C\)” both name the "
        r"property hs_appointment_start: only one column can give it\. Rename or remove one"
    )
    with pytest.raises(CommandError, match=message):
        run(path, "--portal", str(portal.hub_id), "--timezone", "Europe/Paris", "--dry-run")
    assert not Batch.objects.exists()


DUPLICATED = [
    "Appointment name,Start time,Appointment status,contact_ids",
    f"Intake visit,2026-12-03 14:00,Scheduled,{DEMO_CONTACT_IDS[0]}",
    f"Intake again,2026-12-03 14:00,Scheduled,{DEMO_CONTACT_IDS[0]}",
    f"Other,2026-12-05 10:00,Scheduled,{DEMO_CONTACT_IDS[2]}",
]


def test_it_reports_duplicates_and_refuses_to_send_them_unless_told(
    portal: Portal, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, DUPLICATED)
    args = [path, "--portal", str(portal.hub_id), "--timezone", "Europe/Paris"]
    sent = run(*args, "--on-duplicate", "create")
    assert sent["batch"]["queued"] == 3
    first = Batch.objects.get()

    dry = run(*args, "--dry-run")
    by_row = {row["row"]: row["duplicates"] for row in dry["rows"]}
    record = first.rows.get(row_number=2).hubspot_id
    assert by_row[2] == [
        {"kind": "file", "row": 3},
        {"kind": "sent", "batch": str(first.pk), "row": 2, "record_id": record},
    ]
    assert by_row[4][0]["kind"] == "sent"
    assert dry["summary"]["duplicates"] == 3

    out = io.StringIO()
    with pytest.raises(CommandError, match="--on-duplicate skip"):
        call_command("import_appointments", *args, "--user", ADMIN_NAME, stdout=out)
    assert json.loads(out.getvalue())["batch"]["queued"] == 0
    assert len(creates()) == 1

    skipped = run(*args, "--on-duplicate", "skip")
    assert skipped["batch"]["skipped_duplicates"] == 3
    assert skipped["batch"]["queued"] == 0
    assert len(creates()) == 1


def test_it_looks_in_hubspot_before_sending_and_refuses_what_it_finds_unless_told(
    portal: Portal, hubspot: Any, tmp_path: Path
) -> None:
    # Made in HubSpot, outside the app, a while ago: Paris 14:00 in December is 13:00 UTC.
    record = hubspot_create(hubspot, "2026-12-03T13:00:00Z", DEMO_CONTACT_IDS[0])
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    made_outside = len(creates())
    path = write_csv(tmp_path, [DUPLICATED[0], DUPLICATED[1], DUPLICATED[3]])
    args = [path, "--portal", str(portal.hub_id), "--timezone", "Europe/Paris"]

    out = io.StringIO()
    with pytest.raises(CommandError, match=r"found in HubSpot\); nothing was sent"):
        call_command("import_appointments", *args, "--user", ADMIN_NAME, stdout=out)
    refused = json.loads(out.getvalue())["batch"]
    assert refused["queued"] == 0 and refused["found_in_hubspot"] == 1
    assert len(hubspot.journal("/0-421/search")) == 1 and len(creates()) == made_outside
    assert Batch.objects.get(pk=refused["id"]).hubspot_duplicates == [
        {"row": 2, "record_id": record}
    ]

    skipped = run(*args, "--on-duplicate", "skip")["batch"]
    assert skipped["skipped_duplicates"] == 1 and skipped["queued"] == 1
    assert len(creates()) == made_outside + 1


def test_on_duplicate_update_says_and_does_update_then_record_ids_update(
    portal: Portal, tmp_path: Path, hubspot: Any
) -> None:
    """``--on-duplicate update``: the dry run says per row "create" or "update" (with the
    record), the send updates those records through batch update; a file with an
    ``hs_object_id`` column updates the records it names."""
    path = write_csv(tmp_path, DUPLICATED)
    args = [path, "--portal", str(portal.hub_id), "--timezone", "Europe/Paris"]
    run(*args, "--on-duplicate", "create")
    first = Batch.objects.get()
    record = first.rows.get(row_number=2).hubspot_id
    again = write_csv(
        tmp_path,
        [*DUPLICATED[:2], f"Brand new,2026-12-09 10:00,Scheduled,{DEMO_CONTACT_IDS[2]}"],
        name="again.csv",
    )
    again_args = [again, *args[1:]]
    dry = run(*again_args, "--dry-run", "--on-duplicate", "update")
    assert [(r["row"], r["action"], r.get("record_id")) for r in dry["rows"]] == [
        (2, "update", record),
        (3, "create", None),
    ]
    sent = run(*again_args, "--on-duplicate", "update")
    assert sent["batch"]["queued"] == 2
    [update] = [json.loads(e.request_body) for e in hubspot.journal("/batch/update")]
    assert [i["id"] for i in update["inputs"]] == [record]
    # The first file's create and the new row's; the updated row's contact is associated.
    assert len(hubspot.journal("/objects/2026-03/0-421/batch/create")) == 2
    [link] = [
        json.loads(e.request_body)
        for e in hubspot.journal("/batch/create", method="POST")
        if "/associations/" in e.path
    ]
    assert link["inputs"][0]["from"]["id"] == record

    by_id = write_csv(
        tmp_path, ["hs_object_id,Appointment status", f"{record},Canceled"], name="ids.csv"
    )
    dry = run(by_id, *args[1:], "--dry-run")
    assert [(r["row"], r["action"], r["record_id"]) for r in dry["rows"]] == [(2, "update", record)]
    assert dry["rows"][0]["errors"] == []


# --- import_appointments --value-map --------------------------------------------------------

BOOKED = [
    "Appointment name,Start time,Status",
    "Check-up,2026-12-10 09:00,Confirmed",
    "Review,2026-12-11 10:00,Booked",
]


def test_a_value_map_file_says_what_the_files_words_mean(
    portal: Portal, tmp_path: Path, hubspot: Any
) -> None:
    path = write_csv(tmp_path, BOOKED)
    statuses = write_csv(
        tmp_path, ["text,option", "Confirmed,Scheduled", "booked,scheduled"], "s.csv"
    )
    args = (path, "--portal", str(portal.hub_id), "--timezone", "Europe/Paris")

    without = run(*args, "--dry-run")
    output = run(*args, "--value-map", f"Status={statuses}")

    assert [row["errors"][0]["code"] for row in without["rows"]] == ["invalid_option"] * 2
    assert [row["properties"]["hs_appointment_status"] for row in output["rows"]] == [
        "scheduled",
        "scheduled",
    ]
    # The batch keeps the value map, as one mapped on the screen does.
    batch = Batch.objects.get()
    assert sorted(map(tuple, batch.mapping[2]["values"])) == [
        ("Confirmed", "scheduled"),
        ("booked", "scheduled"),
    ]
    [sent] = creates()
    assert [i["properties"]["hs_appointment_status"] for i in sent["inputs"]] == ["scheduled"] * 2


@pytest.mark.parametrize(
    ("spec", "lines", "message"),
    [
        ("Status", None, r"write COLUMN=FILE"),
        ("Where={map}", ["Confirmed,Scheduled"], r"the file has no column “Where”"),
        (
            "A={map}",
            ["Confirmed,Scheduled"],
            r"column “Appointment name” does not go to a property",
        ),
        (
            "C={map}",
            ["Confirmed,Scheduled", "Booked,Maybe"],
            r"s.csv, line 2: “Maybe” is no option of “Appointment status”. Use one of: Scheduled",
        ),
        ("Status={map}", ["Confirmed"], r"s.csv, line 1: give two cells"),
    ],
)
def test_a_bad_value_map_is_explained_without_a_traceback(
    portal: Portal, tmp_path: Path, spec: str, lines: list[str] | None, message: str
) -> None:
    path = write_csv(tmp_path, BOOKED)
    statuses = write_csv(tmp_path, lines or [], "s.csv")
    args = (path, "--portal", str(portal.hub_id), "--timezone", "UTC", "--dry-run")

    with pytest.raises(CommandError, match=message):
        run(*args, "--value-map", spec.format(map=statuses))
