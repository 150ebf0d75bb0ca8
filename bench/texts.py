"""Realistic support-ticket text in English, Russian and Chinese, built from word lists.

Sentences are made from templates with slots; Russian nouns carry their case forms so the
index sees several word forms of one lemma ("принтер", "принтера", "принтером"), and Chinese
sentences have no spaces, so search must find substrings. A pool of sentences per language is
built once; messages and subjects are drawn from it, which keeps generation cheap at 1M tickets.
"""

from __future__ import annotations

import random

EN_NOUNS = [
    "printer",
    "invoice",
    "password",
    "account",
    "laptop",
    "router",
    "refund",
    "subscription",
    "order",
    "delivery",
    "license",
    "server",
    "mailbox",
    "report",
    "dashboard",
    "payment",
    "contract",
    "VPN connection",
    "calendar",
    "backup",
    "monitor",
    "keyboard",
    "phone line",
    "shipment",
    "warranty",
    "discount code",
    "mobile app",
    "database",
    "firewall",
    "badge",
    "credit note",
    "price list",
    "user profile",
    "two-factor code",
    "export file",
    "API key",
]
EN_VERBS = [
    "open",
    "reset",
    "download",
    "print",
    "sync",
    "cancel",
    "update",
    "configure",
    "install",
    "access",
    "renew",
    "activate",
    "export",
    "import",
    "restore",
    "pay",
    "track",
    "change",
]
EN_ADJ = [
    "new",
    "old",
    "broken",
    "slow",
    "missing",
    "duplicate",
    "wrong",
    "expired",
    "locked",
    "corporate",
    "shared",
    "personal",
    "monthly",
    "annual",
    "urgent",
]
EN_TIME = [
    "since yesterday",
    "after the last update",
    "this morning",
    "for two days",
    "since Monday",
    "after the migration",
    "every few hours",
    "since we moved office",
]
EN_TEMPLATES = [
    "I cannot {v} my {n} {t}.",
    "The {a} {n} does not work {t}.",
    "We received a {a} {n} and need help to {v} it.",
    "Please {v} the {n} for our team as soon as possible.",
    "Our {n} shows error {code} when we try to {v} it.",
    "Could you check the status of order {order}?",
    "The {n} was charged twice, please issue a refund.",
    "Nobody in the office can {v} the {n} {t}.",
    "Is it possible to {v} the {a} {n} without losing data?",
    "I followed the guide but the {n} is still {a}.",
    "After I tried to {v} the {n}, the {a} {n2} stopped working.",
    "Thank you for the quick answer, the {n} works again.",
    "We have checked the {n} on our side and it looks {a}.",
    "Please restart the {n} and try to {v} it again.",
    "I have attached a screenshot of the {n} with error {code}.",
]
EN_SUBJECTS = [
    "Cannot {v} {n}",
    "{A} {n} {t}",
    "Error {code} on {n}",
    "Question about {n}",
    "Order {order}: {n} problem",
    "Need help with {n}",
    "{N} is {a}",
    "Request to {v} {n}",
]
EN_GREETINGS = ["Hello,", "Hi team,", "Good morning,", "Dear support,", "Hi,"]
EN_CLOSINGS = ["Thanks.", "Best regards.", "Thank you!", "Kind regards.", "Cheers."]

