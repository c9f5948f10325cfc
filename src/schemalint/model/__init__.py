"""The schema model: what the migration history created, and the questions rules ask of it."""
