"""Atlas Streams."""
