#!/usr/bin/env bash
# Build the platform image (deploy/Dockerfile) where there is a Docker engine but no image
# registry: only Debian's mirror and PyPI are reached, and `docker build` itself reaches nothing.
#
#     deploy/build-image.sh        # prints the image it built or found: skillforge/platform:<key>
#
# What it makes, each only when its inputs changed (docs/deploy.md, "The platform image"):
# 1. the base image skillforge/platform-base:<hash of its recipe> (and :latest): debootstrap
#    --variant=minbase of Debian bookworm with CPython 3.11 and the Debian packages the platform
#    runs (and promtool), security updates applied, from the mirror the lab image uses (sandbox/images/build.py), then
#    `docker import`;
# 2. var/build/platform-wheels/: wheels of the platform's dependencies (pyproject.toml's
#    [project] dependencies, not the dev extras) at the versions this checkout's .venv has, so
#    the image runs what the tests ran; the image installs them with pip --no-index;
# 3. var/build/staticfiles/: collectstatic (hashed and compressed for whitenoise), made here with
#    the same versions of Django and its apps, while 1 runs;
# 4. `docker build --network none -f deploy/Dockerfile --build-arg BASE_IMAGE=...`, whose context
#    is what deploy/Dockerfile.dockerignore allows (read here: the legacy builder, the only one
#    without buildx, ignores that file).
# The image is tagged skillforge/platform:<key> and :latest. <key> hashes everything the build
# reads (this script, the Dockerfile, the code, the labs, the pinned versions, the lab image's
# digest, the base's recipe): when an image with that key exists, the script returns at once.
#
# Needs root (debootstrap, chroot) and ./sf setup done (.venv, var/images/skillforge_lab-python).
# Environment: SKILLFORGE_IMAGE (default skillforge/platform), SKILLFORGE_MIRROR (a Debian mirror;
# default: the one apt uses here), SKILLFORGE_SECURITY_MIRROR (default: MIRROR-security).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
IMAGE=${SKILLFORGE_IMAGE:-skillforge/platform}
BUILD=var/build
LAB=var/images/skillforge_lab-python
WHEELS=$BUILD/platform-wheels
STATIC=$BUILD/staticfiles
IGNORE=deploy/Dockerfile.dockerignore

say() { printf '==> %s\n' "$*" >&2; }
die() { echo "build-image: $*" >&2; exit 1; }
hash16() { sha256sum | cut -c1-16; }

[ -x "$PY" ] || die "no $PY: run ./sf setup first"
[ -f "$LAB/digest" ] || die "the lab image is not built ($LAB): run ./sf setup first"
timeout 10 docker info >/dev/null 2>&1 || die "no Docker engine answers"
mkdir -p "$BUILD"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT

# --- the base image's recipe --------------------------------------------------------------
# python3-venv: the platform's environment is a venv (Debian's Python refuses pip installs into
# /usr). bubblewrap: the sandbox of workers without an engine. Pango and DejaVu: WeasyPrint's
# certificates. ca-certificates: outbound TLS (LTI). Plus promtool, from Debian's prometheus
# package (the monitoring lab's host inspector): see build_base.
BASE_PACKAGES=python3,python3-venv,bubblewrap,libpango-1.0-0,libpangoft2-1.0-0,fonts-dejavu-core,ca-certificates

