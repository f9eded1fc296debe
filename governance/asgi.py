"""The ASGI entry point the server (granian) and the Litestar CLI load: settings from the environment."""

import gc

from governance.app import create_app

app = create_app()
# Everything made so far (modules, the app, its routes and models) lives as long as the process:
# out of the collector's sight, a full collection no longer walks it. Under load those walks
# stalled every request for 120-140 ms; after freeze() they take about 10 ms
# (bench/bench_tracking_routes.py: pixel p99 130 -> 27 ms, +13 % requests/s).
gc.freeze()
# A young generation of 10,000 objects instead of 700: a request waiting for its hit's fsync is alive
# at most collections, so with the default its objects were promoted, then walked again in the older
# generations (about 6 % of the worker's CPU under load, perf). One A/B run: pixel 0.52 -> 0.59 of
# bare; 50,000 did no better and its longer young collections raised the pixel's p99.
gc.set_threshold(10_000)
