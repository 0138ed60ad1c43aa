"""The batch history: every batch the user may see, filtered by portal, person, state and date."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from appointments.forms.history import HistoryFilterForm
from appointments.services.history import history_batches
from appointments.views.base import AuthenticatedRequest

HISTORY_TEMPLATE = "appointments/history/list.html"


@require_GET
@login_required
@vary_on_headers("HX-Request")
def batch_history(request: AuthenticatedRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    batches = history_batches(user=request.user, **filters)
    page = Paginator(batches, 50).get_page(request.GET.get("page"))
    template = HISTORY_TEMPLATE + ("#history-table" if request.htmx else "")
    return render(request, template, {"form": form, "page": page})
