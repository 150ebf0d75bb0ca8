"""Seed a benchmark desk: N tickets with 1-4 multilingual messages each, then the search index.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpline_bench_1m python bench/seed.py \
        --tickets 1000000

DATABASE_URL selects the database (unset: SQLite in bench/out/sqlite-<size>/). The database is
dropped, recreated and migrated. Reference data (organizations, customers, agents, teams, tags,
categories) goes through the ORM's bulk_create; tickets, their tags and messages are written
with COPY (PostgreSQL) or executemany (SQLite) in batches, with secondary indexes and foreign-key
triggers off during the load and rebuilt afterwards. Seeding is data generation, so it bypasses
the services (no events, no audit rows) but writes rows the services would accept. Finally the
search index is built with `helpline.core.search.reindex_all`. A summary with the timings is
written to <data dir>/seed.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import benchenv
from texts import TextPool

BATCH = 20_000
SPAN_DAYS = 730
PASSWORD = "bench-password-not-secret"

TEAMS = [
    # name, kind, level, department, share of tickets, agents
    ("Customer Support", "department", None, None, 0, 0),
    ("Finance", "department", None, None, 3, 3),
    ("IT Operations", "department", None, None, 5, 4),
    ("L1 Support", "line", 1, "Customer Support", 45, 20),
    ("L2 Support", "line", 2, "Customer Support", 20, 10),
    ("L3 Engineering", "line", 3, "Customer Support", 10, 5),
    ("L1 Billing", "line", 1, "Finance", 12, 6),
    ("L2 Billing", "line", 2, "Finance", 5, 3),
]
STATUSES_RECENT = (
    ("new", 15),
    ("open", 30),
    ("pending_customer", 15),
    ("pending_third_party", 5),
    ("on_hold", 5),
    ("solved", 20),
    ("closed", 10),
)
STATUSES_OLD = (
    ("new", 1),
    ("open", 2),
    ("pending_customer", 1),
    ("pending_third_party", 1),
    ("on_hold", 1),
    ("solved", 9),
    ("closed", 85),
)
PRIORITIES = ((0, 20), (1, 55), (2, 20), (3, 5))
CHANNELS = (("email", 45), ("web", 30), ("chat", 12), ("phone", 8), ("api", 5))
MESSAGE_COUNTS = ((1, 30), (2, 35), (3, 20), (4, 15))
TAGS = [
    "billing",
    "refund",
    "login",
    "password",
    "printer",
    "vpn",
    "hardware",
    "software",
    "outage",
    "bug",
    "feature-request",
    "invoice",
    "delivery",
    "shipping",
    "contract",
    "onboarding",
    "offboarding",
    "license",
    "mobile",
    "email",
    "network",
    "security",
    "urgent-customer",
    "vip",
    "complaint",
    "praise",
    "duplicate-charge",
    "backup",
    "api",
    "integration",
    "сбой",
    "оплата",
    "доставка",
    "发票",
    "退款",
    "登录",
]
TAGS += [f"product-{n}" for n in range(1, 121)]
CATEGORIES = [
    "Accounts",
    "Billing",
    "Hardware",
    "Software",
    "Network",
    "Orders",
    "Shipping",
    "Licensing",
    "Security",
    "Mobile",
    "Reports",
    "Integrations",
    "Other",
]
FIRST_NAMES = [
    "Anna",
    "Boris",
    "Chen",
    "Daria",
    "Elena",
    "Felix",
    "Grace",
    "Hiro",
    "Ivan",
    "Julia",
    "Kai",
    "Li",
    "Maria",
    "Nikolai",
    "Olga",
    "Pavel",
    "Qing",
    "Rosa",
    "Sergei",
    "Tanya",
    "Uma",
    "Victor",
    "Wei",
    "Xenia",
    "Yuri",
    "Zoe",
]
LAST_NAMES = [
    "Ivanova",
    "Smith",
    "Wang",
    "Petrov",
    "Garcia",
    "Kim",
    "Sokolov",
    "Zhang",
    "Brown",
    "Novak",
    "Liu",
    "Kuznetsova",
    "Muller",
    "Chen",
    "Popov",
    "Lee",
]


def weighted(rng: random.Random, pairs: Sequence[tuple[Any, int]]) -> Callable[[], Any]:
    values = [value for value, _ in pairs]
    cum: list[int] = []
    total = 0
    for _, weight in pairs:
        total += weight
        cum.append(total)
    choices = rng.choices

    def pick() -> Any:
        return choices(values, cum_weights=cum)[0]

    return pick


def log(message: str) -> None:
    print(message, flush=True)


# --- bulk writers ---------------------------------------------------------------------------


class Loader:
    """Writes rows fast: COPY on PostgreSQL, executemany on SQLite; secondary indexes rebuilt."""

    def __init__(self, tables: Sequence[str]) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.tables = list(tables)
        self.dropped: list[tuple[str, str]] = []

    def dt(self, ts: float | None) -> Any:
        if ts is None:
            return None
        value = datetime.fromtimestamp(ts, UTC)
        return value if self.vendor == "postgresql" else str(value.replace(tzinfo=None))

    def begin(self) -> None:
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute("SET session_replication_role = replica")
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = ANY(%s)"
                    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                    [self.tables],
                )
                self.dropped = list(cursor.fetchall())
            else:
                cursor.execute("PRAGMA foreign_keys = OFF")
                cursor.execute("PRAGMA synchronous = OFF")
                cursor.execute("PRAGMA cache_size = -400000")
                marks = ",".join("%s" for _ in self.tables)
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                    f" AND sql IS NOT NULL AND tbl_name IN ({marks})",
                    self.tables,
                )
                self.dropped = list(cursor.fetchall())
            for name, _sql in self.dropped:
                cursor.execute(f'DROP INDEX "{name}"')

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(columns)
        raw = self.connection.connection
        if self.vendor == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def finish(self) -> float:
        """Rebuild the dropped indexes; return the seconds it took."""
        started = time.perf_counter()
        with self.connection.cursor() as cursor:
            for name, definition in self.dropped:
                log(f"  index {name}")
                cursor.execute(definition)
            if self.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")
            else:
                cursor.execute("PRAGMA foreign_keys = ON")
                cursor.execute("PRAGMA synchronous = NORMAL")
        return time.perf_counter() - started


def plan_columns(model: Any, known: Sequence[str]) -> tuple[list[str], tuple[Any, ...]]:
    """All concrete columns of `model`: the `known` ones first, then the rest with defaults.

    Keeps the seeder valid when other apps add nullable or defaulted fields to the model.
    """
    from django.db import connection
    from django.db.models import JSONField
    from django.db.models.fields import NOT_PROVIDED

    extra: list[str] = []
    defaults: list[Any] = []
    for field in model._meta.concrete_fields:
        if field.column in known or field.primary_key:
            continue
        if field.default is not NOT_PROVIDED:
            value = field.get_default()
            if isinstance(field, JSONField):
                value = json.dumps(value)
            else:
                value = field.get_db_prep_save(value, connection)
        elif field.null:
            value = None
        else:
            raise SystemExit(f"seed.py does not know how to fill {model.__name__}.{field.name}")
        extra.append(field.column)
        defaults.append(value)
    return [*known, *extra], tuple(defaults)


# --- reference data -------------------------------------------------------------------------


def seed_people(rng: random.Random, n: int) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password

    from helpline.accounts.models import Organization, Role, Team, TeamMembership, User
    from helpline.tickets.models import Category, Tag

    password = make_password(PASSWORD)
    org_count = max(20, n // 200)
    orgs = Organization.objects.bulk_create(
        [
            Organization(
                name=f"{rng.choice(LAST_NAMES)} {rng.choice(['Ltd', 'GmbH', 'LLC', 'OOO'])} {i}",
                domains=[f"org{i}.example"],
            )
            for i in range(org_count)
        ],
        batch_size=5000,
    )
    staff = [
        User(
            email="admin@bench.test",
            username="admin@bench.test",
            role=Role.ADMIN,
            is_staff=True,
            is_superuser=True,
            display_name="Bench Admin",
            password=password,
        ),
        *[
            User(
                email=f"supervisor{i}@bench.test",
                username=f"supervisor{i}@bench.test",
                role=Role.SUPERVISOR,
                display_name=f"Supervisor {i}",
                password=password,
            )
            for i in range(3)
        ],
    ]
    User.objects.bulk_create(staff)
    teams: dict[str, Team] = {}
    members: list[TeamMembership] = []
    team_agents: dict[int, list[int]] = {}
    agent_no = 0
    for name, kind, level, department, _share, agents in TEAMS:
        team = Team.objects.create(
            name=name,
            kind=kind,
            level=level,
            department=teams.get(department) if department else None,
            is_default=name == "L1 Support",
        )
        teams[name] = team
        people = User.objects.bulk_create(
            [
                User(
                    email=f"agent{agent_no + i}@bench.test",
                    username=f"agent{agent_no + i}@bench.test",
                    role=Role.AGENT,
                    display_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    password=password,
                )
                for i in range(agents)
            ]
        )
        agent_no += agents
        members += [
            TeamMembership(team=team, user=agent, is_lead=i == 0) for i, agent in enumerate(people)
        ]
        team_agents[team.pk] = [agent.pk for agent in people]
    TeamMembership.objects.bulk_create(members)

    customer_count = max(100, n // 8)
    customers: list[tuple[int, int | None]] = []
    for start in range(0, customer_count, 10_000):
        chunk = []
        for i in range(start, min(start + 10_000, customer_count)):
            org = orgs[rng.randrange(org_count)] if rng.random() < 0.85 else None
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first.lower()}.{last.lower()}.{i}@" + (
                org.domains[0] if org else "mail.example"
            )
            chunk.append(
                User(
                    email=email,
                    username=email,
                    role=Role.CUSTOMER,
                    organization=org,
                    display_name=f"{first} {last}",
                    password=password,
                )
            )
        User.objects.bulk_create(chunk, batch_size=5000)
        customers += [(user.pk, user.organization_id) for user in chunk]
    log(f"  {org_count} organizations, {customer_count} customers, {agent_no} agents")

    tags = Tag.objects.bulk_create([Tag(name=name) for name in TAGS])
    categories = Category.objects.bulk_create([Category(name=name) for name in CATEGORIES])
    return {
        "customers": customers,
        "teams": [(teams[name].pk, share) for name, *_rest, share, _a in TEAMS if share],
        "team_agents": team_agents,
        "tags": [tag.pk for tag in tags],
        "categories": [category.pk for category in categories],
    }


# --- tickets and messages -------------------------------------------------------------------


TICKET_COLUMNS = [
    "id",
    "subject",
    "requester_id",
    "organization_id",
    "channel",
    "status",
    "priority",
    "category_id",
    "team_id",
    "assignee_id",
    "custom_fields",
    "merged_into_id",
    "created_at",
    "updated_at",
    "first_response_at",
    "last_customer_message_at",
    "solved_at",
    "closed_at",
    "message_count",
]
MESSAGE_COLUMNS = [
    "ticket_id",
    "author_id",
    "kind",
    "channel",
    "body_text",
    "body_html",
    "created_at",
    "moved_from_id",
]


def seed_tickets(rng: random.Random, n: int, people: dict[str, Any]) -> dict[str, Any]:
    from django.db import transaction

    from helpline.tickets.models import Message, Ticket

    pool = TextPool(rng)
    ticket_table = Ticket._meta.db_table
    message_table = Message._meta.db_table
    tag_table = Ticket.tags.through._meta.db_table
    loader = Loader([ticket_table, message_table, tag_table])
    ticket_cols, ticket_tail = plan_columns(Ticket, TICKET_COLUMNS)
    message_cols, message_tail = plan_columns(Message, MESSAGE_COLUMNS)
    dt = loader.dt

    customers = people["customers"]
    heavy = customers[: max(1, len(customers) // 100)]
    team_agents = people["team_agents"]
    tags, categories = people["tags"], people["categories"]
    popular_tags = tags[:30]
    pick_team = weighted(rng, people["teams"])
    pick_recent = weighted(rng, STATUSES_RECENT)
    pick_old = weighted(rng, STATUSES_OLD)
    pick_priority = weighted(rng, PRIORITIES)
    pick_channel = weighted(rng, CHANNELS)
    pick_count = weighted(rng, MESSAGE_COUNTS)
    random_ = rng.random
    now = time.time()
    start = now - SPAN_DAYS * 86400
    step = SPAN_DAYS * 86400 / n

    loader.begin()
    started = time.perf_counter()
    messages_total = 0
    tags_total = 0
    for batch_start in range(1, n + 1, BATCH):
        tickets: list[tuple[Any, ...]] = []
        messages: list[tuple[Any, ...]] = []
        ticket_tags: list[tuple[int, int]] = []
        for ticket_id in range(batch_start, min(batch_start + BATCH, n + 1)):
            created = start + (ticket_id - 1) * step + random_() * step
            recent = now - created < 60 * 86400
            status = pick_recent() if recent else pick_old()
            requester, org = rng.choice(heavy) if random_() < 0.1 else rng.choice(customers)
            team = pick_team()
            agents = team_agents[team]
            assignee = None if status == "new" or random_() < 0.05 else rng.choice(agents)
            channel = pick_channel()
            language = pool.language()
            count = pick_count()
            at = created
            first_response = None
            last_customer = created
            messages.append(
                (
                    ticket_id,
                    requester,
                    "public",
                    channel,
                    pool.message(language),
                    "",
                    dt(created),
                    None,
                    *message_tail,
                )
            )
            for _ in range(count - 1):
                at = min(now, at + random_() * 2 * 86400)
                roll = random_()
                if roll < 0.15:
                    author, kind = assignee or rng.choice(agents), "internal"
                elif roll < 0.6:
                    author, kind = assignee or rng.choice(agents), "public"
                    first_response = first_response or at
                else:
                    author, kind = requester, "public"
                    last_customer = at
                messages.append(
                    (
                        ticket_id,
                        author,
                        kind,
                        channel,
                        pool.message(language),
                        "",
                        dt(at),
                        None,
                        *message_tail,
                    )
                )
            updated = min(now - random_() * 3600, at + random_() * 3 * 86400)
            solved = updated if status in ("solved", "closed") else None
            closed = min(now, updated + 4 * 86400) if status == "closed" else None
            updated = closed or updated
            tickets.append(
                (
                    ticket_id,
                    pool.subject(language),
                    requester,
                    org,
                    channel,
                    status,
                    pick_priority(),
                    rng.choice(categories) if random_() < 0.7 else None,
                    team,
                    assignee,
                    "{}",
                    None,
                    dt(created),
                    dt(updated),
                    dt(first_response),
                    dt(last_customer),
                    dt(solved),
                    dt(closed),
                    count,
                    *ticket_tail,
                )
            )
            tag_count = rng.choice((0, 0, 1, 1, 1, 2, 2, 3))
            if tag_count:
                chosen = {
                    rng.choice(popular_tags) if random_() < 0.7 else rng.choice(tags)
                    for _ in range(tag_count)
                }
                ticket_tags += [(ticket_id, tag) for tag in chosen]
        with transaction.atomic():
            loader.write(ticket_table, ticket_cols, tickets)
            loader.write(message_table, message_cols, messages)
            loader.write(tag_table, ["ticket_id", "tag_id"], ticket_tags)
        messages_total += len(messages)
        tags_total += len(ticket_tags)
        done = batch_start + len(tickets) - 1
        elapsed = time.perf_counter() - started
        log(
            f"  tickets {done:>9,}/{n:,}  messages {messages_total:>10,}"
            f"  {done / elapsed:,.0f} tickets/s"
        )
    load_seconds = time.perf_counter() - started
    index_seconds = loader.finish()
    reset_sequences([Ticket, Message, Ticket.tags.through])
    return {
        "messages": messages_total,
        "ticket_tags": tags_total,
        "load_seconds": round(load_seconds, 1),
        "index_seconds": round(index_seconds, 1),
    }


def reset_sequences(models: Sequence[Any]) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def analyze() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def build_search_index() -> dict[str, Any]:
    from helpline.core import search

    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int | None = None, *_: Any) -> None:
        if time.perf_counter() - last[0] >= 5:
            last[0] = time.perf_counter()
            rate = done / (last[0] - started)
            log(f"  indexed {done:,}/{total or '?'}  {rate:,.0f} tickets/s")

    search.reindex_all(progress=progress)
    return {"search_index_seconds": round(time.perf_counter() - started, 1)}


def index_only() -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    path = benchenv.data_dir() / "seed.json"
    summary = json.loads(path.read_text())
    log("building the search index")
    summary.update(build_search_index())
    summary["analyze_seconds"] = round(summary["analyze_seconds"] + analyze(), 1)
    path.write_text(json.dumps(summary, indent=2))
    log(json.dumps(summary, indent=2))
    return summary


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1, help="random seed (reproducible data)")
    parser.add_argument("--no-search-index", action="store_true", help="skip the search index")
    parser.add_argument(
        "--index-only", action="store_true", help="only (re)build the search index of a seeded DB"
    )
    args = parser.parse_args(argv)

    kind = benchenv.configure(None, args.tickets)
    if args.index_only:
        return index_only()
    benchenv.recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    log(f"seeding {args.tickets:,} tickets into {kind} ({connection.settings_dict['NAME']})")
    rng = random.Random(args.seed)
    summary: dict[str, Any] = {"db": kind, "tickets": args.tickets, "seed": args.seed}
    timer = time.perf_counter()
    call_command("migrate", verbosity=0)
    summary["migrate_seconds"] = round(time.perf_counter() - timer, 1)
    timer = time.perf_counter()
    people = seed_people(rng, args.tickets)
    summary["people_seconds"] = round(time.perf_counter() - timer, 1)
    summary["customers"] = len(people["customers"])
    summary.update(seed_tickets(rng, args.tickets, people))
    summary["analyze_seconds"] = round(analyze(), 1)
    if not args.no_search_index:
        log("building the search index")
        summary.update(build_search_index())
        summary["analyze_seconds"] = round(summary["analyze_seconds"] + analyze(), 1)
    summary["total_seconds"] = round(time.perf_counter() - timer, 1)
    summary["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (benchenv.data_dir() / "seed.json").write_text(json.dumps(summary, indent=2))
    log(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
