"""The ``beatmatch`` command line: run | serve | console | sync-commands | import-catalog |
import-library | train-genre | worker | eval."""

from __future__ import annotations

import os

# XGBoost/OpenMP threads otherwise spin while they wait, which on a small shared machine slows the
# whole bot (and its event loop) several times over; it must be set before they load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config, ConfigError, load_config
from bot.log_format import formatter
from storage.errors import EncryptionKeyError, ImportFormatError

if TYPE_CHECKING:
    from bot.core.catalog import CatalogState

log = logging.getLogger("beatmatch")


class CommandError(Exception):
    """A failure of a CLI command, shown to the operator without a traceback."""


def _setup_logging(level: str, kind: str = "text", file: Path | None = None) -> None:
    """Log to standard error, or only to ``file`` (the console's: never through its prompt);
    ``kind`` is ``logging.format``: text lines or one JSON object each."""
    if file is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter(kind))
        logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler])
    else:
        from bot.console_log import to_file

        try:
            to_file(file, level, kind)
        except OSError as error:
            raise CommandError(f"cannot write the console log {file}: {error.strerror}") from None
    for noisy in ("matplotlib", "PIL", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # These print request URLs below WARNING: Telegram's carry the bot token, Discord's the
    # interaction tokens.
    for secretive in ("httpx", "httpcore", "telegram", "discord.http", "discord.webhook"):
        logging.getLogger(secretive).setLevel(logging.WARNING)


def _config(args: argparse.Namespace) -> Config:
    try:
        return load_config(args.config)
    except ConfigError as error:
        raise CommandError(str(error)) from None


def cmd_run(args: argparse.Namespace) -> int:
    """Start the bot (chat fronts with tokens, else the console)."""
    from bot.app import run, run_console
    from bot.console_log import log_file

    config = _config(args)
    console = args.command == "console" or not (config.telegram.token or config.discord.token)
    logs = log_file(config) if console else None
    _setup_logging(config.logging.level, config.logging.format, logs)
    runner = run_console(config, logs) if console else run(config)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runner)
    except RuntimeError as error:
        from bot.runner import RunFailed

        if isinstance(error, RunFailed):
            raise CommandError(str(error)) from None
        raise
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the service until SIGTERM/SIGINT: the web app, and the chat fronts with tokens (none is
    fine); never the console, so a closed stdin (``docker run -d``) doesn't end it."""
    from bot.app import serve
    from bot.runner import RunFailed

    config = _config(args)
    _setup_logging(config.logging.level, config.logging.format)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config))
    except RunFailed as error:
        raise CommandError(str(error)) from None
    return 0


def cmd_sync_commands(args: argparse.Namespace) -> int:
    """Publish Discord's slash commands: globally, or to one guild with --guild."""
    from bot.chat.discord.bot import sync_commands

    config = _config(args)
    _setup_logging(config.logging.level, config.logging.format)
    if not config.discord.token:
        raise CommandError("discord.token is not set (BEATMATCH_DISCORD_TOKEN).")
    limits = {"max_count": config.recommend.max_count}  # /recommend's count range follows it
    synced = asyncio.run(sync_commands(config.discord.token, args.guild, limits))
    where = f"guild {args.guild}" if args.guild else "every guild (global: may take up to an hour)"
    print(f"Synced {len(synced)} slash commands to {where}.")
    return 0


def cmd_import_catalog(args: argparse.Namespace) -> int:
    """Import a Kaggle-format catalog CSV (or CSV.gz, or URL) into the database, then train its
    genre classifier (so the bot never has to)."""
    from bot.app import load_catalog, open_storage
    from bot.progress_bar import ProgressBar
    from storage.catalog_import import import_catalog

    config = _config(args)
    _setup_logging(config.logging.level, config.logging.format)
    storage = open_storage(config)
    started = time.perf_counter()
    try:
        result = import_catalog(storage, args.path, config.data_dir, ProgressBar("importing"))
        catalog = load_catalog(config, storage, show_progress=False)
    finally:
        storage.close()
    print(
        f"Catalog imported: {result['tracks']:,} tracks, {result['genre_labels']:,} genre "
        f"labels in {time.perf_counter() - started:.1f} s (into {config.data_dir})."
    )
    if "rejected" in result:
        print(
            f"Catalog file check: {result['rejected']}; correct those rows in the file and "
            "import it again to include them."
        )
    if not args.skip_genre:
        _train_genre(config, catalog)
    return 0


