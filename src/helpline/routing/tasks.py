"""Queue entry points of the routing app."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task(retries=3, retry_delay=5)
def reoffer_for_agent(user_id: int) -> None:
    """An agent became available or finished a ticket: offer them (and their teams) the
    work that waits, first in the queue first."""
    from helpline.accounts.models import TeamMembership
    from helpline.routing import services

    teams = list(TeamMembership.objects.filter(user_id=user_id).values_list("team_id", flat=True))
    if teams:
        services.reoffer(team_ids=teams)
