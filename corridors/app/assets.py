"""Offline assets: Solara's JavaScript and the map's country borders, from the npm registry.

Solara serves its front end (Vue, Vuetify, RequireJS, Font Awesome; ECharts for the app's charts)
under ``/_solara/cdn/`` and fetches each file from a CDN the first time a browser asks for it,
unless the file is already in its asset cache (``SOLARA_ASSETS_PROXY_CACHE_DIR``, by default
``<venv>/share/solara/cdn``).
``python -m corridors.app.assets`` fills that cache from the npm registry with ``npm pack``, so
the app never asks a CDN: the same folder layout the proxy writes (``NAME@VERSION/PATH``).

The versions are read from the installed Solara (its page template and widgets), so a Solara
upgrade fetches what the new version asks for. The map's borders come from the same place: the
``world-atlas`` package (Natural Earth country borders as TopoJSON).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

WORLD_ATLAS = "world-atlas@2.0.2"
"""Natural Earth country borders (TopoJSON), ISC licence; the data are public domain."""

# What solara 1.64 asks for; used only if the versions cannot be read from the installed Solara.
_FALLBACK = {
    "@widgetti/solara-vuetify-app": "10.1.1",
    "requirejs": "2.3.6",
    "font-awesome": "4.5.0",
    "@widgetti/vue-grid-layout": "2.3.13-alpha.2",
}

ECHARTS_FALLBACK = "5.4.0"
"""The ECharts version Solara's own ECharts component asks for (the app's charts use it too)."""

_VERSIONED = re.compile(r"((?:@[\w.-]+/)?[\w.-]+)@(\d+\.\d+\.\d+(?:-[\w.]+)?)/")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    required: tuple[str, ...] = ()
    """Files (inside the package) whose presence shows it is installed."""

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def cache_dir() -> Path:
    """Solara's asset cache: where ``/_solara/cdn/NAME@VERSION/PATH`` is looked up."""
    env = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
    if env:
        return Path(env)
    try:
        from solara.server import settings

        return Path(settings.assets.proxy_cache_dir)
    except ImportError:  # pragma: no cover - solara not installed: same default as solara's
        return Path(sys.prefix) / "share" / "solara" / "cdn"


def _solara_dir() -> Path | None:
    try:
        import solara
    except ImportError:  # pragma: no cover
        return None
    return Path(solara.__file__).parent


def _versions_from_solara() -> dict[str, str]:
    """Package versions the installed Solara puts in its ``/_solara/cdn/`` URLs."""
    found: dict[str, str] = {}
    root = _solara_dir()
    if root is None:
        return found
    template = root / "server" / "templates" / "solara.html.j2"
    grid = root / "widgets" / "vue" / "gridlayout.vue"
    settings = root / "server" / "settings.py"
    for path in (template, grid, settings):
        if not path.exists():
            continue
        for name, version in _VERSIONED.findall(path.read_text(encoding="utf-8")):
            if name.endswith("solara-vuetify3-app"):
                continue  # the Vue 3 front end; Corridors uses the default (Vue 2) one
            if name.startswith(("@widgetti/", "requirejs", "font-awesome")):
                found.setdefault(name, version)
    return found


def _echarts_version() -> str:
    """The ECharts version the installed Solara loads (its ``echarts.vue``)."""
    root = _solara_dir()
    vue = root / "components" / "echarts.vue" if root else None
    if vue and vue.exists():
        m = re.search(r'version\s*=\s*"(\d+\.\d+\.\d+)"', vue.read_text(encoding="utf-8"))
        if m:
            return m.group(1)
    return ECHARTS_FALLBACK


def echarts_package() -> Package:
    """ECharts (Apache-2.0), which draws the app's charts in the browser."""
    return Package("echarts", _echarts_version(), ("dist/echarts.min.js", "dist/echarts.js"))


def requirejs_package() -> Package:
    versions = {**_FALLBACK, **_versions_from_solara()}
    return Package("requirejs", versions["requirejs"], ("require.js",))


