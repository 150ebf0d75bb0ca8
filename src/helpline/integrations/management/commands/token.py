"""Personal API tokens from the command line.

helpline token create --user EMAIL --name NAME --scopes tickets:read,tickets:write
                      [--expires-days N]
helpline token list [--user EMAIL]
helpline token revoke ID
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from helpline.accounts.models import User
from helpline.core.errors import DomainError
from helpline.integrations import services
from helpline.integrations.models import SCOPES, ApiToken


class Command(BaseCommand):
    help = "Create, list and revoke personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a token and print it once.")
        create.add_argument("--user", required=True, help="The owner's e-mail address.")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scopes", required=True, help=f"Comma-separated, from: {', '.join(SCOPES)}."
        )
        create.add_argument("--expires-days", type=int, default=None)
        listing = actions.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("--user", default=None, help="Only this user's tokens.")
        revoke = actions.add_parser("revoke", help="Revoke a token by id.")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            raise CommandError(exc.message) from None

    def _user(self, email: str) -> User:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with e-mail {email}.")
        return user

    def _create(self, options: dict[str, Any]) -> None:
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1.")
        token, plaintext = services.token_create(
            actor=None,
            user=self._user(options["user"]),
            name=options["name"],
            scopes=options["scopes"].split(","),
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        self.stderr.write(f"Created token {token.pk}. Store it now: it is not shown again.")
        self.stdout.write(plaintext)

    def _list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("id")
        if options["user"]:
            tokens = tokens.filter(user=self._user(options["user"]))
        for token in tokens:
            state = "active" if token.is_active else ("revoked" if token.revoked_at else "expired")
            expires = token.expires_at.isoformat() if token.expires_at else "never"
            self.stdout.write(
                f"{token.pk}\t{token.user.email}\t{token.name}\thl_{token.prefix}_…\t"
                f"{','.join(token.scopes)}\t{state}\texpires {expires}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        token = ApiToken.objects.filter(pk=options["id"]).first()
        if token is None:
            raise CommandError(f"No token {options['id']}.")
        services.token_revoke(actor=None, token=token)
        self.stdout.write(f"Revoked token {token.pk}.")
