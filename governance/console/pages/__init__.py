"""One module per console page (or group of pages): thin controllers over the domain services."""
