"""Writing migrations: the recipe engine, the generator (`schemalint new`) and `--fix`."""
