"""Pure machine learning for beatmatch: numpy/pandas in, numbers out. No network, no database, no chat."""
