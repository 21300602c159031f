"""The data-access layer: what the services read from (and, beside the writer, write to) the
database, as keyword-only functions over SQLAlchemy Core returning named, typed results.

One module per aggregate. Rules, routes and jobs call these functions and hold no SQL of their
own; raw psycopg is used only where it earns its keep (the readings writer's binary COPY).

The reads behind the API are built once per statement *shape* — what their SQL text depends on
(interval, zone, which scope fields are set, which branches a window source has: consumption's
``_Shape``, rollups' ``WindowShape``) — in ``functools.lru_cache``d builders whose values are
``bindparam()``s, and each call executes the built statement with a dict of its values. Building a
Core statement and generating its cache key cost several times more CPU than running it (a
consumption read 4.9 ms before, 0.9 ms after: bench/README.md); a built statement's key is
memoised, so SQLAlchemy's compiled cache is hit at once ("[cached since …]").
"""
