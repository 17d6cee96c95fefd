"""The Lambda handlers of the resource registry service: one module per operation."""
