"""The API's routes, one module per resource, each with its models in ``services.api.models``:

- ``auth``: tokens and ``/me``; ``registry``: enterprises, sites, gateways, meters, the admin
  apply; ``readings``: a point's raw readings; ``ingest``: HTTP ingest for gateways;
- ``consumption``: consumption by period of an enterprise, a meter, a town or the district;
  ``energy``: tce and CO2 of the same scopes; ``pue``: a data centre's PUE and the ranking;
  ``budgets``: the budget ranking; ``demand``: peak demand and demand-response events;
- ``reports``: the monthly reports; ``alerts``: alerts and the actions on them.

Parameters several resources share are in ``services.api.params``, what a caller may see in
``services.api.tenancy``, and every route answers through ``services.api.render``.
"""
