"""The ``twin`` command-line interface (composition root: may import every layer lazily)."""
