#!/usr/bin/env bash
# Copies the pinned third-party browser code (package.json + package-lock.json) from the npm
# registry into web/vendor/, which is committed: building and running the app never needs
# npm. Run it after changing a version, then commit web/vendor/.
set -euo pipefail
cd "$(dirname "$0")"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp package.json package-lock.json "$WORK/"
(cd "$WORK" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
M="$WORK/node_modules"
version() { node -p "require('$M/$1/package.json').version"; }

rm -rf vendor && mkdir vendor
# Source-map comments would send browsers after files we do not ship.
copy() { grep -v '^//# sourceMappingURL=' "$M/$1" >"vendor/$2"; }
copy preact/dist/preact.module.js preact.module.js
copy preact/hooks/dist/hooks.module.js preact-hooks.module.js
copy htm/dist/htm.module.js htm.module.js
cp "$M/preact/LICENSE" vendor/LICENSE-preact.txt
cp "$M/htm/LICENSE" vendor/LICENSE-htm.txt
cat >vendor/VERSIONS.txt <<TXT
Copied by web/vendor.sh from the npm registry (versions pinned in web/package-lock.json).
preact $(version preact) (MIT, LICENSE-preact.txt): preact.module.js, preact-hooks.module.js
htm $(version htm) (Apache-2.0, LICENSE-htm.txt): htm.module.js
TXT
ls -l vendor
