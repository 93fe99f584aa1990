"""Hook handlers, one module per job; ``main`` reads stdin and dispatches."""
