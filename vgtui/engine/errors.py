"""The engine's one error type for bad input."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field, the value and what is valid."""

    def __init__(self, field: str, value: object, valid: str) -> None:
        self.field = field
        self.value = value
        self.valid = valid
        super().__init__(f"{field}: {value!r} is not valid; expected {valid}")
