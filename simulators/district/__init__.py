"""The simulated district of ``energymon demo``, as a fixture: its enterprises, sites, meters, data
centres and budgets in one registry document (``layout``), and the two scripted episodes the demo
plays on it (``episodes``). Plain data and pure functions over the gateway fleet and the simulated
Modbus meters: no network, no database, no clock."""
