"""The pages' language: Chinese unless the reader switched to English, kept in a cookie; both texts of each phrase
stand side by side in the templates, so a page is translated where it is written."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, redirect, request

LANGUAGES = ("zh", "en")
COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600


def current() -> str:
    chosen = request.cookies.get(COOKIE, "zh")
    return chosen if chosen in LANGUAGES else "zh"


def t(zh: str, en: str) -> str:
    """The phrase in the reader's language."""
    return en if current() == "en" else zh


def label(names: Any) -> str:
    """A bilingual name ({"zh", "en"}) in the reader's language, falling back to the other one."""
    if not isinstance(names, dict):
        return "" if names is None else str(names)
    first, second = ("en", "zh") if current() == "en" else ("zh", "en")
    return names.get(first) or names.get(second) or ""


def local_path(target: str | None) -> str:
    """A path of this site to go back to, or "/": an address elsewhere would make a redirect an open one."""
    target = target or "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def switch(language: str, back_to: str | None) -> Response:
    """Back to the page the reader was on, now in `language`."""
    response = redirect(local_path(back_to))
    if language in LANGUAGES:
        response.set_cookie(COOKIE, language, max_age=ONE_YEAR, secure=current_app.config["SESSION_COOKIE_SECURE"],
                            httponly=True, samesite="Lax")
    return response


# Names of the states and steps people read on the pages (codes stay in the API and the database).
NAMES = {
    "pending": ("待审核", "pending"), "approved": ("已通过", "approved"), "rejected": ("已退回", "rejected"),
    "has_issues": ("已标记问题", "with issues"), "accepted": ("已接收", "accepted"), "quarantined": ("已隔离", "quarantined"),
    "candidate": ("待核实", "candidate"), "village_reviewed": ("村级已评议", "village reviewed"),
    "township_checked": ("乡镇已审核", "township checked"), "identified": ("已识别", "identified"),
    "assisted": ("帮扶中", "assisted"), "elimination_noticed": ("风险消除公示中", "elimination noticed"),
    "long_term_follow_up": ("长期跟踪", "long-term follow-up"), "risk_eliminated": ("风险已消除", "risk eliminated"),
    "dismissed": ("不纳入", "dismissed"), "opened": ("系统提出", "opened"), "village_review": ("村级评议", "village review"),
    "township_check": ("乡镇审核", "township check"), "identify": ("县级识别", "identify"), "dismiss": ("不予纳入", "dismiss"),
    "assist": ("落实帮扶", "assist"), "review_elimination": ("风险消除评议", "review elimination"),
    "withdraw_elimination": ("撤回风险消除", "withdraw elimination"), "eliminate": ("标注风险消除", "eliminate"),
    "follow_up_long_term": ("转长期跟踪", "follow up long-term"),
    "unstable_tuopin": ("脱贫不稳定户", "unstable tuopin"), "marginal": ("边缘易致贫户", "marginal"),
    "sudden_hardship": ("突发严重困难户", "sudden hardship"),
    "self_declared": ("农户自主申报", "self-declared"), "cadre_screening": ("干部排查", "cadre screening"),
    "department_alert": ("部门筛查预警", "department alert"),
}


def name(code: str | None) -> str:
    if code is None:
        return ""
    zh, en = NAMES.get(code, (code, code))
    return t(zh, en)
