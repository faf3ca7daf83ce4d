"""Dashboard widgets, one per file; each renders a plain record, never touches the trainer."""
