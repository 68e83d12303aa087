"""The taste feature: /import, /recommend, /like, /dislike, /playlist, and the models behind them."""
