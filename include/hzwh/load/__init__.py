"""Landing-folder discovery, archiving, and loading into the raw schema with COPY."""
