"""A realistic demo desk, built only through the real services.

`build_demo()` creates support lines L1/L2/L3, the Technical, Finance and Sales departments,
an administrator, a supervisor, agents and a service manager, three customer organizations on
the Basic and Premium plans, their customers, a category tree and about thirty tickets in
English, Russian and Chinese in every state of the status machine. It runs in one
transaction, so a desk is either fully built or untouched. Every demo account shares the
fixed password `DEMO_PASSWORD` (it is a demo; the README says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from helpline.accounts import services as accounts
from helpline.accounts.models import Organization, Role, Team, User
from helpline.routing import config as routing_config
from helpline.routing import services as routing
from helpline.tickets import catalog
from helpline.tickets import services as tickets
from helpline.tickets.models import Category, Channel, Status

DEMO_PASSWORD = "helpline-demo"  # noqa: S105 (documented demo password)
DEMO_ADMIN_EMAIL = "admin@helpline.example"


@dataclass(frozen=True)
class Person:
    key: str
    email: str
    name: str
    role: str
    language: str = "en"
    organization: str = ""
    login: bool = True


STAFF = (
    Person("admin", DEMO_ADMIN_EMAIL, "Alex Admin", Role.ADMIN),
    Person("supervisor", "supervisor@helpline.example", "Sofia Supervisor", Role.SUPERVISOR),
    Person("liam", "liam@helpline.example", "Liam Carter", Role.AGENT),
    Person("olga", "olga@helpline.example", "Ольга Петрова", Role.AGENT, "ru"),
    Person("wei", "wei@helpline.example", "张伟 (Zhang Wei)", Role.AGENT, "zh-hans"),
    Person("marco", "marco@helpline.example", "Marco Rossi", Role.AGENT),
    Person("priya", "priya@helpline.example", "Priya Nair", Role.AGENT),
    Person("hannah", "hannah@helpline.example", "Hannah Berg", Role.AGENT),
    Person("fatima", "fatima@helpline.example", "Fatima Haddad", Role.AGENT),
    Person("sven", "sven@helpline.example", "Sven Olsen", Role.AGENT),
)

CUSTOMERS = (
    Person("john", "john@northwind.example", "John Miller", Role.CUSTOMER, "en", "northwind"),
    Person("emma", "emma@northwind.example", "Emma Clark", Role.CUSTOMER, "en", "northwind"),
    Person("ivan", "ivan@globus.example", "Иван Смирнов", Role.CUSTOMER, "ru", "globus"),
    Person("anna", "anna@globus.example", "Анна Кузнецова", Role.CUSTOMER, "ru", "globus", False),
    Person("lina", "li.na@lotus.example", "李娜", Role.CUSTOMER, "zh-hans", "lotus"),
    Person("chen", "chen.jie@lotus.example", "陈杰", Role.CUSTOMER, "zh-hans", "lotus", False),
    Person("maria", "maria@mail.example", "Maria Garcia", Role.CUSTOMER, "en"),
)

ORGANIZATIONS = (
    # key, name, domain, plan, service manager
    ("northwind", "Northwind Trading", "northwind.example", "premium", "hannah"),
    ("globus", "ООО «Глобус Логистика»", "globus.example", "basic", ""),
    ("lotus", "莲花电子 Lotus Electronics", "lotus.example", "premium", "hannah"),
)

TEAMS = (
    # key, name, kind, level, description
    ("l1", "L1 Service Desk", Team.Kind.LINE, 1, "First line: every new request lands here."),
    ("l2", "L2 Specialists", Team.Kind.LINE, 2, "Second line: product specialists."),
    ("l3", "L3 Engineering", Team.Kind.LINE, 3, "Third line: engineers and vendors."),
    ("technical", "Technical", Team.Kind.DEPARTMENT, None, "Infrastructure and field service."),
    ("finance", "Finance", Team.Kind.DEPARTMENT, None, "Invoices, refunds and contracts."),
    ("sales", "Sales", Team.Kind.DEPARTMENT, None, "Quotes, upgrades and renewals."),
)

MEMBERS = (
    # team, agent, is_lead
    ("l1", "liam", True),
    ("l1", "olga", False),
    ("l1", "wei", False),
    ("l2", "marco", True),
    ("l2", "wei", False),
    ("l2", "hannah", False),
    ("l3", "priya", True),
    ("technical", "priya", False),
    ("technical", "marco", False),
    ("finance", "fatima", True),
    ("sales", "sven", True),
)

CATEGORIES = {
    "Hardware": ("Laptops", "Printers"),
    "Software": ("E-mail", "VPN", "Office apps"),
    "Billing": ("Invoices", "Refunds"),
    "Accounts and access": (),
    "Sales enquiries": (),
}


@dataclass(frozen=True)
class Story:
    """One demo ticket: who opened it, where it went and what happened to it since."""

    subject: str
    body: str
    requester: str
    by: str = ""  # agent who logged it on the requester's behalf ("" = the requester)
    channel: str = Channel.WEB
    priority: str = "normal"
    category: str = ""
    tags: tuple[str, ...] = ()
    team: str = ""
    steps: Sequence[tuple[str, ...]] = field(default_factory=tuple)


# Steps: ("assign", agent) ("reply", person, body) ("note", agent, body)
# ("status", person, status) ("escalate", agent, note).
STORIES = (
    Story(
        "Laptop will not boot after the update",
        "Since this morning's update my laptop stops at a black screen with a blinking cursor.",
        "john",
        category="Hardware/Laptops",
        priority="high",
        steps=(
            ("assign", "liam"),
            ("reply", "liam", "Sorry about that. Could you hold Shift while it starts?"),
            ("reply", "john", "Tried it, same black screen."),
            ("escalate", "liam", "Safe mode fails too; looks like the disk driver. Over to L2."),
            ("assign", "marco"),
            ("note", "marco", "Known issue with the storage driver 4.2; rollback image ready."),
        ),
    ),
    Story(
        "Printer on floor 3 prints blank pages",
        "The HP printer near the kitchen prints only blank pages since Monday.",
        "emma",
        by="liam",
        channel=Channel.PHONE,
        category="Hardware/Printers",
        tags=("printer", "floor-3"),
        steps=(
            ("assign", "liam"),
            (
                "reply",
                "liam",
                "A technician is ordering a new toner cartridge; we will update you.",
            ),
            ("status", "liam", Status.PENDING_THIRD_PARTY),
        ),
    ),
    Story(
        "Cannot connect to VPN from home",
        "The VPN client says 'authentication failed' although my password works for e-mail.",
        "maria",
        category="Software/VPN",
        steps=(
            ("assign", "liam"),
            ("reply", "liam", "Your VPN certificate had expired. I renewed it; please try again."),
            ("reply", "maria", "Works now, thank you!"),
            ("status", "maria", Status.SOLVED),
        ),
    ),
    Story(
        "Invoice INV-2024-118 shows the wrong VAT rate",
        "The invoice for March uses 19% VAT; our contract says 7% for this service.",
        "john",
        by="fatima",
        channel=Channel.EMAIL,
        category="Billing/Invoices",
        team="finance",
        tags=("vat",),
        steps=(
            ("assign", "fatima"),
            ("note", "fatima", "Checked the contract: 7% is right. Credit note needed."),
            ("reply", "fatima", "You are right; we will send a corrected invoice this week."),
            ("status", "fatima", Status.ON_HOLD),
        ),
    ),
    Story(
        "Quote for 25 more seats",
        "We are growing and need 25 more agent seats from next month. What would that cost?",
        "emma",
        category="Sales enquiries",
        team="sales",
        steps=(
            ("assign", "sven"),
            ("reply", "sven", "Happy to help. Do you want annual or monthly billing?"),
            ("status", "sven", Status.PENDING_CUSTOMER),
        ),
    ),
    Story(
        "Outlook keeps asking for my password",
        "Every few minutes Outlook shows a password prompt, even after I enter it.",
        "maria",
        category="Software/E-mail",
    ),
    Story(
        "Request: access to the shared finance folder",
        "Please give me read access to \\\\files\\finance\\2024 for the audit.",
        "john",
        category="Accounts and access",
        steps=(
            ("assign", "liam"),
            ("note", "liam", "Needs approval from the finance lead."),
            ("reply", "liam", "Access granted (read only) until the end of the audit."),
            ("status", "liam", Status.SOLVED),
            ("status", "liam", Status.CLOSED),
        ),
    ),
    Story(
        "Database replication lag on the reporting server",
        "Reports are about two hours behind since the weekend. Replication lag keeps growing.",
        "emma",
        by="marco",
        channel=Channel.API,
        priority="urgent",
        team="l2",
        category="Software",
        tags=("database", "monitoring"),
        steps=(
            ("assign", "marco"),
            ("escalate", "marco", "WAL shipping stalls every 20 minutes; needs an engineer."),
            ("assign", "priya"),
            ("note", "priya", "Network MTU mismatch after the switch upgrade. Fix scheduled."),
        ),
    ),
    Story(
        "Refund for a double charge",
        "My card was charged twice for the April subscription.",
        "maria",
        category="Billing/Refunds",
        team="finance",
        steps=(
            ("assign", "fatima"),
            ("reply", "fatima", "Refund issued; it will show in 3 to 5 working days."),
            ("status", "fatima", Status.SOLVED),
        ),
    ),
    Story(
        "New laptop for a starter on Monday",
        "Anna Weber starts on Monday and needs a laptop with the standard image.",
        "emma",
        category="Hardware/Laptops",
        priority="low",
        steps=(("assign", "liam"),),
    ),
    Story(
        "Не приходят письма с сайта",
        "Со вчерашнего дня клиенты не получают письма о заказах. Очередь почты растёт.",
        "ivan",
        category="Software/E-mail",
        priority="high",
        steps=(
            ("assign", "olga"),
            ("reply", "olga", "Проверяем почтовый шлюз. Подскажите, с какого адреса идут письма?"),
            ("reply", "ivan", "С адреса orders@globus.example."),
            ("escalate", "olga", "SPF-запись домена не содержит новый IP шлюза. Нужна L2."),
            ("assign", "wei"),
        ),
    ),
    Story(
        "Ошибка в счёте за март",
        "В счёте за март указано 12 лицензий вместо 10. Просим исправить.",
        "ivan",
        category="Billing/Invoices",
        team="finance",
        steps=(
            ("assign", "fatima"),
            ("reply", "fatima", "Спасибо, исправленный счёт отправлен на почту."),
            ("status", "fatima", Status.SOLVED),
            ("status", "fatima", Status.CLOSED),
        ),
    ),
    Story(
        "Не работает принтер на складе",
        "Принтер этикеток на складе печатает полосы. Перезагрузка не помогает.",
        "anna",
        by="olga",
        channel=Channel.PHONE,
        category="Hardware/Printers",
        tags=("склад",),
        steps=(
            ("assign", "olga"),
            ("note", "olga", "Похоже на износ печатающей головки; заказали у поставщика."),
            ("status", "olga", Status.PENDING_THIRD_PARTY),
        ),
    ),
    Story(
        "Нужен доступ к VPN для нового сотрудника",
        "Прошу выдать доступ к VPN для Петра Иванова, он начинает работу в понедельник.",
        "ivan",
        category="Software/VPN",
    ),
    Story(
        "Медленно открываются отчёты",
        "Отчёт по отгрузкам открывается больше минуты. Раньше было 5 секунд.",
        "anna",
        by="olga",
        channel=Channel.EMAIL,
        category="Software",
        steps=(
            ("assign", "olga"),
            ("reply", "olga", "Уточните, пожалуйста, за какой период вы строите отчёт?"),
            ("status", "olga", Status.PENDING_CUSTOMER),
        ),
    ),
    Story(
        "Сбой синхронизации с 1С",
        "Заказы из портала перестали выгружаться в 1С. В журнале ошибка таймаута.",
        "ivan",
        by="olga",
        channel=Channel.EMAIL,
        priority="urgent",
        category="Software",
        tags=("1с", "интеграция"),
        steps=(
            ("assign", "olga"),
            ("escalate", "olga", "Таймаут на стороне API, воспроизводится. Передаю на L2."),
            ("assign", "marco"),
            ("escalate", "marco", "Нужна правка коннектора, передаю инженерам."),
            ("assign", "priya"),
        ),
    ),
    Story(
        "Продление договора поддержки",
        "Хотим продлить договор на следующий год и перейти на тариф Premium.",
        "ivan",
        category="Sales enquiries",
        team="sales",
        steps=(
            ("assign", "sven"),
            ("note", "sven", "Подготовить коммерческое предложение до пятницы."),
            ("status", "sven", Status.OPEN),
        ),
    ),
    Story(
        "Сброс пароля в личном кабинете",
        "Не могу войти в личный кабинет, ссылка для сброса пароля не приходит.",
        "anna",
        by="olga",
        channel=Channel.CHAT,
        category="Accounts and access",
        steps=(
            ("assign", "olga"),
            ("reply", "olga", "Отправили ссылку повторно, проверьте папку «Спам»."),
            ("status", "olga", Status.SOLVED),
        ),
    ),
    Story(
        "Замена ноутбука по гарантии",
        "У ноутбука бухгалтера треснул экран. Ноутбук на гарантии.",
        "ivan",
        category="Hardware/Laptops",
        priority="low",
    ),
    Story(
        "Вопрос по возврату средств",
        "Оплатили лишнюю лицензию по ошибке. Можно ли вернуть деньги?",
        "anna",
        by="fatima",
        channel=Channel.EMAIL,
        category="Billing/Refunds",
        team="finance",
        steps=(("assign", "fatima"),),
    ),
    Story(
        "无法登录客户门户",
        "今天早上开始无法登录客户门户，提示“用户名或密码错误”，但密码没有改过。",
        "lina",
        category="Accounts and access",
        priority="high",
        steps=(
            ("assign", "wei"),
            ("reply", "wei", "您的账户因多次失败登录被锁定，我已经解锁，请再试一次。"),
            ("reply", "lina", "可以登录了，谢谢！"),
            ("status", "wei", Status.SOLVED),
        ),
    ),
    Story(
        "打印机无法连接网络",
        "会议室的打印机显示离线，重启后仍然无法连接无线网络。",
        "chen",
        by="wei",
        channel=Channel.PHONE,
        category="Hardware/Printers",
        steps=(
            ("assign", "wei"),
            ("note", "wei", "可能是无线网卡故障，已联系厂商。"),
            ("status", "wei", Status.PENDING_THIRD_PARTY),
        ),
    ),
    Story(
        "发票抬头需要修改",
        "上个月的发票抬头写错了公司名称，请重新开具。",
        "lina",
        category="Billing/Invoices",
        team="finance",
        steps=(
            ("assign", "fatima"),
            ("reply", "fatima", "请提供正确的公司全称和税号，我们会重新开具发票。"),
            ("status", "fatima", Status.PENDING_CUSTOMER),
        ),
    ),
    Story(
        "邮件同步很慢",
        "手机上的企业邮箱同步需要十几分钟，电脑上正常。",
        "chen",
        category="Software/E-mail",
    ),
    Story(
        "生产线监控系统报警",
        "生产线监控系统从凌晨开始频繁报警，显示数据采集超时。",
        "lina",
        by="wei",
        channel=Channel.EMAIL,
        priority="urgent",
        category="Software",
        tags=("生产线", "监控"),
        steps=(
            ("assign", "wei"),
            ("escalate", "wei", "数据采集服务每十分钟超时一次，需要二线支持。"),
            ("assign", "wei"),
            ("note", "wei", "二线已确认是数据库连接池耗尽，正在调整配置。"),
        ),
    ),
    Story(
        "申请VPN权限",
        "新同事王芳下周一入职，需要开通VPN权限。",
        "chen",
        category="Software/VPN",
        steps=(
            ("assign", "wei"),
            ("reply", "wei", "VPN账号已开通，登录信息已发送到王芳的邮箱。"),
            ("status", "wei", Status.SOLVED),
            ("status", "wei", Status.CLOSED),
        ),
    ),
    Story(
        "询问高级版价格",
        "我们想了解高级版支持计划的价格和包含的服务。",
        "lina",
        category="Sales enquiries",
        team="sales",
        steps=(
            ("assign", "sven"),
            ("note", "sven", "Send the Premium price list in Chinese; ask Wei to review it."),
            ("status", "sven", Status.ON_HOLD),
        ),
    ),
    Story(
        "笔记本电脑电池鼓包",
        "一台笔记本电脑的电池鼓起来了，是否可以更换？",
        "chen",
        by="wei",
        channel=Channel.CHAT,
        category="Hardware/Laptops",
        priority="high",
        steps=(
            ("assign", "wei"),
            ("reply", "wei", "请立即停止使用该电脑，我们会安排上门更换电池。"),
        ),
    ),
    Story(
        "Shared mailbox for the support team",
        "Could you set up support@lotus.example as a shared mailbox for four people?",
        "lina",
        category="Software/E-mail",
        steps=(
            ("assign", "liam"),
            ("reply", "liam", "Done: the four of you now have access to the shared mailbox."),
            ("reply", "lina", "One colleague still cannot see it in Outlook."),
        ),
    ),
    Story(
        "Data export for the annual audit",
        "Our auditors need an export of all tickets from last year with their resolution times.",
        "john",
        priority="low",
        category="Accounts and access",
        steps=(
            ("assign", "supervisor"),
            ("note", "supervisor", "Export via the API; check with the service manager first."),
        ),
    ),
)


@dataclass
class DemoDesk:
    people: dict[str, User]
    teams: dict[str, Team]
    organizations: dict[str, Organization]
    categories: dict[str, Category]


def demo_present() -> bool:
    return User.objects.filter(email__iexact=DEMO_ADMIN_EMAIL).exists()


def demo_logins() -> list[tuple[str, str, str]]:
    """(role, e-mail, name) of each demo account that can sign in, staff first."""
    return [
        (str(Role(person.role).label), person.email, person.name)
        for person in (*STAFF, *CUSTOMERS)
        if person.login
    ]


def build_demo() -> DemoDesk:
    """Create the demo desk in one transaction (callers check `demo_present()` first)."""
    with transaction.atomic():
        desk = DemoDesk(people={}, teams={}, organizations={}, categories={})
        _people_and_teams(desk)
        _categories(desk)
        for story in STORIES:
            _tell(desk, story)
        _routing(desk)
    return desk


def _user(person: Person, actor: User | None, organization: Organization | None) -> User:
    return accounts.user_create(
        actor=actor,
        email=person.email,
        role=person.role,
        password=DEMO_PASSWORD if person.login else None,
        display_name=person.name,
        organization=organization,
        language=person.language,
        match_organization=False,
    )


def _people_and_teams(desk: DemoDesk) -> None:
    admin = _user(STAFF[0], None, None)
    desk.people["admin"] = admin
    for person in STAFF[1:]:
        desk.people[person.key] = _user(person, admin, None)
    for key, name, kind, level, description in TEAMS:
        desk.teams[key] = accounts.team_create(
            actor=admin,
            name=name,
            kind=kind,
            level=level,
            description=description,
            is_default=key == "l1",
        )
    for team, agent, is_lead in MEMBERS:
        accounts.team_set_member(
            actor=admin, team=desk.teams[team], user=desk.people[agent], is_lead=is_lead
        )
    plans = {
        "basic": accounts.support_plan_create(
            actor=admin, code="basic", name="Basic", priority_weight=1
        ),
        "premium": accounts.support_plan_create(
            actor=admin, code="premium", name="Premium", priority_weight=3
        ),
    }
    for key, name, domain, plan, manager in ORGANIZATIONS:
        desk.organizations[key] = accounts.organization_create(
            actor=admin,
            name=name,
            domains=[domain],
            match_by_domain=True,
            plan=plans[plan],
            service_manager=desk.people[manager] if manager else None,
        )
    for person in CUSTOMERS:
        organization = desk.organizations.get(person.organization)
        desk.people[person.key] = _user(person, admin, organization)


def _categories(desk: DemoDesk) -> None:
    admin = desk.people["admin"]
    for parent_name, children in CATEGORIES.items():
        parent = catalog.category_create(actor=admin, name=parent_name)
        desk.categories[parent_name] = parent
        for child in children:
            desk.categories[f"{parent_name}/{child}"] = catalog.category_create(
                actor=admin, name=child, parent=parent
            )


def _routing(desk: DemoDesk) -> None:
    """L1 hands out work by skills (Russian to Olga, Chinese to Wei), L2 by least load; a
    rule sends billing questions to Finance, another raises outages to high priority."""
    admin = desk.people["admin"]
    routing.team_routing_set(actor=admin, team=desk.teams["l1"], strategy="skills")
    routing.team_routing_set(actor=admin, team=desk.teams["l2"], strategy="least_loaded")
    russian = routing_config.skill_create(actor=admin, name="Russian", kind="language", value="ru")
    chinese = routing_config.skill_create(actor=admin, name="Chinese", kind="language", value="zh")
    vpn = routing_config.skill_create(
        actor=admin, name="VPN", kind="category", category=desk.categories["Software/VPN"]
    )
    routing_config.agent_set_skills(actor=admin, user=desk.people["olga"], skills=[russian])
    routing_config.agent_set_skills(actor=admin, user=desk.people["wei"], skills=[chinese, vpn])
    routing_config.agent_set_skills(actor=admin, user=desk.people["liam"], skills=[vpn])
    routing_config.rule_create(
        actor=admin,
        name="Billing category",
        category_ids=[desk.categories["Billing"].pk],
        team=desk.teams["finance"],
    )
    routing_config.rule_create(
        actor=admin,
        name="Billing words",
        keywords=["invoice", "refund", "счёт", "счет", "возврат", "发票", "退款"],
        team=desk.teams["finance"],
    )
    routing_config.rule_create(
        actor=admin,
        name="Outages",
        keywords=["outage", "down", "не работает", "сбой", "宕机", "故障"],
        set_priority="high",
        add_tags=["outage"],
    )


def _tell(desk: DemoDesk, story: Story) -> None:
    people = desk.people
    requester = people[story.requester]
    actor = people[story.by] if story.by else requester
    staff_fields: dict[str, Any] = {}
    if actor.is_staff_member:
        staff_fields = {
            "priority": story.priority,
            "tags": story.tags,
            "team": desk.teams[story.team] if story.team else None,
        }
    ticket = tickets.ticket_create(
        actor=actor,
        subject=story.subject,
        body=story.body,
        requester=requester,
        channel=story.channel,
        category=desk.categories[story.category] if story.category else None,
        **staff_fields,
    )
    if not actor.is_staff_member and (story.priority != "normal" or story.team or story.tags):
        # The customer cannot set these; the first agent who sees the ticket does.
        triager = people["liam"]
        ticket = tickets.ticket_update(
            actor=triager, ticket=ticket, priority=story.priority, tags=story.tags
        )
        if story.team:
            ticket = tickets.ticket_transfer(
                actor=triager, ticket=ticket, team=desk.teams[story.team]
            )
    for step in story.steps:
        verb, who, *rest = step
        person = people[who]
        if verb == "assign":
            ticket = tickets.ticket_assign(actor=person, ticket=ticket, assignee=person)
        elif verb == "reply":
            tickets.ticket_reply(actor=person, ticket=ticket, body=rest[0])
        elif verb == "note":
            tickets.ticket_add_note(actor=person, ticket=ticket, body=rest[0])
        elif verb == "status":
            ticket = tickets.ticket_change_status(actor=person, ticket=ticket, status=rest[0])
        elif verb == "escalate":
            ticket = tickets.ticket_escalate(actor=person, ticket=ticket, note=rest[0])
        else:
            raise ValueError(f"unknown demo step {verb!r}")
