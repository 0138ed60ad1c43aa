"""Intake: reading spreadsheets into tables, mapping their columns, validating every cell. Pure."""
