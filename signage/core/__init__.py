"""The thin shared core: database, errors, access control, audit, paging, OpenAPI."""
