#!/usr/bin/env bash
# The single sign-on tests run a real OpenID provider: the npm package oidc-provider, on Node.js.
# Install Node.js (apt) and the package (npm ci, from package-lock.json) when absent.
set -euo pipefail
cd "$(dirname "$0")/../tests/oidc"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "Installing Node.js and npm (apt)..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -d node_modules/oidc-provider ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing the test OpenID provider (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
