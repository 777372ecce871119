"""The newswatch pages inside Airflow's UI, and the Slack endpoint on Airflow's API server.

Registered through the `airflow.plugins` entry point (pyproject.toml), so installing newswatch
in Airflow's environment is enough; `airflow plugins` lists it. The app is mounted at
/newswatch on the API server (`fastapi_apps`) and linked in the UI's navigation
(`external_views`, shown in a frame). Pages and forms require Airflow's own login (the JWT
cookie the UI holds, or a Bearer token); `POST /newswatch/slack/interactions` is authenticated
by Slack's signature instead, so Slack's Request URL is `https://<airflow>/newswatch/slack/interactions`.

Nothing is opened at import: the config (NEWSWATCH_CONFIG) and database
(NEWSWATCH_DATABASE_URL, else the config's) are read on the first request.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, ClassVar

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, Request

from .app import create_app
from .site import Site, open_site

URL_PREFIX = "/newswatch"


async def airflow_user(request: Request, user: Annotated[BaseUser, Depends(get_user)]) -> None:
    """Airflow's authentication for the pages; the signed-in user is who gives labels."""
    request.state.newswatch_user = user.get_name()


def _open_site() -> Site:
    return open_site(os.environ.get("NEWSWATCH_CONFIG"), os.environ.get("NEWSWATCH_DATABASE_URL"))


app = create_app(_open_site, page_dependencies=[Depends(airflow_user)])


class NewswatchPlugin(AirflowPlugin):
    name = "newswatch"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "newswatch"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "newswatch",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "newswatch",
        }
    ]
