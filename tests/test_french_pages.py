"""Each reader in their language: every page in French with counts 0, 1 and 2 says the
expected phrases (agreement, plural, typography) and leaves no English sentence of the catalog;
row errors, stored as codes, are said in the reader's language, not the uploader's."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from appointments.models import Batch, BatchRow, Portal
from appointments.services import batches as batch_services
from appointments.services import exports
from appointments.services import uploads as upload_services
from sandbox.seed import DEMO_CONTACT_IDS
from tests.helpers import batch_from_upload
from tests.test_i18n import FRENCH_PO, NB, PLACEHOLDER, french_catalog  # noqa: F401
from tests.test_reachability import closed_port

AP = "\N{RIGHT SINGLE QUOTATION MARK}"
TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)


def visible_text(page: str) -> str:
    """What a reader sees: the text between the tags, entities decoded, spaces collapsed."""
    # ASCII spaces only: French typography's no-break spaces are part of what is checked.
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(TAGS.sub(" ", page))).strip()


def english_sentences() -> list[str]:
    """The English parts of the catalog's messages that French changes, two words or more:
    were one on a French page, something was left untranslated."""
    found = set()
    for entry in polib.pofile(str(FRENCH_PO)):
        if entry.obsolete or entry.msgstr == entry.msgid:
            continue
        for message in filter(None, (entry.msgid, entry.msgid_plural)):
            for part in PLACEHOLDER.split(message):
                part = " ".join(part.split()).strip(" .,:;()“”\"'")
                if len(part.split()) >= 2:
                    found.add(part)
    return sorted(found)


def batch_of(user: User, portal: Portal, valid: int, invalid: int, name: str) -> Batch:
    lines = ["Appointment name,Start time,contact_ids"]
    lines += [f"Visit {i},2027-02-0{i + 1} 10:00,{DEMO_CONTACT_IDS[0]}" for i in range(valid)]
    lines += [f"Broken {i},2027-02-31 10:00,{DEMO_CONTACT_IDS[0]}" for i in range(invalid)]
    # Checked in English: the uploader's language must not be what a French reader sees.
    with translation.override("en"):
        return batch_from_upload(
            user=user,
            portal=portal,
            data=("\n".join(lines) + "\n").encode(),
            filename=name,
            timezone_name="Europe/Paris",
        )


def french_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "fr"
    return client


def bad_date(row: int) -> str:
    """How the French page says row ``row``'s impossible start time."""
    return (
        f"Ligne {row}, colonne «{NB}Start time{NB}»{NB}: «{NB}2027-02-31 10:00{NB}» "
        f"n{AP}est pas une date avec heure"
    )


# count -> phrases the batch page of a batch with that many valid and invalid rows says.
EXPECTED = {
    0: [
        "0 sur 0 ligne traitée par HubSpot",  # French: 0 takes the singular
        "1 ligne",
        "0 valide",
        "1 invalide, retenue",
        "0 créée",
        "0 non envoyée",
        "0 exclue, jamais envoyée",
        bad_date(2),
    ],
    1: [
        "Envoyer 1 ligne valide à HubSpot",
        "0 sur 1 ligne traitée par HubSpot",
        "2 lignes",
        "1 valide",
        "1 invalide, retenue",
        bad_date(3),
    ],
    2: [
        "Envoyer 2 lignes valides à HubSpot",
        "0 sur 2 lignes traitées par HubSpot",
        "4 lignes",
        "2 valides",
        "2 invalides, retenues",
        bad_date(5),
    ],
}
# count -> phrases the Send confirmation of that batch says (none to send at 0).
CONFIRM_EXPECTED = {
    1: ["Ceci envoie 1 rendez-vous à", "Envoyer 1 rendez-vous à", f"«{NB}Défaire{NB}»"],
    2: ["Ceci envoie 2 rendez-vous à", "Envoyer 2 rendez-vous à", "90 jours"],
}


