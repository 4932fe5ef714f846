#!/usr/bin/env bash
# What registering the plugin costs a running Tauri app, against the same app without it,
# measured in one run on this machine (make bench-overhead):
#   - time from `main` to the first page's load (its script calls the app's `ready`
#     command), of it the page's own time from its navigation start to its load event,
#     and the main thread's time until the app's own `setup` hook runs (the plugins'
#     setup is on it): the medians of OVERHEAD_LAUNCHES (default 15) launches of the bare
#     app and of the plugin's, in turns;
#   - CPU of the app's process tree (the app and WebKit's processes) over
#     OVERHEAD_MINUTES (default 5) of idling, as % of one core;
#   - resident memory of the app's process and of its tree at the end.
# Configurations: the bare app; the plugin with its default config; with the production
# profile (TELEMETRY_CONFIG=crates/engine/src/config/profiles/production.json); with the
# default config and the panel window open. Each runs alone, under its own Xvfb display.
# And `engine`: the engine alone, without Tauri or WebKit, against the same tokio program
# without it (crates/engine/examples/idle.rs): the time until the engine has started, the
# median of OVERHEAD_LAUNCHES launches; then the bare program and the engine at the
# default config and at the production profile side by side, over the same minutes.
#
#   OVERHEAD_MINUTES=5 scripts/overhead.sh      # prints Markdown tables
#   OVERHEAD_MINUTES=0 scripts/overhead.sh      # the startup rows only
#   OVERHEAD_CONFIGS="default panel" ...        # only these of: default production panel engine
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
minutes=${OVERHEAD_MINUTES:-5}
read -r -a configs <<<"${OVERHEAD_CONFIGS:-default production panel engine}"
# The app configurations asked for, and whether the engine alone is.
apps=()
engine=false
for name in "${configs[@]}"; do
  case $name in
    default | production | panel) apps+=("$name") ;;
    engine) engine=true ;;
    *) echo "OVERHEAD_CONFIGS: unknown configuration $name (default, production, panel, engine)" >&2; exit 2 ;;
  esac
