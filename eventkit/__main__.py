"""Allow ``python -m eventkit``."""

from eventkit.cli.app import main

if __name__ == "__main__":
    main()
