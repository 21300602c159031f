"""Languages: Simplified Chinese by default, English on request, kept in a cookie.

Templates are written with English message ids; ``locale/zh_CN/LC_MESSAGES/console.po`` gives
the Chinese, compiled to ``console.mo`` by ``scripts/console-messages`` (both committed, so the
console needs no compiler to run). English shows the ids themselves.
"""

from __future__ import annotations

import gettext
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "energymon_lang"
LANGUAGES = {"zh": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh"


def translations(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation("console", LOCALE_DIR, languages=[LANGUAGES[lang]])


def chosen_language(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE
