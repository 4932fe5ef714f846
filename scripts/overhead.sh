#!/usr/bin/env bash
# What registering the plugin costs a running Tauri app, against the same app without it,
# measured in one run on this machine (make bench-overhead):
#   - time from `main` to the first page's load (its script calls the app's `ready`
#     command), and the main thread's time until the app's own `setup` hook runs (the
#     plugins' setup is on it): the medians of OVERHEAD_LAUNCHES (default 15) launches of
#     the bare app and of the plugin's, in turns;
#   - CPU of the app's process tree (the app and WebKit's processes) over
#     OVERHEAD_MINUTES (default 5) of idling, as % of one core;
#   - resident memory of the app's process and of its tree at the end.
# Configurations: the bare app; the plugin with its default config; with the production
# profile (TELEMETRY_CONFIG=crates/engine/src/config/profiles/production.json); with the
# default config and the panel window open. Each runs alone, under its own Xvfb display.
#
#   OVERHEAD_MINUTES=5 scripts/overhead.sh      # prints a Markdown table
#   OVERHEAD_MINUTES=0 scripts/overhead.sh      # the startup rows only
#   OVERHEAD_CONFIGS="default panel" ...        # only these of: default production panel
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
minutes=${OVERHEAD_MINUTES:-5}
read -r -a configs <<<"${OVERHEAD_CONFIGS:-default production panel}"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export CARGO_TARGET_DIR="${SIZE_TARGET_DIR:-$repo/target/size}"

# shellcheck source=scripts/tauri-app.sh
. "$repo/scripts/tauri-app.sh"

# The two apps: the same code, the second registering the plugin (default features).
write_main() {
  local file=$1 register=$2 panel=$3
  cat > "$file" <<EOF
use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

fn since_start() -> u128 {
    START.get().map_or(0, |s| s.elapsed().as_micros())
}

#[tauri::command]
fn ready() {
    println!("ready {}", since_start());
}

fn main() {
    START.get_or_init(Instant::now);
    tauri::Builder::default()
        $register
        .invoke_handler(tauri::generate_handler![ready])
        .setup(|_app| {
            println!("setup {}", since_start());
            $panel
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the app runs");
}
EOF
}
page='<!doctype html><title>app</title><p>app</p><script>addEventListener("load", () => window.__TAURI_INTERNALS__.invoke("ready"))</script>'

make_app "$work/bare" overhead-bare ""
write_main "$work/bare/src/main.rs" "" ""
echo "$page" > "$work/bare/app/index.html"
make_app "$work/plugin" overhead-plugin "tauri-plugin-opentelemetry = { path = \"$repo\" }"
write_main "$work/plugin/src/main.rs" ".plugin(tauri_plugin_opentelemetry::init())" \
  'if std::env::var_os("OVERHEAD_PANEL").is_some() { use tauri_plugin_opentelemetry::TelemetryPanelExt as _; _app.telemetry_panel().open()?; }'
echo "$page" > "$work/plugin/app/index.html"
for app in bare plugin; do
  (cd "$work/$app" && cargo build --release --quiet)
done

# The pids of a process and all its descendants.
tree() {
  echo "$1"
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$child"; done
}
# utime + stime of one process, in clock ticks.
self_ticks() {
  local rest
  rest=$(sed 's/^.*) //' /proc/"$1"/stat)
  set -- $rest
  echo $((${12} + ${13}))
}
# utime + stime of a process tree, in clock ticks.
ticks() {
  local total=0 pid rest
  for pid in $(tree "$1"); do
    rest=$(sed 's/^.*) //' /proc/"$pid"/stat 2>/dev/null) || continue
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
# Resident memory in KiB: of the process alone, and of its tree.
rss() {
  awk '/^VmRSS/ { print $2 }' /proc/"$1"/status
}
tree_rss() {
  local total=0 pid kib
  for pid in $(tree "$1"); do
    kib=$(awk '/^VmRSS/ { print $2 }' /proc/"$pid"/status 2>/dev/null || echo 0)
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}

hz=$(getconf CLK_TCK)
declare -A ready setup cpu cpu_app rss_app rss_tree

# Starts an Xvfb display of its own; prints its number.
start_display() {
  local display=$((100 + RANDOM % 800))
  Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
  echo "$display"
}

# launch NAME DISPLAY BINARY [VAR=VALUE...]: starts the app with a home of its own and
# waits for its page's load; sets `pid` and `log`.
launch() {
  local name=$1 display=$2 binary=$3
  shift 3
  local home=$work/home-$name
  mkdir -p "$home"
  log=$work/$name.log
  env DISPLAY=":$display" HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" \
    XDG_CACHE_HOME="$home/cache" "$@" "$CARGO_TARGET_DIR/release/$binary" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1200); do grep -q '^ready ' "$log" && break; sleep 0.05; done
  grep -q '^ready ' "$log" || { echo "$name: no page load within 60 s:" >&2; cat "$log" >&2; exit 1; }
}

stop() {
  kill "$1"
  wait "$1" 2>/dev/null || true
}

# The median of the numbers on stdin.
median() {
  sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# Startup: OVERHEAD_LAUNCHES (default 15) launches of each app, taken in turns on one
# display, so that a slow spell of the machine falls on both; the medians.
startup() {
  local display n=${OVERHEAD_LAUNCHES:-15} i name
  display=$(start_display)
  : >"$work/setup-bare" && : >"$work/setup-plugin" && : >"$work/ready-bare" && : >"$work/ready-plugin"
  for i in $(seq "$n"); do
    for name in bare plugin; do
      launch "startup-$name" "$display" "overhead-$name"
      awk '/^setup / { print $2; exit }' "$log" >>"$work/setup-$name"
      awk '/^ready / { print $2; exit }' "$log" >>"$work/ready-$name"
      stop "$pid"
    done
  done
  setup[bare]=$(median <"$work/setup-bare")
  ready[bare]=$(median <"$work/ready-bare")
  setup[default]=$(median <"$work/setup-plugin")
  ready[default]=$(median <"$work/ready-plugin")
}

# Idle: each configuration alone under its own display, OVERHEAD_MINUTES after 15 s
# to settle (the first collections, the panel's first draws).
# Clock ticks over the idle minutes as % of one core.
percent() {
  awk -v t="$1" -v hz="$hz" -v s=$((minutes * 60)) 'BEGIN { printf "%.2f", 100 * t / hz / s }'
}
run() {
  local name=$1 binary=$2 display before after before_app after_app
  shift 2
  display=$(start_display)
  launch "$name" "$display" "$binary" "$@"
  sleep 15
  before=$(ticks "$pid")
  before_app=$(self_ticks "$pid")
  sleep $((minutes * 60))
  after=$(ticks "$pid")
  after_app=$(self_ticks "$pid")
  cpu[$name]=$(percent $((after - before)))
  cpu_app[$name]=$(percent $((after_app - before_app)))
  rss_app[$name]=$(rss "$pid")
  rss_tree[$name]=$(tree_rss "$pid")
  stop "$pid"
}

startup
if [ "$minutes" -gt 0 ]; then
  run bare overhead-bare
  for name in "${configs[@]}"; do
    case $name in
      default) run default overhead-plugin ;;
      production) run production overhead-plugin TELEMETRY_CONFIG="$repo/crates/engine/src/config/profiles/production.json" ;;
      panel) run panel overhead-plugin OVERHEAD_PANEL=1 ;;
      *) echo "OVERHEAD_CONFIGS: unknown configuration $name (default, production, panel)" >&2; exit 2 ;;
    esac
  done