def packages() -> list[Package]:
    """The npm packages the app needs, with the files that show each is in place."""
    versions = {**_FALLBACK, **_versions_from_solara()}
    app = versions["@widgetti/solara-vuetify-app"]
    return [
        Package(
            "@widgetti/solara-vuetify-app",
            app,
            (
                "dist/main8.css",
                "dist/fonts.css",
                "dist/solara-vuetify-app8.min.js",
                "dist/solara-vuetify-app8.js",
            ),
        ),
        requirejs_package(),
        echarts_package(),
        Package("font-awesome", versions["font-awesome"], ("css/font-awesome.min.css",)),
        Package(
            "@widgetti/vue-grid-layout",
            versions["@widgetti/vue-grid-layout"],
            ("dist/vue-grid-layout.umd.js",),
        ),
        Package(*WORLD_ATLAS.split("@"), ("countries-50m.json", "countries-110m.json")),
    ]


def missing(cache: Path | None = None) -> list[str]:
    """Required files not yet in the cache (``NAME@VERSION/PATH``); empty when all is there."""
    cache = cache or cache_dir()
    return [
        f"{pkg.spec}/{rel}"
        for pkg in packages()
        for rel in pkg.required
        if not (cache / pkg.spec / rel).is_file()
    ]


def world_atlas_file(resolution: str = "50m") -> Path | None:
    """The world-atlas TopoJSON file of countries, if the assets have been fetched."""
    env = os.environ.get("CORRIDORS_WORLD_ATLAS")
    if env and Path(env).is_file():
        return Path(env)
    path = cache_dir() / WORLD_ATLAS / f"countries-{resolution}.json"
    return path if path.is_file() else None


def _keep(pkg: Package, member: str) -> bool:
    """Files worth keeping: everything but source maps; of world-atlas, the country files."""
    if member.endswith(".map"):
        return False
    if pkg.name == "world-atlas":
        return member in (*pkg.required, "LICENSE", "package.json", "README.md")
    if pkg.name == "echarts":  # 50 MB of sources and typings: keep the built bundles
        return member in (*pkg.required, "LICENSE", "NOTICE", "package.json")
    return True


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "error: npm is needed to fetch the app's JavaScript from the npm registry; "
            "install Node.js and npm (Debian: apt-get install npm) and run again"
        )
    return npm


def fetch_package(pkg: Package, cache: Path, quiet: bool = False) -> int:
    """``npm pack`` one package and unpack it into ``cache/NAME@VERSION``; returns bytes kept."""
    target = cache / pkg.spec
    with tempfile.TemporaryDirectory(prefix="corridors-npm-") as tmp:
        out = subprocess.run(
            [_npm(), "pack", "--silent", "--pack-destination", tmp, pkg.spec],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
        tgz = Path(tmp) / names[-1] if names else next(Path(tmp).glob("*.tgz"))
        staging = Path(tmp) / "unpacked"
        kept = 0
        with tarfile.open(tgz, "r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                parts = Path(member.name).parts
                if len(parts) < 2 or ".." in parts:
                    continue
                rel = Path(*parts[1:])  # drop the tarball's top folder ("package/")
                if not _keep(pkg, rel.as_posix()):
                    continue
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                with src, dest.open("wb") as fh:
                    shutil.copyfileobj(src, fh)
                kept += member.size
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), str(target))
    if not quiet:
        print(f"  {pkg.spec}: {kept / 1e6:.1f} MB → {target}")
    return kept


def fetch(cache: Path | None = None, force: bool = False, quiet: bool = False) -> Path:
    """Fetch every package whose files are not all in the cache yet."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    todo = [
        pkg
        for pkg in packages()
        if force or any(not (cache / pkg.spec / rel).is_file() for rel in pkg.required)
    ]
    if not todo:
        if not quiet:
            print(f"offline assets already in {cache}")
        return cache
    if not quiet:
        print(f"fetching {len(todo)} npm package(s) into {cache}")
    for pkg in todo:
        fetch_package(pkg, cache, quiet=quiet)
    gone = missing(cache)
    if gone:
        raise SystemExit(f"error: still missing after fetching: {', '.join(gone)}")
    return cache


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m corridors.app.assets",
        description="Fill Solara's asset cache from the npm registry so the app works offline.",
    )
    parser.add_argument("--check", action="store_true", help="only report what is missing")
    parser.add_argument("--force", action="store_true", help="fetch again even if present")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        gone = missing()
        for item in gone:
            print(f"missing: {cache_dir() / item}")
        if not gone:
            print(f"offline assets complete in {cache_dir()}")
        return 1 if gone else 0
    fetch(force=args.force, quiet=args.quiet)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
