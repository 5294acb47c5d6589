"""The coordinators' page: server-rendered HTML over the same services as the GraphQL API."""

from web.app import create_web_app

__all__ = ["create_web_app"]
