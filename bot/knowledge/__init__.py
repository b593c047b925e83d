"""The curated knowledge base: entry files, the index, matching, confidence, crisis phrases."""
