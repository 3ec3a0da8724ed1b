"""Object storage that several layers read: result stores and the bundles workers fetch."""