@pytest.mark.parametrize("count", [0, 1, 2])
def test_every_page_reads_in_french_with_0_1_and_2(
    french_catalog: Path,  # noqa: F811
    user: User,
    portal: Portal,
    count: int,
) -> None:
    # Count 0: no valid row, one invalid (a batch has at least one row).
    batch = batch_of(user, portal, valid=count, invalid=max(count, 1), name="f.csv")
    upload, problem = upload_services.upload_create(
        user=user,
        portal=portal,
        data=b"Appointment name,Start time\nVisit,2027-02-01 10:00\n",
        filename="next.csv",
        timezone_name="UTC",
    )
    assert upload is not None, problem
    client = french_client(user)
    row = batch.rows.order_by("row_number").last()
    assert row is not None
    pages = {
        "dashboard": reverse("appointments:home"),
        "history": reverse("appointments:batch-history"),
        "batch": reverse("appointments:batch-detail", args=[batch.pk]),
        "upload": reverse("appointments:upload-create"),
        "grid": reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=UTC",
        "row": reverse("appointments:row-edit", args=[batch.pk, row.row_number]),
        "mapping": reverse("appointments:upload-mapping", args=[upload.pk]),
        "activity": reverse("appointments:portal-activity", args=[portal.hub_id]),
    }
    english = english_sentences()
    texts = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert '<html lang="fr">' in response.text, name
        texts[name] = visible_text(response.text)
        left = [sentence for sentence in english if sentence in texts[name]]
        assert left == [], f"English left on the {name} page"
        # French typography: no word glued to a colon.
        glued = re.search(r".{40}[a-zàâçéèêëîïôûùüÿœ]:\s.{20}", texts[name])
        assert glued is None, (name, glued and glued.group())

    for phrase in EXPECTED[count]:
        assert phrase in texts["batch"], phrase
    if count:
        confirm = client.get(reverse("appointments:batch-submit", args=[batch.pk]))
        text = visible_text(confirm.text)
        assert [s for s in english if s in text] == [], "English left on the Send confirmation"
        for phrase in CONFIRM_EXPECTED[count]:
            assert phrase in text, phrase
    assert "Lots récents" in texts["dashboard"] and "f.csv" in texts["dashboard"]
    # A batch (un lot) was created: the date columns agree with it, not with a row (une ligne).
    assert "Créé le" in texts["dashboard"] and "Créé le" in texts["history"]


def test_a_row_error_is_said_in_the_readers_language_and_old_ones_stay_readable(
    french_catalog: Path,  # noqa: F811
    user: User,
    portal: Portal,
) -> None:
    batch = batch_of(user, portal, valid=0, invalid=1, name="e.csv")
    row = batch.rows.get()
    stored = row.errors[0]
    assert stored["code"] == "invalid_datetime" and "params" in stored
    assert "is not a date and time" in stored["message"]  # checked in English
    # An error stored before errors kept their parameters: only its sentence.
    old = BatchRow.objects.create(
        batch=batch,
        row_number=9,
        raw=["x", "y", "z"],
        properties=row.properties,
        associations=row.associations,
        state=BatchRow.State.INVALID,
        errors=[{"column": "Start time", "value": "y", "code": "x", "message": "Old sentence."}],
    )

    # An outcome the app wrote in English ("check HubSpot again" found nothing).
    BatchRow.objects.create(
        batch=batch,
        row_number=10,
        raw=["x", "y", "z"],
        properties=row.properties,
        associations=row.associations,
        state=BatchRow.State.FAILED,
        error_category="NOT_SENT",
        error_message="HubSpot has no such appointment: this row was not created. Send the "
        "failed rows again to send it.",
    )

    page = visible_text(
        french_client(user).get(reverse("appointments:batch-detail", args=[batch.pk])).text
    )
    with translation.override("fr"):
        lines = list(exports.results_rows(batch))

    assert f"Ligne 2, colonne «{NB}Start time{NB}»{NB}: «{NB}2027-02-31 10:00{NB}»" in page
    assert f"n{AP}est pas une date avec heure. Utilisez le format AAAA-MM-JJ HH:MM." in page
    assert "is not a date and time" not in page
    assert "Old sentence." in page
    assert f"HubSpot n{AP}a pas ce rendez-vous" in page
    assert "HubSpot has no such appointment" not in page
    assert lines[0][0] == "ligne" and lines[0][-1] == "erreur"
    assert lines[1][-1].startswith("Ligne 2, colonne")
    assert old.error_texts == ["Old sentence."]


