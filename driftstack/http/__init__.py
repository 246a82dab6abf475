"""The HTTP API: thin aiohttp handlers over the use cases, problem details for every error."""
