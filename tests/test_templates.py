"""The project's templates stay readable: no line longer than 120 characters."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
MAX_LINE = 120


def test_no_template_line_is_longer_than_120_characters() -> None:
    files = sorted(path for path in TEMPLATES.rglob("*") if path.is_file())
    assert files, f"no template found under {TEMPLATES}"
    too_long = [
        f"{path.relative_to(ROOT)}:{number}: {len(line)} characters"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if len(line) > MAX_LINE
    ]
    assert not too_long, f"lines over {MAX_LINE} characters (wrap them):\n" + "\n".join(too_long)
