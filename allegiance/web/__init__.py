"""Analyst web app (``allegiance serve``): FastAPI JSON API and server-rendered pages."""
from allegiance.web.app import create_app

__all__ = ["create_app"]
