"""Template context shared by every page: the languages offered and the viewer's area."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def helpline(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    is_staff_member = bool(user is not None and user.is_authenticated and user.is_staff_member)
    return {
        "helpline_languages": settings.LANGUAGES,
        "is_staff_member": is_staff_member,
    }
