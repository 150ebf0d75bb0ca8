"""/api/v1/tokens: list my tokens, create one (plaintext shown once), revoke."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from helpline.accounts.models import User
from helpline.api import Page, PageParams, paginate
from helpline.core.errors import NotFound, PermissionDenied
from helpline.integrations import selectors, services
from helpline.integrations.auth import request_scopes, request_token
from helpline.integrations.schemas import TokenCreatedOut, TokenIn, TokenOut

router = Router(tags=["tokens"])


@router.get("", response=Page[TokenOut])
def list_tokens(request: HttpRequest, page: Query[PageParams]) -> Any:
    return paginate(selectors.token_list(actor=request.auth), page, order_by="-id")  # type: ignore[attr-defined]


@router.post("", response={201: TokenCreatedOut})
def create_token(request: HttpRequest, payload: TokenIn) -> Any:
    actor: User = request.auth  # type: ignore[attr-defined]
    owner = actor
    if payload.user_id is not None and payload.user_id != actor.pk:
        owner = User.objects.filter(pk=payload.user_id).first()  # type: ignore[assignment]
        if owner is None or actor.role != "admin":
            raise NotFound(_("User not found."))
    if request_token(request) is not None and not set(payload.scopes) <= request_scopes(request):
        # A token can mint tokens, but never one with more power than itself.
        raise PermissionDenied(
            _("A token may not create a token with scopes it does not hold."),
            code="insufficient_scope",
        )
    token, plaintext = services.token_create(
        actor=actor,
        user=owner,
        name=payload.name,
        scopes=payload.scopes,
        expires_at=payload.expires_at,
    )
    token.token = plaintext  # type: ignore[attr-defined]
    return Status(201, token)


@router.delete("/{int:token_id}", response={204: None})
def revoke_token(request: HttpRequest, token_id: int) -> Any:
    actor: User = request.auth  # type: ignore[attr-defined]
    services.token_revoke(actor=actor, token=selectors.access_token(actor, token_id))
    return Status(204, None)
