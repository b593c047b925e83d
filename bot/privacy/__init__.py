"""Redaction: identifying details are removed before anything is stored or sent."""
