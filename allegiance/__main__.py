"""``python -m allegiance`` = the ``allegiance`` command."""
from allegiance.cli import app

if __name__ == "__main__":
    app(prog_name="allegiance")
