"""The ``lakeloop`` command: one module per subcommand, dispatched by ``main``."""
