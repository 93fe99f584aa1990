"""Deeplake's tables API: credentials, SQL escaping, the shared HTTP client."""
