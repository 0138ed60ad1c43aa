"""Write tests/data/appointments-250.xlsx: 250 realistic appointments, one of them invalid.

Run from the project root: ``DJANGO_SETTINGS_MODULE=hubportal.settings PYTHONPATH=. .venv/bin/python
tests/data/make_e2e_workbook.py``. The record IDs
are the sandbox demo portal's (sandbox/seed.py), so every association resolves. Row 121 of the
sheet (data row 120) has an appointment status that is not an option: it must be reported and
never sent, leaving 249 valid rows (calls of 100, 100 and 49).
"""

import random
from datetime import datetime, timedelta
from pathlib import Path

import django
import xlsxwriter

OUT = Path(__file__).with_name("appointments-250.xlsx")
INVALID_SHEET_ROW = 121
INVALID_STATUS = "Tentative"

HEADERS = [
    "Appointment name",
    "hs_appointment_start",
    "End time",
    "Appointment status",
    "Follow-up date",
    "Visit notes",
    "contact_ids",
    "company_ids",
    "deal_ids",
]
KINDS = ["Intake visit", "Follow-up", "Home visit", "Assessment", "Physio session"]
PEOPLE = ["J. Rivera", "A. Okafor", "C. Dubois", "M. Nguyen", "L. Schmidt", "H. Martin"]
STATUSES = ["Scheduled", "scheduled", "Completed", "No show"]


def main() -> None:
    django.setup()
    from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS, DEMO_DEAL_IDS

    rng = random.Random(421)  # fixed seed: the file is the same every time
    workbook = xlsxwriter.Workbook(str(OUT))
    sheet = workbook.add_worksheet("Appointments")
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADERS)
    start = datetime(2026, 12, 1, 8, 0)
    for i in range(250):
        row = i + 1
        begins = start + timedelta(days=i // 8, minutes=45 * (i % 8))
        status = INVALID_STATUS if row + 1 == INVALID_SHEET_ROW else STATUSES[i % len(STATUSES)]
        contacts = ";".join(rng.sample(DEMO_CONTACT_IDS, k=1 + i % 2))
        sheet.write_string(row, 0, f"{KINDS[i % len(KINDS)]} - {PEOPLE[i % len(PEOPLE)]} #{row}")
        sheet.write_datetime(row, 1, begins, when)
        sheet.write_datetime(row, 2, begins + timedelta(minutes=40), when)
        sheet.write_string(row, 3, status)
        sheet.write_datetime(
            row, 4, datetime.combine(begins.date() + timedelta(days=14), datetime.min.time()), day
        )
        sheet.write_string(row, 5, "Bring referral letter" if i % 3 == 0 else "")
        sheet.write_string(row, 6, contacts)
        sheet.write_string(row, 7, DEMO_COMPANY_IDS[i % len(DEMO_COMPANY_IDS)] if i % 2 else "")
        sheet.write_string(row, 8, DEMO_DEAL_IDS[i % len(DEMO_DEAL_IDS)] if i % 5 == 0 else "")
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 4, 18)
    workbook.close()


if __name__ == "__main__":
    main()
