"""Account and portal e-mails, rendered in the recipient's language.

Each e-mail is a pair of templates, `accounts/email/<name>_subject.txt` and
`accounts/email/<name>.txt`, rendered with the language active (the user's choice, else
the language of the request that caused the e-mail) and sent with Django's mail API.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation


def render_mail(*, language: str, template: str, context: dict[str, Any]) -> tuple[str, str]:
    """The (subject, body) of e-mail `template` in `language`."""
    context = {"site_url": settings.BASE_URL, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
        body = render_to_string(f"accounts/email/{template}.txt", context)
    return " ".join(subject.split()), body


def send_localized_mail(*, to: str, language: str, template: str, context: dict[str, Any]) -> None:
    subject, body = render_mail(language=language, template=template, context=context)
    send_mail(subject, body, None, [to])
