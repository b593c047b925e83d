"""The conversation with an asker: messages in, replies out, rate limits."""
