"""The Textual dashboard: renders what a source streams; never trains in its own process."""
