"""Present: what people read — CLI output, the Stats API and the dashboard."""
