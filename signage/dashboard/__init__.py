"""The supervisors' dashboard: server-rendered, signed-in staff only, no CDN."""