# lemma: (nominative, genitive, dative, accusative, instrumental, prepositional)
RU_NOUNS = [
    ("принтер", "принтера", "принтеру", "принтер", "принтером", "принтере"),
    ("счёт", "счёта", "счёту", "счёт", "счётом", "счёте"),
    ("пароль", "пароля", "паролю", "пароль", "паролем", "пароле"),
    ("заказ", "заказа", "заказу", "заказ", "заказом", "заказе"),
    ("доставка", "доставки", "доставке", "доставку", "доставкой", "доставке"),
    ("подписка", "подписки", "подписке", "подписку", "подпиской", "подписке"),
    ("ноутбук", "ноутбука", "ноутбуку", "ноутбук", "ноутбуком", "ноутбуке"),
    ("сервер", "сервера", "серверу", "сервер", "сервером", "сервере"),
    ("почта", "почты", "почте", "почту", "почтой", "почте"),
    ("оплата", "оплаты", "оплате", "оплату", "оплатой", "оплате"),
    ("договор", "договора", "договору", "договор", "договором", "договоре"),
    ("лицензия", "лицензии", "лицензии", "лицензию", "лицензией", "лицензии"),
    ("приложение", "приложения", "приложению", "приложение", "приложением", "приложении"),
    ("отчёт", "отчёта", "отчёту", "отчёт", "отчётом", "отчёте"),
    ("возврат", "возврата", "возврату", "возврат", "возвратом", "возврате"),
    (
        "маршрутизатор",
        "маршрутизатора",
        "маршрутизатору",
        "маршрутизатор",
        "маршрутизатором",
        "маршрутизаторе",
    ),
    (
        "учётная запись",
        "учётной записи",
        "учётной записи",
        "учётную запись",
        "учётной записью",
        "учётной записи",
    ),
    ("накладная", "накладной", "накладной", "накладную", "накладной", "накладной"),
]
RU_VERBS = [
    "открыть",
    "сбросить",
    "скачать",
    "распечатать",
    "обновить",
    "отменить",
    "настроить",
    "установить",
    "продлить",
    "активировать",
    "восстановить",
    "оплатить",
    "отследить",
]
RU_TIME = [
    "со вчерашнего дня",
    "после последнего обновления",
    "с утра",
    "уже два дня",
    "с понедельника",
    "после переезда",
    "каждые несколько часов",
]
RU_TEMPLATES = [
    "Не могу {v} {acc} {t}.",
    "Проблема с {ins} {t}.",
    "Прошу проверить статус {gen} {order}.",
    "Вопрос по {dat}: почему пришла ошибка {code}?",
    "В {prep} снова ошибка {code}.",
    "{Nom} не работает {t}, помогите, пожалуйста.",
    "Мы не можем {v} {acc}, хотя всё делали по инструкции.",
    "Спасибо, {nom} снова работает.",
    "Пожалуйста, перезапустите {acc} и попробуйте ещё раз.",
    "Со стороны {gen} всё выглядит нормально, проверьте ещё раз.",
    "Прикладываю снимок экрана с ошибкой {code} в {prep}.",
    "Нам дважды списали деньги за {acc}, верните, пожалуйста, оплату.",
]
RU_SUBJECTS = [
    "Не могу {v} {acc}",
    "Ошибка {code}: {nom}",
    "Вопрос по {dat}",
    "Проблема с {ins}",
    "Заказ {order}: {nom}",
    "Срочно: {nom} {t}",
]
RU_GREETINGS = ["Здравствуйте!", "Добрый день!", "Привет!", "Доброе утро!"]
RU_CLOSINGS = ["Спасибо.", "С уважением.", "Заранее спасибо!", "Жду ответа."]

ZH_NOUNS = [
    "打印机",
    "发票",
    "密码",
    "账户",
    "退款",
    "订单",
    "物流",
    "服务器",
    "邮箱",
    "合同",
    "许可证",
    "付款",
    "笔记本电脑",
    "路由器",
    "会员订阅",
    "报表",
    "手机应用",
    "数据库",
    "电子发票",
    "快递单号",
    "保修",
    "优惠码",
    "防火墙",
    "备份",
]
ZH_VERBS = [
    "打开",
    "重置",
    "下载",
    "打印",
    "同步",
    "取消",
    "更新",
    "配置",
    "安装",
    "登录",
    "续费",
    "激活",
    "导出",
    "恢复",
    "支付",
    "查询",
]
ZH_TIME = ["从昨天开始", "更新以后", "今天早上", "已经两天了", "从周一开始", "搬办公室以后"]
ZH_TEMPLATES = [
    "我的{n}{t}无法使用了。",
    "请帮我查一下订单{order}的{n}状态。",
    "{n}出现错误，提示{code}。",
    "我们公司的{n}{t}一直有问题。",
    "我无法{v}{n}，请尽快处理。",
    "按照说明操作以后{n}还是不能{v}。",
    "{n}被重复扣款了，请帮忙退款。",
    "谢谢你们的回复，{n}已经恢复正常。",
    "请重新启动{n}，然后再试一次。",
    "附件是{n}报错{code}的截图。",
]
ZH_SUBJECTS = ["无法{v}{n}", "{n}报错{code}", "关于{n}的问题", "订单{order}的{n}", "{n}{t}异常"]
ZH_GREETINGS = ["您好，", "你好，", "客服您好，"]
ZH_CLOSINGS = ["谢谢！", "麻烦了。", "请尽快回复。"]

