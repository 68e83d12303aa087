"""The accounts feature: linking Spotify and Pulsoid (/link, /unlink, OAuth callbacks, tokens)."""
