"""The Chinese catalogue covers every message the console shows, and the committed console.mo
is console.po compiled (so nobody ships a stale translation)."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from services.api.console import i18n, views

PO = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "console.po"
MO = PO.with_suffix(".mo")
VOCABULARY = Path(i18n.__file__).with_name("vocabulary.py")


def _template_messages() -> set[str]:
    env = views.environment("en")
    found = set()
    for path in sorted(views.TEMPLATES.glob("*.html")):
        for _line, _func, message in env.extract_translations(path.read_text("utf-8")):  # type: ignore[attr-defined]
            if isinstance(message, str):  # None: a word from data, _(state), see vocabulary.py
                found.add(message)
    return found


def _python_messages() -> set[str]:
    """The words of vocabulary.py and wording.py (``N_``) and those the pages put into charts and
    tables (``_``)."""
    found = set()
    console = VOCABULARY.parent
    modules = [console / "wording.py", console / "tables.py", console / "energy_tables.py"]
    for path in [VOCABULARY, *modules, *sorted(console.glob("pages/*.py"))]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") in ("N_", "_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def test_every_message_of_the_templates_and_vocabulary_has_a_chinese_translation() -> None:
    with PO.open("rb") as f:
        catalogue = read_po(f)
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    wanted = _template_messages() | _python_messages()
    assert len(wanted) > 100
    assert wanted - translated == set()


def test_the_committed_mo_is_the_po_compiled() -> None:
    with PO.open("rb") as f:
        catalogue = read_po(f)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    assert MO.read_bytes() == compiled.getvalue(), "run scripts/console-messages compile"


def test_chinese_is_the_default_and_an_unknown_language_falls_back_to_it() -> None:
    assert i18n.chosen_language(None) == "zh"
    assert i18n.chosen_language("fr") == "zh"
    assert i18n.chosen_language("en") == "en"
    assert i18n.translations("zh").gettext("Alerts") == "告警"
    assert i18n.translations("en").gettext("Alerts") == "Alerts"


def test_every_translation_formats_with_the_placeholders_of_its_message() -> None:
    """Templates format every message (newstyle gettext): a translation with other placeholders
    than its message, or a bare %, would fail the page."""
    with PO.open("rb") as f:
        catalogue = read_po(f)
    for m in catalogue:
        if not m.id or not m.string:
            continue
        names = dict.fromkeys(re.findall(r"%\((\w+)\)s", m.id), "x")
        assert names == dict.fromkeys(re.findall(r"%\((\w+)\)s", m.string), "x"), m.id
        assert isinstance(m.id % names, str)  # a bare % raises
        assert isinstance(m.string % names, str)
