"""``python -m allegiance`` = the ``allegiance`` command."""

if __name__ == "__main__":
    # imported here, not above: extraction workers are spawned interpreters that import
    # this module again (as __mp_main__) and need none of the CLI's libraries
    from allegiance.cli import app

    app(prog_name="allegiance")
