"""``energymon demo``: the whole platform on one machine, with simulated gateways and meters.

Services come from ``ENERGYMON_DATABASE_URL`` / ``ENERGYMON_MQTT_URL`` when set, else the local
PostgreSQL and Mosquitto on their standard ports when they answer, else embedded ones started
from this machine's binaries with their data under ``--data-dir`` (kept between runs; ``--reset``
wipes it). Then: serve simulated Modbus TCP meters and a DL/T 645 meter (behind a simulated TCP
serial server) on loopback ports, migrate, provision the simulated district (simulators/district:
its MQTT gateways, those meters and a Sparkplug B edge node's devices, re-applied on every start
so the registry knows this run's ports), run MQTT ingest, the Modbus poller (which polls the DL/T
645 meter too), the Sparkplug host, the API, accounting and alerts in this process (each by its
own ``run``), the gateway simulator and the Sparkplug edge node simulator beside it, and report
progress until Ctrl-C.

The gateways first send their counters' history since the first day of the previous local month
(store and forward, every 15 minutes), and the demo waits until it is stored and rolled up, so
last month is complete: every enterprise but one then submits last month's figures (value added;
the cement plants' clinker output), and the clinker verdicts against GB 16780-2021 and the
district's intensity are printed. ``ENERGYMON_PRODUCTION_DUE_DAY`` is 1 unless set.

Three scripted episodes (simulators/district/episodes.py) show alerts resolving as well as opening,
each printed as it happens:

1. **A data centre commissioned during the demo.** ``dc-new`` (class ``new_large``, PUE about
   1.18) is registered at start, but its gateway only starts publishing a delay after "ready"
   (``ENERGYMON_DEMO_EPISODE_DELAY_S``, default 60 s): until then the PUE rule reports
   insufficient data for each window; its first reading makes coverage complete, and those
   alerts resolve after the hold time.
2. **A budget revision.** Twice that delay after "ready", an officer-like action raises the spent
   electricity budget of the fleet's first enterprise (re-applying the district file with the
   larger amount), so its ``budget_exceeded`` alert resolves after the hold. Every start resets
   the budget to its breaching amount, so the episode replays on a reused data directory.
3. **Late figures.** Three delays after "ready", the late cement plant's clerk submits last
   month's figures, so its ``production_missing`` alert resolves.

The demo evaluates alerts every 20 s and resolves them after 60 s clear unless
``ENERGYMON_ALERTS_INTERVAL_S`` / ``ENERGYMON_ALERTS_HOLD_S`` are set.

Modules: ``main`` (the order of things), ``backends`` (PostgreSQL and MQTT), ``provisioning``
(migrate, the district file, the demo officer), ``launch`` (the services and their shutdown),
``gateways`` (the gateway simulator and its backlog), ``edge_node`` (the Sparkplug edge node
simulator), ``episodes`` (playing the episodes),
``production`` (the enterprises' figures and verdicts), ``watch`` (the running totals and the
alerts as they change), ``output`` (printing).
"""