build_base() {  # build_base TAG KEY: debootstrap minbase + BASE_PACKAGES, trimmed, docker import
  local root=$BUILD/platform-base.rootfs mirror
  mirror=${SKILLFORGE_MIRROR:-$("$PY" -c 'from sandbox.images.build import default_mirror; print(default_mirror())')}
  rm -rf "$root"
  say "base image: debootstrap bookworm minbase + $BASE_PACKAGES from $mirror"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$root" "$mirror" >/dev/null
  # Security updates (debootstrap installs the release as it was). Then, of Debian's prometheus
  # package only promtool is used: installing the package would bring its web UI's JavaScript
  # (250 MB unpacked). Take the one binary from the package instead.
  echo "deb ${SKILLFORGE_SECURITY_MIRROR:-${mirror%/debian}/debian-security} bookworm-security main" \
    >"$root/etc/apt/sources.list.d/security.list"
  chroot "$root" sh -ec '
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get upgrade -y -qq >/dev/null
    cd /tmp && apt-get download -qq prometheus
    dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool >/usr/local/bin/promtool
    chmod 755 /usr/local/bin/promtool && rm prometheus_*.deb && promtool --version >/dev/null'
  # What a running platform never reads: apt's downloads and lists, manuals, documentation
  # (each package's copyright file stays), translations of programs' messages; and this host's
  # resolv.conf and hostname, which debootstrap copied in (an engine provides its own).
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/man \
    "$root"/usr/share/info "$root"/var/log/*.log "$root"/var/cache/debconf/*-old \
    "$root"/etc/resolv.conf "$root"/etc/hostname
  find "$root"/usr/share/doc -type f ! -name copyright -delete
  find "$root"/usr/share/doc -depth -type d -empty -delete
  find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
  tar -C "$root" --numeric-owner -c . \
    | docker import --change "LABEL skillforge.base-recipe=$2" --change 'CMD ["/bin/bash"]' - "$1" >/dev/null
  rm -rf "$root"
}

build_wheels() {  # build_wheels KEY: var/build/platform-wheels/ for requirements.txt, constraints.txt
  rm -rf "$WHEELS" && mkdir -p "$WHEELS"
  "$PY" -m pip wheel -q --disable-pip-version-check --wheel-dir "$WHEELS" \
    -r "$tmp/requirements.txt" -c "$tmp/constraints.txt"
  cp "$tmp/requirements.txt" "$WHEELS/requirements.txt"
  echo "$1" >"$WHEELS/.partial"
}

more_wheels() {  # more_wheels VERSION: add what only the image's CPython VERSION needs
  # pip resolves for the Python it runs on; the image's may be an older 3.11.x (bookworm's
  # 3.11.2), where a dependency needs more (python_full_version markers: redis needs
  # async-timeout before 3.11.3). Add those until nothing is missing.
  for _ in 1 2 3; do
    "$PY" - "$WHEELS" "$1" >"$tmp/more.txt" <<'EOF'
import sys
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

wheels, version = Path(sys.argv[1]), sys.argv[2]
here = {**default_environment(), "extra": ""}
there = {**here, "python_full_version": version, "implementation_version": version}
have = {parse_wheel_filename(w.name)[0] for w in wheels.glob("*.whl")}
for wheel in sorted(wheels.glob("*.whl")):
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        for line in z.read(meta).decode().splitlines():
            if line.startswith("Requires-Dist:"):
                req = Requirement(line.partition(":")[2])
                if (canonicalize_name(req.name) not in have and req.marker
                        and req.marker.evaluate(there) and not req.marker.evaluate(here)):
                    print(f"{req.name}{req.specifier}")
EOF
    [ -s "$tmp/more.txt" ] || return 0
    say "wheels: for the image's Python $1 also $(tr '\n' ' ' <"$tmp/more.txt")"
    "$PY" -m pip wheel -q --disable-pip-version-check --wheel-dir "$WHEELS" -r "$tmp/more.txt" -c "$tmp/constraints.txt"
    cat "$tmp/more.txt" >>"$WHEELS/requirements.txt"
  done
}

build_static() {  # build_static KEY: collectstatic into var/build/staticfiles/, as the image would
  rm -rf "$STATIC" "$STATIC.partial"
  # Production settings (the manifest storage hashes and compresses); nothing from this shell's
  # environment. These values never reach a running container.
  env -i PATH="$PATH" HOME="$tmp" DEBUG=0 ALLOWED_HOSTS=build SKILLFORGE_KEY_DIR="$tmp/keys" \
    SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnop STATIC_ROOT="$PWD/$STATIC.partial" \
    "$PY" manage.py collectstatic --noinput -v0
  echo "$1" >"$STATIC.partial/.key"
  mv "$STATIC.partial" "$STATIC"
}

# --- keys -----------------------------------------------------------------------------------
# The context: the paths Dockerfile.dockerignore re-includes (!path), less what it excludes
# (its **/name patterns match at any depth, as tar's --exclude does).
mapfile -t CONTEXT < <(sed -n 's#^!\(.*\)#\1#p' "$IGNORE" | sed 's#/$##')
mapfile -t EXCLUDE < <(grep -v -e '^[!#]' -e '^\*\*$' -e '^[[:space:]]*$' "$IGNORE" | sed -e 's#^\*\*/##' -e 's#^#--exclude=#')
sources=()  # the context less what is built: the lab image (its digest stands for it), wheels, static files
for path in "${CONTEXT[@]}"; do
  case "$path" in "$LAB"|"$WHEELS"|"$STATIC") ;; *) sources+=("$path") ;; esac
