"""Command line (click): server, dev, and operator commands. Loads settings once."""
