"""Storage: tables, the database connection and migrations, audit and retention."""
