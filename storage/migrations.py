"""The database schema as a sequence of sqlite-utils migrations. Never edit an applied one: add a new one."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("beatmatch")

FEATURE_COLUMNS = {
    "danceability": float,
    "energy": float,
    "key": float,
    "loudness": float,
    "mode": float,
    "speechiness": float,
    "acousticness": float,
    "instrumentalness": float,
    "liveness": float,
    "valence": float,
    "tempo": float,
    "time_signature": float,
}


@MIGRATIONS()
def m001_core_tables(db: Database) -> None:
    """Users, tracks, features, genres, libraries, feedback, models, profiles."""
    db.table("users").create(
        {
            "id": int,
            "platform": str,
            "platform_user_id": str,
            "display_name": str,
            "created_at": float,
            "settings": str,
        },
        pk="id",
        not_null={"platform", "platform_user_id"},
    )
    db.table("users").create_index(["platform", "platform_user_id"], unique=True)
    db.table("tracks").create(
        {
            "id": str,
            "name": str,
            "artists": str,
            "album": str,
            "duration_ms": float,
            "explicit": float,
            "popularity": float,
            "release_year": float,
            "isrc": str,
            "in_catalog": int,
            "updated_at": float,
        },
        pk="id",
        defaults={"in_catalog": 0},
    )
    db.table("tracks").create_index(["in_catalog"])
    db.table("features").create(
        {"track_id": str, **FEATURE_COLUMNS, "source": str, "fetched_at": float},
        pk="track_id",
        foreign_keys=[("track_id", "tracks", "id")],
        not_null={"source"},
    )
    db.table("track_genres").create(
        {"track_id": str, "genre": str, "source": str},
        pk=("track_id", "genre"),
        foreign_keys=[("track_id", "tracks", "id")],
    )
    db.table("library").create(
        {
            "user_id": int,
            "track_id": str,
            "source": str,
            "rank": int,
            "added_at": str,
            "imported_at": float,
        },
        pk=("user_id", "track_id", "source"),
        foreign_keys=[("user_id", "users", "id"), ("track_id", "tracks", "id")],
    )
    db.table("feedback").create(
        {"user_id": int, "track_id": str, "value": int, "created_at": float},
        pk=("user_id", "track_id"),
        foreign_keys=[("user_id", "users", "id"), ("track_id", "tracks", "id")],
    )
    db.table("models").create(
        {
            "user_id": int,
            "kind": str,
            "path": str,
            "fingerprint": str,
            "trained_at": float,
            "metrics": str,
        },
        pk=("user_id", "kind"),
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("profiles").create(
        {
            "user_id": int,
            "age": int,
            "resting_hr": int,
            "max_hr": int,
            "cadence": int,
            "goal_zone": int,
            "updated_at": float,
        },
        pk="user_id",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("meta").create({"key": str, "value": str}, pk="key")


@MIGRATIONS()
def m002_workouts(db: Database) -> None:
    """Workout sessions, their heart-rate samples and the tracks suggested during them."""
    db.table("workouts").create(
        {
            "id": int,
            "user_id": int,
            "started_at": float,
            "ended_at": float,
            "goal_zone": int,
            "cadence": int,
            "source": str,
            "summary": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("workouts").create_index(["user_id"])
    db.table("hr_samples").create(
        {"workout_id": int, "t": float, "hr": float},
        pk=("workout_id", "t"),
        foreign_keys=[("workout_id", "workouts", "id")],
    )
    db.table("workout_tracks").create(
        {"workout_id": int, "t": float, "track_id": str, "title": str},
        pk=("workout_id", "t"),
        foreign_keys=[("workout_id", "workouts", "id")],
    )


@MIGRATIONS()
def m003_accounts(db: Database) -> None:
    """OAuth states (single use, expiring) and linked accounts (token blobs encrypted)."""
    db.table("oauth_states").create(
        {
            "state_hash": str,
            "user_id": int,
            "provider": str,
            "verifier": str,
            "created_at": float,
            "expires_at": float,
        },
        pk="state_hash",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("linked_accounts").create(
        {
            "user_id": int,
            "provider": str,
            "account_name": str,
            "token_blob": bytes,
            "scopes": str,
            "updated_at": float,
        },
        pk=("user_id", "provider"),
        foreign_keys=[("user_id", "users", "id")],
    )


@MIGRATIONS()
def m004_spotify(db: Database) -> None:
    """Top artists per time range, and feature-source misses (so a "not known" is cached too)."""
    db.table("top_artists").create(
        {"user_id": int, "time_range": str, "rank": int, "artist": str, "artist_id": str},
        pk=("user_id", "time_range", "rank"),
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("feature_misses").create(
        {"track_id": str, "source": str, "checked_at": float},
        pk=("track_id", "source"),
    )


def without_apostrophes(column: str) -> str:
    """SQL for ``column`` with the apostrophes of ``storage.search_text.APOSTROPHES`` removed
    (written out here: a migration must not change when that module does)."""
    quote, right, letter = "''", "\u2019", "\u02bc"
    return (
        f"replace(replace(replace(coalesce({column}, ''), '{quote}', ''), "
        f"'{right}', ''), '{letter}', '')"
    )


@MIGRATIONS()
def m005_track_search(db: Database) -> None:
    """The track search index: an FTS5 table over every stored track's name and artists (case,
    accents and punctuation folded by the ``unicode61 remove_diacritics 2`` tokenizer, apostrophes
    removed first, prefix indexes for what is being typed), kept in step with ``tracks`` by
    triggers, so catalog imports and stored tracks are searchable the moment they commit.

    Contentless: it holds only the index, keyed by the track's rowid (no ``VACUUM`` is ever run:
    it could renumber the rowids of ``tracks``; ``storage.track_search.rebuild`` repairs it).
    """
    name, artists = without_apostrophes("new.name"), without_apostrophes("new.artists")
    old_name, old_artists = without_apostrophes("old.name"), without_apostrophes("old.artists")
    insert = (
        f"insert into track_search (rowid, name, artists) values (new.rowid, {name}, {artists});"
    )
    delete = (
        "insert into track_search (track_search, rowid, name, artists) "
        f"values ('delete', old.rowid, {old_name}, {old_artists});"
    )
    db.execute(
        "create virtual table track_search using fts5(name, artists, content='', "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    db.execute(f"create trigger track_search_insert after insert on tracks begin {insert} end")
    db.execute(f"create trigger track_search_delete after delete on tracks begin {delete} end")
    db.execute(
        # Only when a name or artists cell really changes: every upsert of a stored track sets
        # both columns, mostly to the same values.
        "create trigger track_search_update after update of name, artists on tracks "
        "when old.name is not new.name or old.artists is not new.artists "
        f"begin {delete} {insert} end"
    )
    db.execute(
        "insert into track_search (rowid, name, artists) select rowid, "
        f"{without_apostrophes('name')}, {without_apostrophes('artists')} from tracks"
    )


@MIGRATIONS()
def m006_workout_sent_tracks(db: Database) -> None:
    """Every track a workout message showed the listener (the summary and chart count these)."""
    db.table("workout_sent_tracks").create(
        {"workout_id": int, "t": float, "track_id": str, "title": str},
        pk=("workout_id", "track_id"),
        foreign_keys=[("workout_id", "workouts", "id")],
    )


@MIGRATIONS()
def m007_shown_tracks(db: Database) -> None:
    """The tracks /recommend showed each listener and when: a repeated /recommend moves on."""
    db.table("shown_tracks").create(
        {"user_id": int, "track_id": str, "shown_at": float},
        pk=("user_id", "track_id"),
        foreign_keys=[("user_id", "users", "id")],
    )
    db.execute("create index shown_tracks_user_time on shown_tracks (user_id, shown_at)")


@MIGRATIONS()
def m008_shown_lists(db: Database) -> None:
    """Long lists a chat showed a listener, kept so that its page buttons can show any page (the
    reply as JSON: title, text, tracks with their why-lines, notes, footer, times)."""
    db.table("shown_lists").create(
        {"key": str, "user_id": int, "created_at": float, "reply": str},
        pk="key",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("shown_lists").create_index(["user_id", "created_at"])


@MIGRATIONS()
def m009_seeds(db: Database) -> None:
    """The songs and artists a listener without a library named with /start (a cold start):
    ``kind`` "track" (``value`` the catalog track id) or "artist" (``value`` the artist's name)."""
    db.table("seeds").create(
        {"user_id": int, "position": int, "kind": str, "value": str, "created_at": float},
        pk=("user_id", "position"),
    )


@MIGRATIONS()
def m010_blend_consent(db: Database) -> None:
    """Who allowed their taste in /blend (``allowed`` NULL: asked, not answered yet), and the
    group chats ("places") where each allowed it, so a group's /blend finds its opted-in members."""
    db.table("blend_consent").create(
        {"user_id": int, "allowed": int, "asked_at": float, "updated_at": float},
        pk="user_id",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("blend_places").create(
        {"user_id": int, "place": str, "added_at": float},
        pk=("user_id", "place"),
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("blend_places").create_index(["place"])


@MIGRATIONS()
def m011_library_genres(db: Database) -> None:
    """Spotify's artist genres of each library track as the listener's Exportify file gave them
    (its "Genres" cell, comma-separated): evidence of genre for artists the catalog doesn't know."""
    db.table("library_genres").create(
        {"user_id": int, "track_id": str, "genres": str},
        pk=("user_id", "track_id"),
        foreign_keys=[("user_id", "users", "id")],
    )


#: Tables holding one user's data: /forget deletes the user's rows from each (children first).
USER_TABLES: tuple[str, ...] = (
    "library",
    "feedback",
    "models",
    "profiles",
    "oauth_states",
    "linked_accounts",
    "top_artists",
    "shown_tracks",
    "shown_lists",
    "seeds",
    "blend_consent",
    "blend_places",
    "library_genres",
)