def test_a_paused_batch_says_why_in_the_readers_language(
    french_catalog: Path,  # noqa: F811
    user: User,
    portal: Portal,
    hubspot: Any,
    settings: Any,
) -> None:
    """A batch paused by HubSpot out of reach, its reason written by the worker in English,
    read in French: the pause, HubSpot client's reason and the retry note, all in French."""
    batch = batch_of(user, portal, valid=2, invalid=0, name="p.csv")
    settings.HUBSPOT_API_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    settings.HUBPORTAL_RETRY_WAIT_MAX_SECONDS = 0
    with translation.override("en"):
        batch_services.batch_submit(user=user, batch=batch)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PAUSED
    assert batch.status_code == "paused_unreachable" and batch.status_message == ""

    text = visible_text(
        french_client(user).get(reverse("appointments:batch-detail", args=[batch.pk])).text
    )

    assert "HubSpot est injoignable (" in text
    assert "Impossible de joindre HubSpot" in text
    left = [sentence for sentence in english_sentences() if sentence in text]
    assert left == []
    # The retry note the worker wrote while trying, also said in French.
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.RUNNING,
        retry_code="retry_unreachable",
        retry_params={
            "reason": {"code": "hubspot_http_status", "params": {"status": 502}},
            "next": 2,
            "max": 8,
        },
        retry_at=timezone.now(),
    )
    text = visible_text(
        french_client(user).get(reverse("appointments:batch-detail", args=[batch.pk])).text
    )
    assert "HubSpot a répondu HTTP 502" in text and "tentative 2 sur 8" in text
    assert [sentence for sentence in english_sentences() if sentence in text] == []


def test_a_call_that_failed_says_why_in_the_readers_language(
    french_catalog: Path,  # noqa: F811
    user: User,
    portal: Portal,
    hubspot: Any,
) -> None:
    """Rows whose create call got no usable answer (502s, then a search that found nothing):
    the worker wrote in English, the French page says the call's and the rows' reason in
    French around HubSpot's own words."""
    batch = batch_of(user, portal, valid=2, invalid=0, name="u.csv")
    hubspot.set_fault("502", times=100, path_contains="/batch/create")
    with translation.override("en"):
        batch_services.batch_submit(user=user, batch=batch)
    row = batch.rows.order_by("row_number").first()
    assert row is not None and row.error_category == "UNKNOWN_OUTCOME"
    assert "did not confirm" in row.error_message  # stored in the worker's language

    client = french_client(user)
    pages = [
        (reverse("appointments:batch-detail", args=[batch.pk]), {}),
        # The row alone, as htmx asks for it when a fix is closed.
        (
            reverse("appointments:row-detail", args=[batch.pk, row.row_number]),
            {"HX-Request": "true"},
        ),
    ]
    for url, headers in pages:
        text = visible_text(client.get(url, headers=headers).text)
        # HubSpot's words as a clause; the HTTP status and category sit under "Détails".
        assert f"HubSpot n{AP}a pas confirmé cette ligne (Processing limits reached" in text, url
        assert "HTTP 502" not in text and "gateway.)" not in text, url
        assert "Elle a peut-être été créée" in text, url
        assert [sentence for sentence in english_sentences() if sentence in text] == [], url
    # The results download too.
    download = client.get(reverse("appointments:batch-export-csv", args=[batch.pk]))
    content = b"".join(download.streaming_content).decode()  # type: ignore[attr-defined]
    assert f"HubSpot n{AP}a pas confirmé cette ligne (Processing limits reached" in content
