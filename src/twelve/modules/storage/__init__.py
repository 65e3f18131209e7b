"""Storage: files and results (`/v1/files`), content-addressed blobs."""
