"""``python -m vgtui``. Guarded: the trainer process (spawned) imports this module too."""

if __name__ == "__main__":
    from vgtui.cli import main

    raise SystemExit(main())
