"""Customer self-service: sign-up with e-mail verification, passwordless magic links,
requests from visitors who are not signed in, and signed links to follow one request.

Tokens are stateless and signed with the secret key:
- e-mail verification uses Django's token machinery (like password reset); the hash covers
  `is_active` and `last_login`, so a link works once;
- a magic link signs the user id and their `last_login`: signing in changes `last_login`,
  so a used link (and every older one) stops working; it expires after
  `MAGIC_LINK_MAX_AGE` seconds;
- a follow link signs the ticket and its requester; it opens that one request only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from helpline.accounts import events
from helpline.accounts.mails import send_localized_mail
from helpline.accounts.models import Role, User
from helpline.accounts.services import user_create
from helpline.core.errors import NotFound, ValidationError
from helpline.core.events import emit

MAGIC_LINK_MAX_AGE = 15 * 60
FOLLOW_LINK_MAX_AGE = 180 * 24 * 3600
_MAGIC_SALT = "helpline.accounts.magic_link"
_FOLLOW_SALT = "helpline.tickets.follow_link"


class _VerificationTokens(PasswordResetTokenGenerator):
    key_salt = "helpline.accounts.verify_email"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        login = "" if user.last_login is None else user.last_login.replace(microsecond=0)
        return f"{user.pk}{user.is_active}{login}{user.email}{timestamp}"


verification_tokens = _VerificationTokens()


def _link(path: str) -> str:
    return f"{settings.BASE_URL}{path}"


def _language(user: User | None) -> str:
    return (user.language if user is not None else "") or get_language() or settings.LANGUAGE_CODE


def _after_commit_mail(user: User | None, email: str, template: str, **context: Any) -> None:
    language = _language(user)
    transaction.on_commit(
        lambda: send_localized_mail(
            to=email, language=language, template=template, context={"user": user, **context}
        )
    )


def _active_user(email: str) -> User | None:
    email = (email or "").strip()
    return User.objects.filter(email__iexact=email, is_active=True).first() if email else None


# --- sign-up and verification ----------------------------------------------------------------


def verification_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = verification_tokens.make_token(user)
    return _link(reverse("accounts:verify", args=[uid, token]))


def customer_sign_up(
    *,
    email: str,
    password: str,
    display_name: str = "",
    language: str = "",
    time_zone: str = "",
) -> User | None:
    """Register a customer account, inactive until the e-mail address is confirmed.

    The answer never reveals whether the address is known: an existing account gets an
    e-mail that says so (with a link to reset the password) and None is returned."""
    existing = User.objects.filter(email__iexact=(email or "").strip()).first()
    if existing is not None:
        with transaction.atomic():
            if existing.is_active:
                reset = _link(reverse("accounts:password_reset"))
                _after_commit_mail(existing, existing.email, "account_exists", reset_link=reset)
            elif existing.last_login is None:
                _after_commit_mail(
                    existing, existing.email, "verify", link=verification_link(existing)
                )
        return None
    with transaction.atomic():
        user = user_create(
            actor=None,
            email=email,
            password=password,
            display_name=display_name,
            language=language,
            time_zone=time_zone,
        )
        user.is_active = False
        user.save(update_fields=["is_active"])
        _after_commit_mail(user, user.email, "verify", link=verification_link(user))
    return user


def email_verify(*, uidb64: str, token: str) -> User:
    """Activate the account of a verification link; the link works once."""
    invalid = ValidationError(
        _("This confirmation link is not valid any more. Sign in, or sign up again."),
        code="invalid_link",
    )
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        raise invalid from None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=pk).first()
        if user is None or user.is_active or not verification_tokens.check_token(user, token):
            raise invalid
        user.is_active = True
        user.save(update_fields=["is_active"])
        emit(
            events.UserUpdated(user_id=user.pk, changes={"is_active": [False, True]}),
            actor=user,
            aggregate=("user", user.pk),
        )
    return user


# --- magic links -------------------------------------------------------------------------


def _login_stamp(user: User) -> str:
    return "" if user.last_login is None else user.last_login.isoformat()


def magic_link_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "l": _login_stamp(user)}, salt=_MAGIC_SALT, compress=True)


def magic_link_send(*, email: str) -> None:
    """E-mail a sign-in link to an active account; silent for unknown addresses."""
    user = _active_user(email)
    if user is None:
        return
    link = _link(reverse("accounts:magic_link", args=[magic_link_token(user)]))
    with transaction.atomic():
        _after_commit_mail(
            user, user.email, "magic_link", link=link, minutes=MAGIC_LINK_MAX_AGE // 60
        )


def magic_link_user(token: str) -> User:
    """The user a magic link signs in. Expired, used and forged links are refused."""
    try:
        data = signing.loads(token, salt=_MAGIC_SALT, max_age=MAGIC_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(
            _("This sign-in link has expired. Ask for a new one."), code="link_expired"
        ) from None
    except signing.BadSignature:
        raise ValidationError(_("This sign-in link is not valid."), code="invalid_link") from None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None:
        raise ValidationError(_("This sign-in link is not valid."), code="invalid_link")
    if _login_stamp(user) != data.get("l"):
        raise ValidationError(
            _("This sign-in link was already used. Ask for a new one."), code="link_used"
        )
    return user


# --- requests from visitors and follow links ---------------------------------------------------


def follow_token(ticket: Any) -> str:
    return signing.dumps({"t": ticket.pk, "u": ticket.requester_id}, salt=_FOLLOW_SALT)


def follow_link(ticket: Any) -> str:
    return _link(reverse("tickets:portal_follow", args=[ticket.pk, follow_token(ticket)]))


def follow_requester(*, ticket_id: int, token: str) -> User:
    """The requester a follow link speaks for; NotFound for a wrong, forged or old link."""
    try:
        data = signing.loads(token, salt=_FOLLOW_SALT, max_age=FOLLOW_LINK_MAX_AGE)
    except signing.BadSignature:
        raise NotFound(_("Request not found.")) from None
    if data.get("t") != ticket_id:
        raise NotFound(_("Request not found."))
    user = User.objects.filter(pk=data.get("u"), is_active=True, role=Role.CUSTOMER).first()
    if user is None:
        raise NotFound(_("Request not found."))
    return user


def visitor_request_create(
    *,
    email: str,
    name: str = "",
    subject: str,
    body: str,
    category: Any = None,
    attachments: Sequence[Any] = (),
) -> Any:
    """A request from someone who is not signed in: the contact address becomes (or finds)
    the customer. The confirmation e-mail of the new ticket (notifications app, on
    `TicketCreated`) carries `follow_link`, to follow the request without a password."""
    from helpline.tickets.services import ticket_create

    email = (email or "").strip()
    with transaction.atomic():
        customer = User.objects.filter(email__iexact=email).first() if email else None
        if customer is not None and customer.is_staff_member:
            raise ValidationError(
                _("This address belongs to a desk account. Please sign in."),
                fields={"email": "staff"},
            )
        if customer is None:
            customer = user_create(
                actor=None, email=email, display_name=name, language=get_language() or ""
            )
        ticket = ticket_create(
            actor=customer,
            subject=subject,
            body=body,
            category=category,
            attachments=attachments,
        )
    return ticket
