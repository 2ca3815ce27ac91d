"""The JobQueue's jobs: pushes, scheduled ingests and the start-up warm-up."""
