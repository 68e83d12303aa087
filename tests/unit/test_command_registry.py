"""The one command registry (``bot.core.commands``) against every front (issue 10, item 3).

A registry command with no route in a front, or a front offering or documenting a command the
registry lacks, fails here: handlers are real methods of the assembled core that take the options
the registry binds; Discord's slash-command tree, Telegram's command menu and the console route
exactly the commands the registry says each offers, to the handler it names; each front's help
lists exactly what it offers; typed text and Discord's typed options bind and check alike.
"""

from __future__ import annotations

import inspect
import io
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from unittest import mock

import discord
import pytest
from discord import app_commands

from bot.app import Beatmatch
from bot.chat.console import ConsoleChat
from bot.chat.discord import BeatmatchBot
from bot.chat.discord.account import AccountCog
from bot.chat.push import PushRouter
from bot.chat.render import shorten
from bot.core.commands import (
    CHATS,
    COMMAND_NAMES,
    COMMANDS,
    DEFAULT_LIMITS,
    FRONTS,
    HELP_NOTES,
    CommandSpec,
    Option,
    bind,
    check_args,
    help_text,
    offered,
    parse_command,
)
from bot.core.dispatch import handle_text, handler
from bot.core.errors import BadInput
from bot.core.replies import ChatUser, Reply
from tests.fakes.fake_telegram import document, message
from tests.integration.telegram_rig import make_core, start_front
from tests.rig import settle

#: Registry options a Discord slash command deliberately lacks, and why.
NOT_ON_DISCORD = {
    ("import", "path"): "a path names a file on the bot's machine: Discord attaches the file",
    ("workout", "action"): "start, stop and status are /workout's subcommands",
}
#: How Discord types each kind of registry option.
DISCORD_TYPES = {
    "int": discord.AppCommandOptionType.integer,
    "zone": discord.AppCommandOptionType.integer,
    "text": discord.AppCommandOptionType.string,
    "file": discord.AppCommandOptionType.attachment,
    "user": discord.AppCommandOptionType.user,
}
#: A command mentioned in a help text (not a path like pulsoid.net/ui/keys).
MENTION = re.compile(r"(?<![\w./])/([a-z_]+)")
#: Answers that mean a typed command did not reach a handler.
UNROUTED = ("I don't know /", "works only in the", "Sorry — something went wrong")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Beatmatch]:
    core = make_core(tmp_path, tmp_path / "genre")
    yield core
    await settle(core)
    await core.shutdown()


def handled(front: str) -> list[CommandSpec]:
    """The commands ``front`` offers that the core answers."""
    return [s for s in offered(front) if s.handler]


def bindable(spec: CommandSpec) -> list[Option]:
    """The options a typed command can bind (a file is only ever attached)."""
    return [o for o in spec.options if o.kind != "file"]


Calls = list[tuple[str, dict[str, Any]]]


