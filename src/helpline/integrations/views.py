"""Personal API tokens: list, create (the plaintext is shown once, never stored), revoke."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpline.core.errors import DomainError, NotFound
from helpline.core.middleware import AuthenticatedRequest
from helpline.integrations import selectors, services
from helpline.integrations.forms import TokenCreateForm


@login_required
def tokens(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    allowed = services.token_scopes_allowed(user)
    form = TokenCreateForm(request.POST or None, scopes=allowed)
    plaintext = ""
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in"]
        expires_at = timezone.now() + timedelta(days=int(days)) if days else None
        try:
            _token, plaintext = services.token_create(
                actor=user,
                user=user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=expires_at,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            form = TokenCreateForm(scopes=allowed)
    context = {
        "form": form,
        "plaintext": plaintext,
        "tokens": selectors.token_list(actor=user),
        "area": "tokens",
    }
    response = render(request, "integrations/tokens.html", context)
    if plaintext:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    try:
        token = selectors.access_token(request.user, token_id)
        if token.user_id != request.user.pk:
            raise NotFound(_("Token not found."))
        services.token_revoke(actor=request.user, token=token)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("The token %(name)s is revoked.") % {"name": token.name})
    return HttpResponseRedirect(reverse("integrations:tokens"))
