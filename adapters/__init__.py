"""Chat platforms. Each module turns platform events into `bot.messages.Message` and renders
the core's replies; `tabot run --adapter NAME` loads `adapters.NAME`."""
