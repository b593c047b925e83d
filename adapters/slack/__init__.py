"""Slack: listener wiring in `listeners`, Block Kit rendering in `blocks`."""

from adapters.slack.listeners import SlackAdapter

ADAPTER = SlackAdapter
