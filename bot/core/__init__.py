"""Transport-agnostic core: a command in, a Reply out; one package per feature."""
