"""The batch history's filters: portal, person, state and dates."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from appointments.models import Batch, Portal
from appointments.services.access import batches_for, portals_for


class HistoryFilterForm(forms.Form):
    """Filters of the batch history; the choices are the portals and people the user sees."""

    portal = forms.ModelChoiceField(
        queryset=Portal.objects.none(), required=False, label=_("Portal")
    )
    created_by = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("Created by")
    )
    status = forms.ChoiceField(
        choices=[("", _("Any state")), *Batch.Status.choices], required=False, label=_("State")
    )
    since = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label=_("Until"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        visible = batches_for(user)
        self.fields["portal"].queryset = portals_for(user)  # type: ignore[attr-defined]
        self.fields["created_by"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            pk__in=visible.values("created_by")
        ).order_by("username")
