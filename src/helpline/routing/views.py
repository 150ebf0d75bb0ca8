"""The agent's own availability switch in the desk header (`/desk/availability/`)."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from helpline.core.middleware import AuthenticatedRequest
from helpline.routing import services
from helpline.tickets.views_desk import staff_only


@staff_only
@require_POST
def availability(request: AuthenticatedRequest) -> HttpResponse:
    """Set yourself available ("available=1") or away; the switch (HTMX) or a redirect back."""
    available = request.POST.get("available") == "1"
    services.agent_set_availability(actor=request.user, user=request.user, available=available)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("tickets:desk")
    if request.headers.get("HX-Request") == "true":
        context = {"available_now": available, "next": back}
        return render(request, "routing/_availability.html", context)
    return HttpResponseRedirect(back)