def _train_genre(config: Config, catalog: CatalogState) -> None:
    """Train and store the catalog's genre classifier here, with progress on the terminal."""
    from bot.core.lookup.genre_models import GenreModels

    models = GenreModels(catalog, config.data_dir / "models")
    if models.stored:
        print(f"The genre classifier of this catalog is already trained: {models.path}")
        return
    print("Training the genre classifier (once per catalog; the bot then never waits for it)…")
    started = time.perf_counter()
    models.train_here(progress=lambda message: print(f"  {message}", flush=True))
    size = models.path.stat().st_size if models.path.exists() else 0
    print(
        f"Genre model trained on {catalog.size:,} tracks in {time.perf_counter() - started:.0f} "
        f"s: {models.path} ({size / 2**20:.1f} MB)" + (" [demo catalog]" if catalog.is_demo else "")
    )


def cmd_import_library(args: argparse.Namespace) -> int:
    """Import an Exportify CSV as the library of a console/CLI user."""
    from bot.app import build
    from bot.core.errors import UserFacingError
    from bot.core.replies import ChatUser

    config = _config(args)
    _setup_logging(config.logging.level, config.logging.format)
    app = build(config, cooldown=0.0)
    user = ChatUser("console", args.user)

    async def go() -> None:
        try:
            reply = await app.service.taste.import_library(user, args.path)
            print(reply.plain_text(), flush=True)
            print("Learning your taste now (a first pass, then the full model)…", flush=True)
            await app.training.idle(await app.service.users.uid(user))
            print("Your taste model is trained and saved.")
        finally:
            await app.shutdown()

    try:
        asyncio.run(go())
    except UserFacingError as error:
        raise CommandError(error.message) from None
    return 0


