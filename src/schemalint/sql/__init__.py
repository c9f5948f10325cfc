"""SQL-level helpers: parsing with pglast, names, sections and suppression comments."""
