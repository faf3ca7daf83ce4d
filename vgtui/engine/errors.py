"""The engine's error types: bad configuration and unavailable data."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field, the value and what's valid."""

    def __init__(self, field: str, value: object, valid: str) -> None:
        self.field = field
        self.value = value
        self.valid = valid
        super().__init__(f"{field}: {value!r} is not valid; expected {valid}")


class DataError(RuntimeError):
    """A dataset cannot be loaded; the message says what is missing and where to put it."""