def cmd_train_genre(args: argparse.Namespace) -> int:
    """Train (or retrain) the genre classifier on the current catalog."""
    from bot.app import load_catalog, open_storage
    from bot.core.lookup.genre_models import GenreModels

    config = _config(args)
    _setup_logging(config.logging.level, config.logging.format)
    storage = open_storage(config)
    try:
        catalog = load_catalog(config, storage)
    finally:
        storage.close()
    GenreModels(catalog, config.data_dir / "models").path.unlink(missing_ok=True)
    _train_genre(config, catalog)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Train models for a bot whose ``training.redis_url`` is set: take jobs from its RQ queue,
    one at a time, until SIGTERM (or, with --burst, until the queue is empty)."""
    from redis import RedisError

    from bot.training.redis_queue import redacted
    from bot.training.worker import main as work

    config = _config(args)
    _setup_logging(config.logging.level, config.logging.format)
    url = args.redis or config.training.redis_url
    if not url:
        raise CommandError(
            "no Redis to take jobs from: pass --redis URL (or set training.redis_url)."
        )
    queue = args.queue or config.training.queue
    try:
        return work(url, queue, burst=args.burst, level=config.logging.level)
    except RedisError as error:
        raise CommandError(f"Redis at {redacted(url)}: {error}") from None


def cmd_forget_links(args: argparse.Namespace) -> int:
    """Delete every stored account token (their key is lost for good): the listeners link Spotify
    and Pulsoid again. Asks first, unless --yes."""
    from bot.app import open_storage

    config = _config(args)
    _setup_logging(config.logging.level, config.logging.format)
    storage = open_storage(config)
    try:
        counts = storage.accounts.link_counts()
        total = sum(counts.values())
        if not total:
            print("No linked accounts' tokens are stored: nothing to forget.")
            return 0
        what = f"the stored tokens of {total} linked account{'s' if total != 1 else ''} (" + (
            ", ".join(f"{n} {provider.title()}" for provider, n in sorted(counts.items())) + ")"
        )
        if not args.yes:
            try:
                answer = input(
                    f"Delete {what}? Their listeners will have to /link again. Type yes: "
                )
            except EOFError:
                answer = ""
            if answer.strip().lower() != "yes":
                raise CommandError(f"nothing deleted. To delete {what}, type yes or pass --yes.")
        deleted = storage.accounts.forget_all_links()
    finally:
        storage.close()
    print(
        f"Deleted the stored tokens of {deleted} linked account{'s' if deleted != 1 else ''}; "
        "their listeners link again with /link. Back up the key (storage.encryption_key, or "
        f"{config.data_dir / 'secret.key'}, made on the next start if missing) this time."
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Offline evaluation: next-likes ranking or genre classification."""
    from storage.catalog_csv import read_catalog

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    started = time.perf_counter()
    if args.protocol == "next-likes":
        from recommender.evaluation.baselines import evaluate_with_baselines
        from recommender.evaluation.next_likes import evaluate_next_likes
        from storage.exportify import read_exportify

        catalog, _ = read_catalog(args.catalog)
        library = read_exportify(args.library)
        evaluate = evaluate_with_baselines if args.baselines else evaluate_next_likes
        result: dict[str, object] = dict(
            evaluate(catalog, library.tracks, library.entries, seed=args.seed)
        )
    else:
        from recommender.evaluation.genre import evaluate_genre

        train_tracks, train_labels = read_catalog(args.catalog)
        test_tracks, test_labels = read_catalog(args.test)
        result = dict(
            evaluate_genre(train_tracks, train_labels, test_tracks, test_labels, seed=args.seed)
        )
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
        print(f"{'seconds':>24}: {time.perf_counter() - started:.1f}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (TOML); "
        "BEATMATCH_<SECTION>_<KEY> environment variables override it",
    )
    top = argparse.ArgumentParser(prog="beatmatch", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        parents=[common],
        help="start the bot: chat fronts with tokens, otherwise the console",
    ).set_defaults(func=cmd_run)
    sub.add_parser(
        "serve",
        parents=[common],
        help="run the service until SIGTERM: web app (/healthz, OAuth callbacks) and the chat "
        "fronts whose tokens are set; never the console (the container's default)",
    ).set_defaults(func=cmd_serve)
    sub.add_parser(
        "console", parents=[common], help="the console chat (simulated heart)"
    ).set_defaults(func=cmd_run)
    p = sub.add_parser(
        "sync-commands",
        parents=[common],
        help="publish Discord's slash commands globally (or to one guild); not done on start",
    )
    p.add_argument("--guild", type=int, default=0, metavar="ID", help="sync to this guild only")
    p.set_defaults(func=cmd_sync_commands)
    p = sub.add_parser(
        "import-catalog",
        parents=[common],
        help="import a catalog CSV/CSV.gz in the Spotify Tracks Dataset format",
    )
    p.add_argument("path", help="file path or http(s) URL")
    p.add_argument(
        "--skip-genre",
        action="store_true",
        help="don't train the genre classifier now (the bot then trains it in the background)",
    )
    p.set_defaults(func=cmd_import_catalog)
    p = sub.add_parser("import-library", parents=[common], help="import an Exportify CSV")
    p.add_argument("--user", required=True, help="console user name to import for")
    p.add_argument("path")
    p.set_defaults(func=cmd_import_library)
    sub.add_parser(
        "train-genre", parents=[common], help="train the genre classifier on the current catalog"
    ).set_defaults(func=cmd_train_genre)
    p = sub.add_parser(
        "worker",
        parents=[common],
        help="train models for a bot on Redis (training.redis_url): one job at a time",
    )
    p.add_argument("--redis", metavar="URL", help="the bot's Redis (default: training.redis_url)")
    p.add_argument("--queue", metavar="NAME", help="its job queue (default: training.queue)")
    p.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser(
        "forget-links",
        parents=[common],
        help="delete every stored account token (when their key is lost for good): "
        "listeners link again",
    )
    p.add_argument("--yes", action="store_true", help="don't ask for confirmation")
    p.set_defaults(func=cmd_forget_links)
    p = sub.add_parser("eval", help="offline evaluation")
    protocols = p.add_subparsers(dest="protocol", required=True)
    q = protocols.add_parser("next-likes", help="find a listener's later likes in the catalog")
    q.add_argument("--catalog", required=True)
    q.add_argument("--library", required=True, help="Exportify CSV")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument(
        "--baselines",
        action="store_true",
        help="also score popularity, centroid, k-NN and plain RF+XGB baselines",
    )
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_eval)
    q = protocols.add_parser("genre", help="genre classification on a held-out catalog")
    q.add_argument("--catalog", required=True, help="training catalog")
    q.add_argument("--test", required=True, help="test catalog (same columns)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_eval)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``beatmatch`` console script."""
    # Everything beatmatch writes (database, keys, models, charts) is for its own user only:
    # files 0600, directories 0700 (storage.database tightens what older versions left open).
    os.umask(0o077)
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (CommandError, ImportFormatError, EncryptionKeyError) as error:
        print(f"beatmatch: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
