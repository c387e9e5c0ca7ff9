"""Reports: the provider and collaborative report building blocks, the display helpers,
the offline HTML template and the runner behind ``qi-equity report``."""
