"""SQLite storage for beatmatch: schema and migrations, the Repository, importers, token encryption."""
