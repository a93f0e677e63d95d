"""``python -m digest.cli``: the same as the ``digest`` command."""

from digest.cli import main

# Guarded: the service's job children (multiprocessing spawn) import the main module again.
if __name__ == "__main__":
    main()