fi

ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
declare -A titles=([default]="+ plugin, default config" [production]="+ plugin, production profile" [panel]="+ plugin, panel open")
header="| Measure (${minutes} min idle) | bare Tauri app"
rule="|---|---"
for name in "${configs[@]}"; do header+=" | ${titles[$name]}"; rule+="|---"; done
echo "$header |"
echo "$rule|"
row() {
  local label=$1 unit=$2
  shift 2
  local -n values=$1
  local line="| $label | $($unit "${values[bare]}")"
  for name in "${configs[@]}"; do
    line+=" | $($unit "${values[$name]}") ($($unit $((values[$name] - values[bare]))) added)"
  done
  echo "$line |"
}
percent_row() {
  local label=$1
  local -n values=$2
  local line="| $label | ${values[bare]}%"
  for name in "${configs[@]}"; do line+=" | ${values[$name]}%"; done
  echo "$line |"
}
startup_row() {
  local label=$1 unit=$2
  local -n values=$3
  local line
  line="| $label (median of ${OVERHEAD_LAUNCHES:-15} launches each, default config) | $($unit "${values[bare]}") | $($unit $((values[default] - values[bare]))) added"
  for _ in "${configs[@]:1}"; do line+=" | "; done
  echo "$line |"
}
startup_row "Main thread until the app's setup" ms setup
startup_row "First page loaded" ms ready
[ "$minutes" -gt 0 ] || exit 0
percent_row "CPU of the process tree, % of one core" cpu
percent_row "of which the app's own process" cpu_app
row "RSS of the app process" mib rss_app
row "RSS of the process tree" mib rss_tree
