"""planning's domain: entities, their rules and transitions. Pure: no SQLAlchemy, FastAPI,
aiokafka, aiohttp or httpx, and no HTTP status; a refusal is a kit `DomainError`."""
