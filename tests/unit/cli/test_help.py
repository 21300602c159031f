"""`energymon --help` explains itself: every option and argument says what it is for, metavars read
as words, and each service command lists the ENERGYMON_* settings it reads."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest
from pydantic_settings import BaseSettings

from services.cli import build_parser
from services.core.config_doc import rows
from services.core.settings import (
    AccountingSettings,
    AlertsSettings,
    ApiSettings,
    CommonSettings,
    DatabaseSettings,
    IngestSettings,
    ModbusSettings,
    MqttSettings,
)

# A metavar is a word or two in capitals (FILE, SECONDS, OLD_VALUE) or a choice list
READABLE = re.compile(r"^([A-Z][A-Z0-9]*([_-][A-Z0-9]+)*|\{.*\})$")


def _commands(
    parser: argparse.ArgumentParser, path: str = "energymon"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, f"{path} {name}")


def _arguments() -> Iterator[tuple[str, argparse.Action]]:
    for path, parser in _commands(build_parser()):
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                yield path, action


def _shown_metavar(action: argparse.Action) -> str:
    if action.metavar is not None:
        return str(action.metavar)
    if action.choices is not None:
        return "{" + ",".join(map(str, action.choices)) + "}"
    return action.dest.upper() if action.option_strings else action.dest


def test_every_option_and_argument_has_help_text() -> None:
    empty = [f"{path} {a.option_strings or a.dest}" for path, a in _arguments() if not a.help]
    assert empty == []


def test_every_metavar_is_a_readable_word() -> None:
    unreadable = [
        f"{path} {a.option_strings or a.dest}: {_shown_metavar(a)}"
        for path, a in _arguments()
        if a.nargs != 0 and not READABLE.match(_shown_metavar(a))
    ]
    assert unreadable == []


def test_every_command_group_names_its_subcommand_in_words() -> None:
    for path, parser in _commands(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert action.metavar in {"COMMAND", "SUBCOMMAND"}, path
                helps = {a.dest: a.help for a in action._choices_actions}
                assert all(helps.get(name) for name in action.choices), path


def test_a_missing_subcommand_is_named_as_a_word_not_an_internal_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["registry"])
    err = capsys.readouterr().err
    assert "required: SUBCOMMAND" in err
    assert "registry_cmd" not in err


def test_help_is_plain_text_and_mentions_no_missing_mode() -> None:
    texts = {path: parser.format_help() for path, parser in _commands(build_parser())}
    assert [path for path, text in texts.items() if "`" in text] == []
    assert [path for path, text in texts.items() if "--fast" in text] == []


@pytest.mark.parametrize(
    ("command", "settings"),
    [
        ("ingest mqtt", (CommonSettings, DatabaseSettings, MqttSettings, IngestSettings)),
        ("ingest modbus", (CommonSettings, DatabaseSettings, IngestSettings, ModbusSettings)),
        ("alerts run", (CommonSettings, DatabaseSettings, AlertsSettings)),
        ("accounting run", (CommonSettings, DatabaseSettings, AccountingSettings)),
        ("api", (CommonSettings, DatabaseSettings, ApiSettings, IngestSettings)),
        ("db upgrade", (CommonSettings, DatabaseSettings)),
        ("simulate gateways", (MqttSettings,)),
    ],
)
def test_a_service_command_help_lists_every_setting_it_reads(
    command: str, settings: tuple[type[BaseSettings], ...]
) -> None:
    parser = dict(_commands(build_parser()))[f"energymon {command}"]
    text = parser.format_help()
    missing = [r.variable for cls in settings for r in rows(cls) if f"  {r.variable} " not in text]
    assert missing == []
