"""``schemalint verify``: replay migrations on a throwaway PostgreSQL and observe what really happens."""