def record_handlers(app: Beatmatch, monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Replace every registry handler of ``app``'s core with a recorder answering "routed NAME";
    the list of (command, keyword arguments) they were called with."""
    calls: Calls = []
    for spec in COMMANDS:
        if not spec.handler:
            continue
        *path, method = spec.handler.split(".")
        owner: Any = app.service
        for part in path:
            owner = getattr(owner, part)

        def recorder(name: str) -> Callable[..., Any]:
            async def answer(user: ChatUser, *args: Any, **kwargs: Any) -> Reply:
                kwargs.pop("notify", None)
                calls.append((name, {**dict(enumerate(args)), **kwargs}))
                return Reply(text=f"routed {name}")

            return answer

        monkeypatch.setattr(owner, method, recorder(spec.name))
    return calls


# -- (a) every handler is a real method of the assembled core ---------------------------------------
@pytest.mark.parametrize("spec", [s for s in COMMANDS if s.handler], ids=lambda s: s.name)
async def test_each_handler_is_a_method_taking_the_options_the_registry_binds(
    app: Beatmatch, spec: CommandSpec
) -> None:
    method = handler(app.service, spec)
    assert inspect.iscoroutinefunction(method), spec.handler
    parameters = inspect.signature(method).parameters
    first, *rest = parameters.values()
    assert first.name == "user", spec.handler
    names = [o.name for o in bindable(spec)]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in rest):
        # /profile takes its fields as keywords: each registry option is one it knows.
        reply = await method(ChatUser("console", "registry"), **dict.fromkeys(names))
        assert not reply.error
    else:
        for name in names:
            assert name in parameters, f"{spec.handler} has no parameter {name!r}"
            assert parameters[name].kind is not inspect.Parameter.POSITIONAL_ONLY
    for parameter in rest:  # nothing the registry can't give is required
        if parameter.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
            continue
        assert parameter.default is not inspect.Parameter.empty or parameter.name in names, (
            f"{spec.handler} requires {parameter.name!r}, which /{spec.name} never binds"
        )
    if any(o.kind == "file" for o in spec.options):  # uploads arrive as bytes with a name
        assert {"data", "filename"} <= set(parameters), spec.handler


def test_commands_without_a_handler_are_the_consoles_alone() -> None:
    for spec in COMMANDS:
        assert spec.handler or spec.console_only, spec.name
        assert set(spec.fronts) <= set(FRONTS) and spec.fronts, spec.name
        assert set(spec.usage_on) <= set(spec.fronts), spec.name
        for name in spec.words:
            spec.option(name.removesuffix("..."))  # every word names an option
        if spec.trailing:
            assert spec.option(spec.trailing).kind == "int"


# -- (b) Discord: the slash-command tree is the registry's ---------------------------------------
async def _tree() -> BeatmatchBot:
    bot = BeatmatchBot()
    await bot.load_features()
    return bot


def _payloads(bot: BeatmatchBot) -> dict[str, dict[str, Any]]:
    return {c.name: c.to_dict(bot.tree) for c in bot.tree.get_commands()}


def _check_discord_option(spec: CommandSpec, payload: dict[str, Any]) -> None:
    option = spec.option(payload["name"])  # KeyError: Discord offers an option the registry lacks
    assert payload["type"] == DISCORD_TYPES[option.kind].value, (spec.name, option.name)
    if option.kind in ("int", "zone"):
        assert (payload["min_value"], payload["max_value"]) == option.limits(), (
            spec.name,
            option.name,
        )
    if option.choices:
        assert [c["value"] for c in payload["choices"]] == list(option.choices)


async def test_discord_offers_exactly_the_registrys_discord_commands() -> None:
    names = {c.name for c in (await _tree()).tree.get_commands()}
    assert names == {s.name for s in offered("discord")}
    assert not names & {"like", "dislike"}  # buttons under every track instead


async def test_each_slash_commands_options_are_its_registry_options() -> None:
    for command, option in NOT_ON_DISCORD:  # no stale exemption
        COMMAND_NAMES[command].option(option)
    for name, payload in _payloads(await _tree()).items():
        spec = COMMAND_NAMES[name]
        if name == "workout":
            continue  # subcommands: the next test
        wanted = {o.name for o in spec.options_on("discord")} - {
            o for c, o in NOT_ON_DISCORD if c == name
        }
        assert {o["name"] for o in payload.get("options", [])} == wanted, name
        for option in payload.get("options", []):
            _check_discord_option(spec, option)


async def test_workouts_subcommands_are_the_action_choices_with_the_registrys_options() -> None:
    spec = COMMAND_NAMES["workout"]
    payload = _payloads(await _tree())["workout"]
    subcommands = {o["name"]: o for o in payload["options"]}
    assert all(
        o["type"] == discord.AppCommandOptionType.subcommand.value for o in subcommands.values()
    )
    assert set(subcommands) == set(spec.option("action").choices)
    start = {o["name"] for o in subcommands["start"].get("options", [])}
    assert start == {o.name for o in spec.options} - {"action"}
    for sub in subcommands.values():
        for option in sub.get("options", []):
            _check_discord_option(spec, option)


async def test_discords_help_topics_are_the_commands_discord_offers() -> None:
    topic = next(o for o in _payloads(await _tree())["help"]["options"] if o["name"] == "topic")
    assert [c["value"] for c in topic["choices"]] == [s.name for s in offered("discord")]


def _interaction(bot: BeatmatchBot) -> Any:
    fake = mock.create_autospec(discord.Interaction, instance=True)
    fake.client = bot
    fake.user = mock.create_autospec(discord.Member, instance=True)
    fake.user.id, fake.user.display_name = 4242, "Ann"
    fake.response = mock.create_autospec(discord.InteractionResponse, instance=True)
    fake.response.is_done.return_value = False
    fake.followup = mock.create_autospec(discord.Webhook, instance=True)
    fake.guild = None
    return fake


def _sample(parameter: app_commands.Parameter) -> Any:
    """A value Discord could send for ``parameter``."""
    if parameter.choices:
        return parameter.choices[0].value
    if parameter.type is discord.AppCommandOptionType.integer:
        return parameter.min_value
    if parameter.type is discord.AppCommandOptionType.attachment:
        attachment = mock.create_autospec(discord.Attachment, instance=True)
        attachment.filename, attachment.size = "liked.csv", 3
        attachment.read.return_value = b"csv"
        return attachment
    if parameter.type is discord.AppCommandOptionType.user:
        member = mock.create_autospec(discord.Member, instance=True)
        member.id, member.bot, member.display_name = 7007, False, "Bea"
        return member
    return "Halo"


async def test_every_slash_command_reaches_the_handler_the_registry_names(
    app: Beatmatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_handlers(app, monkeypatch)
    bot = BeatmatchBot(app.service, PushRouter(app.service.users))
    await bot.load_features()
    reached: set[str] = set()
    for command in bot.tree.get_commands():
        leaves = command.commands if isinstance(command, app_commands.Group) else [command]
        for leaf in leaves:
            assert isinstance(leaf, app_commands.Command)
            args = {p.name: _sample(p) for p in leaf.parameters}
            if leaf.name == "blend":
                args["here"] = "no"  # "yes" needs a voice channel (tests/integration)
            fake = _interaction(bot)
            fake.guild_id = None
            before = len(calls)
            await leaf.callback(leaf.binding, fake, **args)
            assert len(calls) == before + 1, leaf.qualified_name  # one handler, called once
            name, got = calls[-1]
            assert name == command.name, leaf.qualified_name
            assert "routed" in fake.edit_original_response.await_args.kwargs["embed"].description
            if command.name == "import":
                assert got["data"] == b"csv" and got["filename"] == "liked.csv"
            elif isinstance(command, app_commands.Group):
                assert got == {"action": leaf.name, **args}
            elif command.name == "start":  # five seed pickers, one comma-separated "seeds"
                assert got == {"seeds": ", ".join(["Halo"] * 5)}
            elif command.name == "blend":  # the members picked, as chat users
                assert [u.user_id for u in got.pop("named")] == ["7007"]
                keys = ("count", "mood", "bpm", "playlist")
                assert got == {k: args[k] for k in keys} | {"place": ""}
            elif command.name == "privacy":
                assert got == {**args, "place": ""}
            else:
                assert got == args, name
            reached.add(name)
    assert len(calls) == sum(
        len(c.commands) if isinstance(c, app_commands.Group) else 1 for c in bot.tree.get_commands()
    )
    assert reached == {s.name for s in handled("discord")}


# -- (c) Telegram: the command menu and the typed commands are the registry's ----------------------
async def test_telegrams_menu_is_what_it_offers_and_each_command_is_routed(
    app: Beatmatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_handlers(app, monkeypatch)
    fake, front, _ = await start_front(app)
    try:
        [published] = fake.sent("setMyCommands")
        menu = [(c["command"], c["description"]) for c in published.params["commands"]]
        assert menu == [(s.name, shorten(s.summary, 256)) for s in offered("telegram")]

        for spec in offered("telegram"):
            mark = len(fake.calls)
            await fake.send_update(message(f"/{spec.name}"))
            reply = await fake.wait_for("sendMessage", after=mark)
            assert reply.text == f"routed {spec.name}", reply.text
        assert [name for name, _ in calls] == [s.name for s in handled("telegram")]

        # /import on Telegram is a file sent to the bot: it reaches the same handler.
        file_id = fake.add_file(b"csv", "documents/liked.csv")
        mark = len(fake.calls)
        await fake.send_update(document(file_id, "liked.csv", 3))
        reply = await fake.wait_for("sendMessage", after=mark)
        assert reply.text == "routed import"
        assert calls[-1] == ("import", {"data": b"csv", "filename": "liked.csv"})
    finally:
        await front.stop()
        await fake.stop()


async def test_console_routes_every_command_it_offers(
    app: Beatmatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_handlers(app, monkeypatch)
    script = "".join(f"/{s.name}\n" for s in handled("console")) + "/wait 0\n/quit\n/help\n"
    out = io.StringIO()
    await ConsoleChat(app.service, ChatUser("console", "me"), io.StringIO(script), out).run()
    text = out.getvalue()
    assert [name for name, _ in calls] == [s.name for s in handled("console")]
    assert "! Seconds to wait must be from 1 to 120; you gave 0." in text  # the console's /wait
    assert text.rstrip().endswith("bye.")  # /quit ends it: the /help after it is never run
    assert not any(word in text for word in UNROUTED)


@pytest.mark.parametrize("front", ["console", "telegram"])
async def test_typed_commands_reach_the_core_or_are_refused_by_name(
    app: Beatmatch, front: str
) -> None:
    user = ChatUser(front, "7")
    for spec in COMMANDS:
        reply = await handle_text(app.service, user, f"/{spec.name}")
        if front in spec.fronts and spec.handler:
            assert not any(word in reply.text for word in UNROUTED), (spec.name, reply.text)
        else:  # /wait and /quit: the console answers them itself, before the core
            assert reply.error and f"/{spec.name} works only in the" in reply.text


# -- (d) each front's help lists exactly what it offers ---------------------------------------------
def _listed(text: str) -> list[str]:
    """The commands a help text lists, in order (one indented usage line each)."""
    return [line.split()[0][1:] for line in text.splitlines() if line.startswith("  /")]


@pytest.mark.parametrize("front", FRONTS)
def test_help_lists_exactly_what_the_front_offers(front: str) -> None:
    text = help_text(front=front)
    assert _listed(text) == [s.name for s in offered(front)]
    for spec in offered(front):
        assert f"  {spec.usage_for(front)}\n      {spec.summary}" in text
    assert set(MENTION.findall(text)) <= {s.name for s in offered(front)}
    assert text.endswith(HELP_NOTES[front])


@pytest.mark.parametrize("front", FRONTS)
async def test_the_help_each_front_serves_is_its_own(app: Beatmatch, front: str) -> None:
    reply = await app.service.help(ChatUser(front, "7"))
    assert _listed(reply.text) == [s.name for s in offered(front)]
    assert set(MENTION.findall(reply.text)) <= {s.name for s in offered(front)}
    assert help_text(front=front) in reply.text


def test_console_help_shows_wait_and_quit() -> None:
    text = help_text(front="console")
    assert "/wait SECONDS" in text and "  /quit\n" in text
    assert "/import PATH" in text


def test_discord_help_has_buttons_for_feedback_and_an_attachment_for_import() -> None:
    text = help_text(front="discord")
    assert "/like" not in text and "/dislike" not in text
    assert "/import FILE (attach the Exportify CSV)" in text and "/import PATH" not in text
    assert "👍/👎 buttons" in text
    assert "/wait" not in text and "/quit" not in text


def test_telegram_help_says_to_send_the_csv_as_a_file() -> None:
    text = help_text(front="telegram")
    assert "/import (send the Exportify CSV as a file)" in text and "/import PATH" not in text
    assert "sending your Exportify CSV as a file" in text
    assert "/like N|TRACK" in text and "/wait" not in text


@pytest.mark.parametrize("front", CHATS)
@pytest.mark.parametrize("topic", ["wait", "quit"])
def test_help_on_a_console_command_in_a_chat(front: str, topic: str) -> None:
    with pytest.raises(BadInput, match=f"There is no /{topic}"):
        help_text(topic, front=front)


@pytest.mark.parametrize("topic", ["like", "dislike"])
async def test_help_like_on_discord_says_there_is_no_such_command(
    app: Beatmatch, topic: str
) -> None:
    bot = BeatmatchBot(app.service, PushRouter(app.service.users))
    await bot.load_features()
    account = bot.get_cog(AccountCog.__cog_name__)
    assert isinstance(account, AccountCog)
    fake = _interaction(bot)
    await account.help.callback(account, fake, topic=topic)
    content = fake.edit_original_response.await_args.kwargs["content"]
    assert content == f"⚠️ There is no /{topic}. Try /help."
    listing = _interaction(bot)
    await account.help.callback(account, listing, topic=None)
    shown = listing.edit_original_response.await_args.kwargs["embed"].description
    assert "/import FILE" in shown and f"/{topic}" not in shown


# -- (e) typed text binds to the handler's arguments; typed options are checked alike -------------
BINDINGS: list[tuple[str, dict[str, Any]]] = [
    ("/recommend", {}),
    ("/recommend 5 mood:chill", {"count": 5, "mood": "chill"}),
    (
        "/recommend mood:energetic bpm:128 playlist:yes",
        {"mood": "energetic", "bpm": 128, "playlist": "yes"},
    ),
    ("/recommend 7 count:3", {"count": 3}),  # the option wins over the plain word
    ("/rec 4 MOOD:Calm", {"count": 4, "mood": "Calm"}),
    ("/similar As It Was 5", {"track": "As It Was", "count": 5}),
    ("/similar As It Was count:7", {"track": "As It Was", "count": 7}),
    ("/similar 1999", {"track": "1999"}),
    ("/similar Song 2021", {"track": "Song 2021"}),  # four digits: part of the title
    ("/blend 5", {"count": 5}),  # a number alone is the count, not a listener called "5"
    ("/blend 5 alice bob", {"members": "alice bob", "count": 5}),
    ("/blend alice bob 8 mood:chill", {"members": "alice bob", "count": 8, "mood": "chill"}),
    ("/blend @ann count:3", {"members": "@ann", "count": 3}),
    ("/blend alice bob playlist:yes", {"members": "alice bob", "playlist": "yes"}),
    ("/blend 123456789 @ann", {"members": "123456789 @ann"}),  # a platform id is a name
    ("/genre As It Was - Harry Styles", {"track": "As It Was - Harry Styles"}),
    (
        "/genre spotify:track:4LRPiXqCikLlN15c3yImP7",
        {"track": "spotify:track:4LRPiXqCikLlN15c3yImP7"},
    ),
    ("/like 3", {"track": "3"}),
    (
        "/dislike https://open.spotify.com/track/4LRPiXqCikLlN15c3yImP7",
        {"track": "https://open.spotify.com/track/4LRPiXqCikLlN15c3yImP7"},
    ),
    ("/workout", {}),
    # /workout's goal and cadence are parsed by the handler (they apply to "start" only).
    ("/workout start 4 170", {"action": "start", "goal": "4", "cadence": "170"}),
    (
        "/workout start goal:vigorous cadence:165",
        {"action": "start", "goal": "vigorous", "cadence": "165"},
    ),
    ("/workout start near-max", {"action": "start", "goal": "near-max"}),
    ("/workout stop", {"action": "stop"}),
    ("/profile", {}),
    ("/profile age:34 resting_hr:58", {"age": 34, "resting_hr": 58}),
    ("/profile age:clear goal:vigorous", {"age": None, "goal": 4}),
    ("/profile max_hr:none cadence:- goal:3", {"max_hr": None, "cadence": None, "goal": 3}),
    ("/link spotify", {"account": "spotify"}),
    ("/link pulsoid TOKEN", {"account": "pulsoid", "pasted": "TOKEN"}),
    (
        "/link spotify http://127.0.0.1:8888/callback?code=a&state=b",
        {"account": "spotify", "pasted": "http://127.0.0.1:8888/callback?code=a&state=b"},
    ),
    ("/unlink pulsoid", {"account": "pulsoid"}),
    ("/playlist", {}),
    ("/playlist My Running Mix", {"name": "My Running Mix"}),
    ("/digest", {}),
    ("/digest on", {"state": "on"}),
    ("/import /tmp/liked songs.csv", {"path": "/tmp/liked songs.csv"}),
    ("/help", {}),
    ("/help recommend", {"topic": "recommend"}),
    ("/stats", {}),
    ("/forget", {}),
    ("/forget yes", {"confirm": "yes"}),
]


@pytest.mark.parametrize(("text", "expected"), BINDINGS, ids=[t for t, _ in BINDINGS])
async def test_typed_text_binds_to_the_right_arguments(
    app: Beatmatch, text: str, expected: dict[str, Any]
) -> None:
    parsed = parse_command(text)
    spec = COMMAND_NAMES[parsed.name]
    bound = bind(spec, parsed, app.service.limits)
    assert bound == expected
    # ... and those are arguments its handler takes.
    inspect.signature(handler(app.service, spec)).bind(ChatUser("console", "1"), **bound)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "/recommend 2 3",
            "Use /recommend [count] [mood:NAME] [bpm:N], e.g. /recommend 5 mood:energetic.",
        ),
        (
            "/workout start 4 170 2",
            "Use /workout start [goal:ZONE] [cadence:N], /workout stop or /workout status.",
        ),
        ("/profile 34", "Set profile fields as key:value, e.g. /profile age:34 resting_hr:58."),
        ("/recommend 0", "The count must be from 1 to 50; you gave 0."),
        ("/recommend five", "The count must be a whole number from 1 to 50, not “five”."),
        ("/recommend bpm:300", "bpm must be from 40 to 220; you gave 300."),
        ("/similar Halo 0", "The count must be from 1 to 50; you gave 0."),
        ("/profile goal:6", "The goal zone must be from 1 to 5; you gave 6."),
        ("/profile age:abc", "Age must be a whole number from 10 to 100, not “abc”."),
        (
            "/workout start 3 999",
            "Cadence (steps per minute) must be from 60 to 240; you gave 999.",
        ),
    ],
)
async def test_typed_text_that_cannot_bind_is_told_why(
    app: Beatmatch, text: str, message: str
) -> None:
    parsed = parse_command(text)
    spec = COMMAND_NAMES[parsed.name]
    with pytest.raises(BadInput) as error:
        bound = bind(spec, parsed, app.service.limits)
        for name, value in bound.items():  # options the handler parses itself
            if spec.option(name).raw:
                spec.option(name).check(value, app.service.limits)
    assert error.value.message == message
    reply = await handle_text(app.service, ChatUser("telegram", "1"), text)
    assert reply.error and reply.text == message


INT_OPTIONS = [
    (spec, option) for spec in COMMANDS for option in spec.options if option.kind in ("int", "zone")
]
#: Plain words a command needs before its options (``/similar TRACK count:N``).
LEADING = {"similar": "Halo", "workout": "start"}


@pytest.mark.parametrize(
    ("spec", "option"), INT_OPTIONS, ids=[f"{s.name}.{o.name}" for s, o in INT_OPTIONS]
)
@pytest.mark.parametrize("limits", [DEFAULT_LIMITS, {"max_count": 20}], ids=["default", "max20"])
def test_typed_options_and_typed_text_share_the_limits(
    spec: CommandSpec, option: Option, limits: dict[str, int]
) -> None:
    low, high = option.limits(limits)

    def typed(value: int) -> dict[str, Any]:
        lead = LEADING.get(spec.name, "")
        text = f"/{spec.name} {lead} {option.name}:{value}"
        bound = bind(spec, parse_command(text), limits)
        if option.raw:  # the handler parses it, with the same limits
            bound[option.name] = option.check(bound[option.name], limits)
        return bound

    for good in (low, high):
        assert typed(good)[option.name] == good
        assert check_args(spec, {option.name: good}, limits) == {option.name: good}
    for bad in (low - 1, high + 1):
        with pytest.raises(BadInput) as from_text:
            typed(bad)
        with pytest.raises(BadInput) as from_discord:
            check_args(spec, {option.name: bad}, limits)
        assert from_text.value.message == from_discord.value.message
        assert f"from {low} to {high}" in from_discord.value.message


def test_typed_options_not_given_are_left_out() -> None:
    spec = COMMAND_NAMES["recommend"]
    args = {"count": 5, "mood": "calm", "bpm": None, "playlist": None}
    assert check_args(spec, args) == {"count": 5, "mood": "calm"}
    with pytest.raises(KeyError):
        check_args(spec, {"tempo": 120})  # an option the registry lacks is no option


# -- /workout takes more words only with start ------------------------------------------------------
@pytest.mark.parametrize("text", ["/workout stop now", "/workout status 9"])
async def test_workout_stop_or_status_with_more_words_says_only_start_takes_more(
    app: Beatmatch, text: str
) -> None:
    reply = await handle_text(app.service, ChatUser("telegram", "1"), text)
    assert reply.text == "Only /workout start takes more: a goal zone and a cadence."
