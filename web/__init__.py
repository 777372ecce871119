"""The newswatch pages and the Slack interactivity endpoint: a FastAPI app over the library.

Run it with `newswatch serve`, or inside Airflow's UI through `web.airflow_plugin`.
"""
