"""Offline phones: the change feed they pull and the batches they upload."""
