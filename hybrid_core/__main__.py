"""``python -m hybrid_core``: the ``hybrid`` command line."""

from hybrid_core._cli import main

if __name__ == "__main__":
    main()
