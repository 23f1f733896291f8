"""Query: metrics, dimensions and filters over stored hits; SQL is assembled here per dialect."""
