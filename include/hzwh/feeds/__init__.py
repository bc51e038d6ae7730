"""Feed contracts and the shared reader that turns a bureau file into typed rows."""
