"""Task bundles: the on-disk format, loading, manifests, validation and synthetic samples."""
