"""Lessons: loading and playing the TOML files beside this module."""
