# Read by the `flask` command only (not by gunicorn): local use defaults to development.
SIGNAGE_ENV=development
