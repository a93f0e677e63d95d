"""digest — trending research papers in your inbox, picked for you."""

__version__ = "0.1.0"
