"""The data-access layer: what the services read from (and, beside the writer, write to) the
database, as keyword-only functions over SQLAlchemy Core returning named, typed results.

One module per aggregate. Rules, routes and jobs call these functions and hold no SQL of their
own; raw psycopg is used only where it earns its keep (the readings writer's binary COPY).
"""
