"""The bulk fix form of a batch's rows: which column, which fix, what to find and put."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.models import RowEdit


class BulkFixForm(forms.Form):
    """One bulk fix; ``columns`` are ``(index, label)`` of the batch's mapped columns."""

    kind = forms.ChoiceField(choices=RowEdit.Kind.choices, label=_("Fix"))
    column = forms.TypedChoiceField(coerce=int, label=_("Column"))
    # Not stripped: a find of " ;" or a replacement with a space means what it says.
    find = forms.CharField(
        required=False,
        strip=False,
        label=_("Find"),
        help_text=_("Find and replace: a part of the cell; same error: the whole cell."),
    )
    replace = forms.CharField(
        required=False, strip=False, label=_("Put instead (or in the empty cells)")
    )

    def __init__(self, *args: Any, columns: list[tuple[int, str]], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["column"].choices = columns  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in (RowEdit.Kind.REPLACE, RowEdit.Kind.SAME_ERROR) and not data.get("find"):
            self.add_error("find", _("Type the text to find."))
        if kind == RowEdit.Kind.FILL and not (data.get("replace") or "").strip():
            self.add_error("replace", _("Type the value to put in the empty cells."))
        return data
