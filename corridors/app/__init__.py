"""The Solara front end: `corridors app` (or `solara run corridors.app.main`); see docs/app.md."""

import matplotlib

# Names in the app are data (scenario, state and parameter names may come from an upload or a
# sweep): a '$' in one is a dollar sign, never mathtext for matplotlib to parse.
matplotlib.rcParams["text.parse_math"] = False
