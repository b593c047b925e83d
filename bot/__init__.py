"""tabot: a technical-assistance assistant for domestic- and sexual-violence coalitions."""

__version__ = "0.1.0"
