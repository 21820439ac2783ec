"""The Solara front end: `corridors app` (or `solara run corridors.app.main`); see docs/app.md."""
