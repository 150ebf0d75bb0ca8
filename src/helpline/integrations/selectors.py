"""Reads for API tokens, scoped to the viewer."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from helpline.accounts.models import Role, User
from helpline.core.errors import NotFound
from helpline.integrations.models import ApiToken


def token_list(*, actor: User) -> QuerySet[ApiToken]:
    """The actor's own tokens, newest first (secrets are never readable)."""
    return ApiToken.objects.filter(user=actor).select_related("user").order_by("-id")


def access_token(actor: User, token_id: int) -> ApiToken:
    """A token the actor owns (administrators: any); NotFound otherwise."""
    queryset = ApiToken.objects.select_related("user").filter(pk=token_id)
    if actor.role != Role.ADMIN:
        queryset = queryset.filter(user=actor)
    token = queryset.first()
    if token is None:
        raise NotFound(_("Token not found."))
    return token