LANGUAGES = ("en", "ru", "zh")
LANGUAGE_WEIGHTS = (60, 25, 15)
POOL_SIZE = 4000


def _code(rng: random.Random) -> str:
    return f"E{rng.randint(1000, 9999)}"


def _order(rng: random.Random) -> str:
    return f"HL-{rng.randint(100000, 999999)}"


def _en(rng: random.Random, template: str) -> str:
    noun = rng.choice(EN_NOUNS)
    adjective = rng.choice(EN_ADJ)
    return template.format(
        n=noun,
        N=noun.capitalize(),
        n2=rng.choice(EN_NOUNS),
        v=rng.choice(EN_VERBS),
        a=adjective,
        A=adjective.capitalize(),
        t=rng.choice(EN_TIME),
        code=_code(rng),
        order=_order(rng),
    )


def _ru(rng: random.Random, template: str) -> str:
    nom, gen, dat, acc, ins, prep = rng.choice(RU_NOUNS)
    return template.format(
        nom=nom,
        Nom=nom.capitalize(),
        gen=gen,
        dat=dat,
        acc=acc,
        ins=ins,
        prep=prep,
        v=rng.choice(RU_VERBS),
        t=rng.choice(RU_TIME),
        code=_code(rng),
        order=_order(rng),
    )


def _zh(rng: random.Random, template: str) -> str:
    return template.format(
        n=rng.choice(ZH_NOUNS),
        v=rng.choice(ZH_VERBS),
        t=rng.choice(ZH_TIME),
        code=_code(rng),
        order=_order(rng),
    )


_BUILDERS = {
    "en": (_en, EN_TEMPLATES, EN_SUBJECTS, EN_GREETINGS, EN_CLOSINGS, " "),
    "ru": (_ru, RU_TEMPLATES, RU_SUBJECTS, RU_GREETINGS, RU_CLOSINGS, " "),
    "zh": (_zh, ZH_TEMPLATES, ZH_SUBJECTS, ZH_GREETINGS, ZH_CLOSINGS, ""),
}


class TextPool:
    """Pre-built sentences and subjects per language; cheap random messages from them."""

    def __init__(self, rng: random.Random, size: int = POOL_SIZE) -> None:
        self.rng = rng
        self.sentences: dict[str, list[str]] = {}
        self.subjects: dict[str, list[str]] = {}
        for language, (build, templates, subjects, _g, _c, _s) in _BUILDERS.items():
            self.sentences[language] = [build(rng, rng.choice(templates)) for _ in range(size)]
            self.subjects[language] = [build(rng, rng.choice(subjects)) for _ in range(size // 4)]

    def language(self) -> str:
        return self.rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]

    def subject(self, language: str) -> str:
        return self.rng.choice(self.subjects[language])

    def message(self, language: str) -> str:
        _build, _t, _s, greetings, closings, space = _BUILDERS[language]
        rng = self.rng
        body = space.join(rng.choices(self.sentences[language], k=rng.randint(1, 5)))
        return f"{rng.choice(greetings)}\n\n{body}\n\n{rng.choice(closings)}"