done
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
# Both register a plugin before and one after the measured one (none in the bare app):
# Tauri runs plugins' setup in the order they were registered, on the main thread, so
# the two marks time the plugin's setup alone.
write_main() {
  local file=$1 register=$2 panel=$3
  cat > "$file" <<EOF
use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

fn since_start() -> u128 {
    START.get().map_or(0, |s| s.elapsed().as_micros())
}

/// \`page\`: the page's own time from its navigation start to its load event, in ms.
#[tauri::command]
fn ready(page: f64) {
    println!("ready {} {}", since_start(), (page * 1000.0) as u64);
}

fn mark<R: tauri::Runtime>(name: &'static str) -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new(name)
        .setup(move |_, _| {
            println!("{name} {}", since_start());
            Ok(())
        })
        .build()
}

fn main() {
    START.get_or_init(Instant::now);
    tauri::Builder::default()
        .plugin(mark("mark-before"))
        $register
        .plugin(mark("mark-after"))
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
page='<!doctype html><title>app</title><p>app</p><script>addEventListener("load", () => window.__TAURI_INTERNALS__.invoke("ready", { page: performance.now() }))</script>'

if [ ${#apps[@]} -gt 0 ]; then
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
fi
if $engine; then
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p telemetry-engine --example idle
fi

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
declare -A ready page setup own cpu cpu_app rss_app rss_tree

# Starts an Xvfb display of its own, on a number no other server holds; sets `display`
# and `display_pid` (in this shell, not a subshell, so that `cleanup` stops it too).
start_display() {
  display=$((100 + RANDOM % 800))
  while [ -e "/tmp/.X$display-lock" ]; do display=$((100 + RANDOM % 800)); done
  # -noreset: a server resets when its last client leaves, and a launch that connects
  # during the reset fails to open the display.
  Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 &
  display_pid=$!
  pids+=("$display_pid")
  for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
  [ -e "/tmp/.X11-unix/X$display" ] || { echo "Xvfb :$display did not start" >&2; exit 1; }
}

# launch NAME DISPLAY BINARY [VAR=VALUE...] [-- ARG...]: starts the program with a home
# of its own and waits for its `ready` line (an app's: its page's load); sets `pid` and
# `log`.
launch() {
  local name=$1 display=$2 binary=$3
  shift 3
  local vars=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do vars+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  local home=$work/home-$name
  mkdir -p "$home"
  log=$work/$name.log
  : >"$log"
  env DISPLAY=":$display" HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" \
    XDG_CACHE_HOME="$home/cache" "${vars[@]}" "$CARGO_TARGET_DIR/release/$binary" "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1200); do grep -q '^ready ' "$log" && break; sleep 0.05; done
  grep -q '^ready ' "$log" || { echo "$name: not ready within 60 s:" >&2; cat "$log" >&2; exit 1; }
}

# A TCP port free on the loopback now: each engine process's Prometheus exporter gets its
# own (the default config and the production profile both ask for 9090).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
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
  local display display_pid n=${OVERHEAD_LAUNCHES:-15} i name
  start_display
  : >"$work/setup-bare" && : >"$work/setup-plugin" && : >"$work/ready-bare" && : >"$work/ready-plugin"
  : >"$work/own-bare" && : >"$work/own-plugin" && : >"$work/page-bare" && : >"$work/page-plugin"
  for i in $(seq "$n"); do
    for name in bare plugin; do
      launch "startup-$name" "$display" "overhead-$name"
      awk '/^setup / { print $2; exit }' "$log" >>"$work/setup-$name"
      awk '/^ready / { print $2; exit }' "$log" >>"$work/ready-$name"
      awk '/^ready / { print $3; exit }' "$log" >>"$work/page-$name"
      awk '/^mark-before / { before = $2 } /^mark-after / { print $2 - before; exit }' "$log" >>"$work/own-$name"
      stop "$pid"
    done
  done
  stop "$display_pid"
  setup[bare]=$(median <"$work/setup-bare")
  ready[bare]=$(median <"$work/ready-bare")
  setup[default]=$(median <"$work/setup-plugin")
  own[bare]=$(median <"$work/own-bare")
  own[default]=$(median <"$work/own-plugin")
  ready[default]=$(median <"$work/ready-plugin")
  page[bare]=$(median <"$work/page-bare")
  page[default]=$(median <"$work/page-plugin")
}

# Idle: each configuration alone under its own display, OVERHEAD_MINUTES after 15 s
# to settle (the first collections, the panel's first draws).
# Clock ticks over the idle minutes as % of one core.
percent() {
  awk -v t="$1" -v hz="$hz" -v s=$((minutes * 60)) 'BEGIN { printf "%.2f", 100 * t / hz / s }'
}
run() {
  local name=$1 binary=$2 display display_pid before after before_app after_app
  shift 2
  start_display
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
  stop "$display_pid"
}

production=$repo/crates/engine/src/config/profiles/production.json
if [ ${#apps[@]} -gt 0 ]; then
  startup
  if [ "$minutes" -gt 0 ]; then
    run bare overhead-bare
    for name in "${apps[@]}"; do
      case $name in
        default) run default overhead-plugin ;;
        production) run production overhead-plugin TELEMETRY_CONFIG="$production" ;;
        panel) run panel overhead-plugin OVERHEAD_PANEL=1 ;;
      esac
    done
  fi
fi

# The engine alone: its start, the median of OVERHEAD_LAUNCHES launches (one process at
# a time); then the bare program and the engine at both configurations side by side.
declare -A engine_ready engine_cpu engine_rss
engine_runs() {
  local n=${OVERHEAD_LAUNCHES:-15} i name
  : >"$work/engine-ready-bare" && : >"$work/engine-ready-default"
  for i in $(seq "$n"); do
    launch engine-startup none examples/idle -- bare
    awk '/^ready / { print $2; exit }' "$log" >>"$work/engine-ready-bare"
    stop "$pid"
    launch engine-startup none examples/idle PROMETHEUS_PORT="$(free_port)" -- engine
    awk '/^ready / { print $2; exit }' "$log" >>"$work/engine-ready-default"
    stop "$pid"
  done
  engine_ready[bare]=$(median <"$work/engine-ready-bare")
  engine_ready[default]=$(median <"$work/engine-ready-default")
  [ "$minutes" -gt 0 ] || return 0
  declare -A started before
  launch engine-bare none examples/idle -- bare
  started[bare]=$pid
  launch engine-default none examples/idle PROMETHEUS_PORT="$(free_port)" -- engine
  started[default]=$pid
  launch engine-production none examples/idle PROMETHEUS_PORT="$(free_port)" \
    TELEMETRY_CONFIG="$production" -- engine
  started[production]=$pid
  sleep 15
  for name in bare default production; do before[$name]=$(self_ticks "${started[$name]}"); done
  sleep $((minutes * 60))
  for name in bare default production; do
    engine_cpu[$name]=$(percent $(($(self_ticks "${started[$name]}") - before[$name])))
    engine_rss[$name]=$(rss "${started[$name]}")
    stop "${started[$name]}"
  done
}
if $engine; then engine_runs; fi

ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
percent_of() { printf '%s%%' "$1"; }

# table TITLE PEER COLUMN... : the header of a table whose first column is the peer.
table() {
  local title=$1 line rule="|---|---"
  line="| $title | $2"
  shift 2
  for column in "$@"; do line+=" | $column"; rule+="|---"; done
  printf '\n%s |\n%s|\n' "$line" "$rule"
}
# row LABEL UNIT VALUES NAME... : the peer's value, then each NAME's with what it adds.
row() {
  local label=$1 unit=$2 name
  local -n values=$3
  shift 3
  local line="| $label | $($unit "${values[bare]}")"
  for name in "$@"; do
    line+=" | $($unit "${values[$name]}") ($($unit $((values[$name] - values[bare]))) added)"
  done
  echo "$line |"
}
# percent_row LABEL VALUES NAME...
percent_row() {
  local label=$1 name
  local -n values=$2
  shift 2
  local line="| $label | ${values[bare]}%"
  for name in "$@"; do line+=" | ${values[$name]}%"; done
  echo "$line |"
}

declare -A titles=([default]="+ plugin, default config" [production]="+ plugin, production profile" [panel]="+ plugin, panel open")
if [ ${#apps[@]} -gt 0 ]; then
  columns=()
  for name in "${apps[@]}"; do columns+=("${titles[$name]}"); done
  table "Measure (${minutes} min idle)" "bare Tauri app" "${columns[@]}"
  blanks=""
  for _ in "${apps[@]:1}"; do blanks+=" | "; done
  launches="median of ${OVERHEAD_LAUNCHES:-15} launches each, default config"
  echo "| Main thread until the app's setup ($launches) | $(ms "${setup[bare]}") | $(ms $((setup[default] - setup[bare]))) added$blanks |"
  echo "| Main thread in the plugin's setup, between the plugins registered before and after it ($launches) | $(ms "${own[bare]}") (nothing between) | $(ms "${own[default]}")$blanks |"
  echo "| First page loaded ($launches) | $(ms "${ready[bare]}") | $(ms $((ready[default] - ready[bare]))) added$blanks |"
  echo "| of which in the page, from its navigation start to its load event (the page's clock, in WebKit's 1 ms steps; the plugin's init script runs here) | $(ms "${page[bare]}") | $(ms $((page[default] - page[bare]))) added$blanks |"
  if [ "$minutes" -gt 0 ]; then
    percent_row "CPU of the process tree, % of one core" cpu "${apps[@]}"
    percent_row "of which the app's own process" cpu_app "${apps[@]}"
    row "RSS of the app process" mib rss_app "${apps[@]}"
    row "RSS of the process tree" mib rss_tree "${apps[@]}"
  fi
fi
if $engine; then
  table "The engine alone (${minutes} min idle)" "bare tokio program" \
    "+ engine, default config" "+ engine, production profile"
  echo "| From \`main\` to ready (the runtime built; with the engine: \`new\`, then \`initialize\` until \`started\`), median of ${OVERHEAD_LAUNCHES:-15} launches each | $(ms "${engine_ready[bare]}") | $(ms $((engine_ready[default] - engine_ready[bare]))) added | |"
  if [ "$minutes" -gt 0 ]; then
    percent_row "CPU, % of one core" engine_cpu default production
    row "RSS" mib engine_rss default production
  fi
fi
