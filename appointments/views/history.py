"""The batch history: every batch the user may see, filtered by portal, person, state and date."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from appointments.models import Batch, Portal, batches_for, portals_for
from appointments.views.base import AuthenticatedRequest


class HistoryFilterForm(forms.Form):
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


@require_GET
@login_required
@vary_on_headers("HX-Request")
def batch_history(request: AuthenticatedRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET or None, user=request.user)
    batches = batches_for(request.user).select_related("portal", "created_by")
    if form.is_valid():
        data = form.cleaned_data
        if data["portal"]:
            batches = batches.filter(portal=data["portal"])
        if data["created_by"]:
            batches = batches.filter(created_by=data["created_by"])
        if data["status"]:
            batches = batches.filter(status=data["status"])
        if data["since"]:
            batches = batches.filter(created_at__date__gte=data["since"])
        if data["until"]:
            batches = batches.filter(created_at__date__lte=data["until"])
    page = Paginator(batches.order_by("-created_at"), 50).get_page(request.GET.get("page"))
    template = "appointments/batch_history.html"
    if request.htmx:
        template += "#history-table"
    return render(request, template, {"form": form, "page": page})
