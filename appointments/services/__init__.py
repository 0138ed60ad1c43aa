"""Business actions: what views, tasks and management commands call (one module per entity)."""
