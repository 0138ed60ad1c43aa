"""English and French: the language switch, Accept-Language, and a complete French catalog."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, Portal
from sandbox.seed import DEMO_CONTACT_IDS
from tests.web import form_values

BASE_DIR = Path(django_settings.BASE_DIR)
FRENCH_PO = BASE_DIR / "locale" / "fr" / "LC_MESSAGES" / "django.po"
# What the Makefile's and the brief's `makemessages` leave out: the sandbox emulates HubSpot's
# English-only pages, tests and bench are not user-facing.
NOT_TRANSLATED = ["tests", "bench", "sandbox"]
NB = "\N{NO-BREAK SPACE}"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\{\s*\w+\s*\}\}|</?[a-zA-Z][^>]*>")


@pytest.fixture
def french_catalog(settings: Any, tmp_path: Path) -> Path:
    """Compile the committed French .po into a temporary locale dir the site then uses.

    Self-contained (no stale or missing .mo from an earlier `make messages`), and leaves the
    shared tree alone. Changing LOCALE_PATHS makes Django drop its cached translations.
    """
    target = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    subprocess.run(
        ["msgfmt", "--check", "-o", str(target / "django.mo"), str(FRENCH_PO)], check=True
    )
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    return target / "django.mo"


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def switch_language(client: Client, page: str, language: str, next_url: str) -> None:
    """Submit the language form of ``page`` (base.html) as a browser would."""
    response = client.post(
        reverse("set_language"),
        {"language": language, "next": next_url, "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert response.status_code == 302
    assert response["Location"] == next_url


def test_it_switches_the_dashboard_and_a_batch_preview_to_french_and_back(
    french_catalog: Path, user: User, portal: Portal
) -> None:
    # CSRF enforced, as in a browser: the switch must work through its real form.
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    home = reverse("appointments:home")
    english = client.get(home).text
    assert '<html lang="en">' in english and "Recent batches" in english

    switch_language(client, english, "fr", home)

    dashboard = client.get(home).text
    assert '<html lang="fr">' in dashboard
    for text in (
        "<title>Tableau de bord · Rendez-vous HubSpot</title>",
        "Portails HubSpot",
        "<td>Connecté</td>",
        "Importer des rendez-vous",
        "Fuseau horaire des dates du fichier",
        "Lots récents",
        "Aucun lot pour le moment.",
        "Se déconnecter",
    ):
        assert text in dashboard
    assert "Recent batches" not in dashboard

    csv = (
        "Appointment name,Start time,hs_appointment_end,Appointment status,contact_ids\n"
        f"Bilan,2026-12-03 14:00,2026-12-03 14:45,Scheduled,{DEMO_CONTACT_IDS[0]}\n"
        f"Suivi,2026-12-04 09:00,2026-12-04 09:30,Tentative,{DEMO_CONTACT_IDS[1]}\n"
        f"Relance,2026-12-05 09:00,2026-12-05 09:30,Scheduled,{DEMO_CONTACT_IDS[0]}\n"
    )
    response = client.post(
        reverse("appointments:upload-create"),
        {
            "portal": portal.pk,
            "timezone": "Europe/Paris",
            "file": SimpleUploadedFile("rdv.csv", csv.encode(), content_type="text/csv"),
            "csrfmiddlewaretoken": csrf_token(dashboard),
        },
    )
    assert response.status_code == 302
    mapping = response["Location"]
    screen = client.get(mapping).text
    assert '<html lang="fr">' in screen
    for text in (
        f"Colonnes de «{NB}rdv.csv{NB}»",
        f"3 lignes de données pour le portail HubSpot {portal.hub_id}, heures lues dans le "
        "fuseau Europe/Paris.",
        '<optgroup label="Propriétés du rendez-vous">',
        "Vérifier toutes les lignes",
    ):
        assert text in screen

    response = client.post(mapping, form_values(screen, "mapping-form"))
    batch = Batch.objects.get()
    detail = reverse("appointments:batch-detail", args=[batch.pk])
    assert response.status_code == 302 and response["Location"] == detail

    preview = client.get(detail).text
    assert '<html lang="fr">' in preview
    for text in (
        f"Portail HubSpot {portal.hub_id} · dates lues dans le fuseau Europe/Paris",
        '<span id="batch-status">Vérifié, non envoyé</span>',
        "Envoyer 2 lignes valides à HubSpot",
        "Télécharger les résultats (CSV)",
        ">Corriger</a>",
        # One invalid row: the count's words agree with it.
        "invalide, retenue</a>",
        '<td class="state">Prête</td>',
        '<td class="state">Invalide, retenue</td>',
        f"Ligne 3, colonne «{NB}Appointment status{NB}»{NB}: «{NB}Tentative{NB}» "
        "n’est pas une option de cette propriété.",  # noqa: RUF001
    ):
        assert text in preview
    fragment = client.get(detail, headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and "Envoyer 2 lignes valides à HubSpot" in fragment

    switch_language(client, preview, "en", detail)

    back = client.get(detail).text
    assert '<html lang="en">' in back
    assert "Send 2 valid rows to HubSpot" in back and "Checked, not sent" in back
    assert "Envoyer" not in back


@pytest.mark.django_db
def test_it_answers_in_the_language_the_browser_asks_for(
    french_catalog: Path, logged_client: Client
) -> None:
    home = reverse("appointments:home")

    french = logged_client.get(home, headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    german = logged_client.get(home, headers={"Accept-Language": "de-DE,de;q=0.9"})
    plain = logged_client.get(home)

    assert '<html lang="fr">' in french.text and "Tableau de bord" in french.text
    assert "Accept-Language" in french["Vary"]
    # The browser-side error texts (static/appointments/app.js) come from the page too.
    assert 'data-send-error="Le serveur est injoignable.' in french.text
    # A language the site does not ship falls back to English (LANGUAGE_CODE).
    for response in (german, plain):
        assert '<html lang="en">' in response.text and "Dashboard" in response.text


@pytest.mark.django_db
def test_it_shows_the_sign_in_page_in_french_with_djangos_own_labels(
    french_catalog: Path, client: Client
) -> None:
    page = client.get(reverse("login"), headers={"Accept-Language": "fr"}).text

    assert "<h1>Se connecter</h1>" in page
    assert "Nom d’utilisateur" in page  # noqa: RUF001 (from Django's own French catalog)
    assert '<option value="fr" selected>français</option>' in page


def test_it_ships_a_french_translation_for_every_message() -> None:
    po = polib.pofile(str(FRENCH_PO))
    entries = [entry for entry in po if not entry.obsolete]

    untranslated = [
        entry.msgid
        for entry in entries
        if not (all(entry.msgstr_plural.values()) if entry.msgid_plural else entry.msgstr)
    ]
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    assert po.metadata["Language"] == "fr"
    assert len(entries) > 100
    assert untranslated == []
    assert fuzzy == []
    for entry in entries:
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == [0, 1, 2]  # French: one, many, other
            expected = set(PLACEHOLDER.findall(entry.msgid + entry.msgid_plural))
            translations = list(entry.msgstr_plural.values())
        else:
            expected = set(PLACEHOLDER.findall(entry.msgid))
            translations = [entry.msgstr]
        for translation in translations:
            assert set(PLACEHOLDER.findall(translation)) == expected, entry.msgid
    check = subprocess.run(
        ["msgfmt", "--check", "-o", "/dev/null", str(FRENCH_PO)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_it_has_every_translatable_string_of_the_source_in_the_french_catalog(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # makemessages on a copy, so its temporary files never land in the working tree.
    source = tmp_path / "source"
    shutil.copytree(
        BASE_DIR,
        source,
        ignore=shutil.ignore_patterns(
            ".*",
            "__pycache__",
            "*.sqlite3*",
            "locale",
            "var",
            "staticfiles",
            "test-results",
            *NOT_TRANSLATED,
        ),
    )
    settings.LOCALE_PATHS = [tmp_path / "fresh"]
    monkeypatch.chdir(source)
    call_command("makemessages", locale=["fr"], ignore_patterns=NOT_TRANSLATED, verbosity=0)

    fresh = polib.pofile(str(tmp_path / "fresh" / "fr" / "LC_MESSAGES" / "django.po"))
    # The plural form too: gettext finds a plural entry by its msgid and its msgid_plural.
    shipped = {
        (e.msgctxt, e.msgid, e.msgid_plural or None)
        for e in polib.pofile(str(FRENCH_PO))
        if not e.obsolete
    }
    missing = [
        e.msgid_plural or e.msgid
        for e in fresh
        if (e.msgctxt, e.msgid, e.msgid_plural or None) not in shipped
    ]
    assert len(fresh) > 100
    assert missing == [], (
        "Not in the French catalog: run `manage.py makemessages -l fr --ignore=.venv "
        "--ignore=tests --ignore=bench --ignore=sandbox` and translate the new entries in "
        "locale/fr/LC_MESSAGES/django.po:\n" + "\n".join(missing)
    )
