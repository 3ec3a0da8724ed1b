"""Results: the result model (with its exported JSON Schema), aggregation and the store."""