done
snapshot() { tar -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner "${EXCLUDE[@]}" "$@"; }

"$PY" -m pip list --format=freeze --exclude-editable 2>/dev/null | grep -E '^[A-Za-z0-9_.-]+==' >"$tmp/constraints.txt"
"$PY" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
  >"$tmp/requirements.txt"

base_key=$( { echo "$BASE_PACKAGES"; declare -f build_base; } | hash16)
BASE_IMAGE=${IMAGE}-base:$base_key
wheels_key=$( { cat "$tmp/requirements.txt" "$tmp/constraints.txt"; echo "$BASE_IMAGE"; declare -f build_wheels more_wheels; } | hash16)
static_key=$( { snapshot $(find platform -name node_modules -prune -o -type d -name static -print -prune) platform/skillforge/settings.py;
                cat "$tmp/constraints.txt"; declare -f build_static; } | hash16)
key=$( { snapshot deploy/Dockerfile "$IGNORE" deploy/build-image.sh "${sources[@]}"; cat "$LAB/digest";
         echo "$BASE_IMAGE $wheels_key $static_key"; } | hash16)
TAG=$IMAGE:$key
if docker image inspect "$TAG" >/dev/null 2>&1; then
  docker tag "$TAG" "$IMAGE:latest"
  say "$TAG is up to date"
  echo "$TAG"
  exit 0
fi

# --- build what is missing: wheels and static files while the base is made --------------------
started=$SECONDS
jobs_=()
if [ "$(cat "$WHEELS/.key" 2>/dev/null)" != "$wheels_key" ]; then
  say "wheels of the platform's dependencies into $WHEELS"
  build_wheels "$wheels_key" & jobs_+=($!)
fi
if [ "$(cat "$STATIC/.key" 2>/dev/null)" != "$static_key" ]; then
  say "collectstatic into $STATIC"
  build_static "$static_key" & jobs_+=($!)
fi
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  build_base "$BASE_IMAGE" "$base_key"
  say "base image $BASE_IMAGE built ($((SECONDS - started)) s)"
fi
docker tag "$BASE_IMAGE" "${IMAGE}-base:latest"
for job in "${jobs_[@]}"; do wait "$job"; done
if [ -f "$WHEELS/.partial" ]; then
  more_wheels "$(docker run --rm --network none "$BASE_IMAGE" python3 -c 'import platform; print(platform.python_version())')"
  mv "$WHEELS/.partial" "$WHEELS/.key"
fi
say "wheels ($(du -sh "$WHEELS" | cut -f1)) and static files ready ($((SECONDS - started)) s)"

build_started=$SECONDS
say "docker build $TAG"
tar -c "${EXCLUDE[@]}" deploy/Dockerfile "${CONTEXT[@]}" \
  | docker build --network none --force-rm -f deploy/Dockerfile --build-arg "BASE_IMAGE=$BASE_IMAGE" \
      --label "skillforge.content=$key" -t "$TAG" -t "$IMAGE:latest" - >&2
# Older builds of this script lose their key tags (:<16 hex digits>, not other tags such as a
# release's); layers that something still uses stay.
for old in $(docker images "$IMAGE" --filter label=skillforge.content --format '{{.Repository}}:{{.Tag}}'); do
  if [[ $old =~ :[0-9a-f]{16}$ && $old != "$TAG" ]]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
done
size=$(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1 / 1e6}')
say "$TAG built: docker build $((SECONDS - build_started)) s, all $((SECONDS - started)) s, $size"
echo "$TAG"
