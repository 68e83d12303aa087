"""SQLite storage for beatmatch: schema and migrations, the Storage, importers, token encryption."""
