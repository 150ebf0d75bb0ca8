"""`{% agent_available user as available %}`: the viewer's availability, for the desk header."""

from __future__ import annotations

from django import template

from helpline.accounts.models import User
from helpline.routing import selectors

register = template.Library()


@register.simple_tag
def agent_available(user: User) -> bool:
    return selectors.is_available(user)
