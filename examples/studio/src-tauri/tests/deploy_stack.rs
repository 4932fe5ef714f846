//! The external monitoring stack in `deploy/`, checked against the real studio.
//!
//! - promtool checks `deploy/prometheus/prometheus.yml` and every rule file it loads.
//! - The studio runs headless with an incident every 20 s and a bearer token; a real
//!   Prometheus (Debian's) scrapes it with the deploy config (its commented `authorization`
//!   example switched on) and loads the deploy alert rules. Every PromQL expression of every
//!   Grafana dashboard panel, and the left-hand side of every alert rule (the expression
//!   without its comparison, which is empty whenever the alert is not firing), must return
//!   data through `/api/v1/query`.
//! - The dashboards carry what Grafana's provisioning needs; the datasources, dashboard
//!   provider, Alertmanager routes, collector pipelines, Filebeat input and compose services
//!   name each other consistently.
//! - The studio config for the container route parses, binds all interfaces, serves
//!   `/metrics` there but not the query API, and writes the ECS log lines Filebeat reads.
//!
//! The OpenTelemetry Collector itself is not run: it is not packaged for Debian and cannot be
//! downloaded here, so `otelcol validate` has NOT been run on `deploy/otel-collector/config.yaml`;
//! this file only parses it and checks its references.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use tauri_plugin_opentelemetry::engine::alerts::Condition;
use tauri_plugin_opentelemetry::engine::config::{LogsExporter, MetricsExporter, TracingExporter};
use tauri_plugin_opentelemetry::TelemetryConfig;

/// Grafana's built-in variables as the test resolves them: windows short enough that a
/// minute of scraping at 1 s fills them.
const GRAFANA_BUILTINS: [(&str, &str); 3] = [
    ("__rate_interval", "1m"),
    ("__interval", "15s"),
    ("__range", "5m"),
];

/// The datasource uids `datasources.yml` provisions, and their types.
const DATASOURCES: [(&str, &str); 3] = [
    ("prometheus", "prometheus"),
    ("jaeger", "jaeger"),
    ("elasticsearch", "elasticsearch"),
];

/// The compose services of the stack.
const SERVICES: [&str; 8] = [
    "prometheus",
    "alertmanager",
    "grafana",
    "jaeger",
    "elasticsearch",
    "kibana",
    "filebeat",
    "otel-collector",
];

// ---------------------------------------------------------------------------------------
// Files

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../deploy")
        .canonicalize()
        .unwrap()
}

fn read(rel: &str) -> String {
    let path = deploy().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(rel: &str) -> Yaml {
    serde_norway::from_str(&read(rel)).unwrap_or_else(|e| panic!("deploy/{rel}: {e}"))
}

/// The keys of a YAML mapping (empty if `v` is not one).
fn keys(v: &Yaml) -> BTreeSet<String> {
    v.as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The strings of a YAML sequence (empty if `v` is not one).
fn strings(v: &Yaml) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every dashboard JSON in `deploy/grafana/dashboards`, by file name.
fn dashboards() -> Vec<(String, Json)> {
    let dir = deploy().join("grafana/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboards in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, json)
        })
        .collect()
}

/// The alert rules of `deploy/prometheus/alert_rules.yml` as `(name, expr, severity)`.
fn alert_rules() -> Vec<(String, String, String)> {
    let rules = yaml("prometheus/alert_rules.yml");
    let mut out = Vec::new();
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            out.push((
                rule["alert"].as_str().unwrap().to_owned(),
                rule["expr"].as_str().unwrap().to_owned(),
                rule["labels"]["severity"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    assert!(!out.is_empty(), "alert_rules.yml has no rules");
    out
}

// ---------------------------------------------------------------------------------------
// PromQL text

/// Replaces Grafana variables (`$name`, `${name}`) with `vars`; panics on one it does not
/// know. `$1`-style regex references (label_replace) are left alone.
fn substitute(expr: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, used) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {expr}"))?;
            (&braced[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            out.push('$');
            rest = after;
            continue;
        }
        let value = vars
            .get(name)
            .ok_or_else(|| format!("unknown variable ${name} in {expr}"))?;
        out.push_str(value);
        rest = &after[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits `expr` at its last top-level comparison: `(left, operator, right)`.
fn split_comparison(expr: &str) -> Option<(&str, &str, &str)> {
    let bytes = expr.as_bytes();
    let (mut depth, mut quote, mut found) = (0i32, None::<u8>, None);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), b'\\') => i += 1,
            (Some(_), _) => {}
            (None, b'"' | b'\'' | b'`') => quote = Some(b),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')' | b']' | b'}') => depth -= 1,
            (None, b'=' | b'!' | b'<' | b'>') if depth == 0 => {
                let two = bytes.get(i + 1) == Some(&b'=');
                if b != b'=' || two {
                    if b == b'!' && !two {
                        i += 1;
                        continue;
                    }
                    let len = if two { 2 } else { 1 };
                    found = Some((i, len));
                    i += len;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let (at, len) = found?;
    Some((
        expr[..at].trim(),
        &expr[at..at + len],
        expr[at + len..].trim(),
    ))
}

// ---------------------------------------------------------------------------------------
// Processes and HTTP

/// The status and body of one HTTP/1.0 request.
fn http(addr: &str, method: &str, target: &str, headers: &str) -> std::io::Result<(u16, String)> {
    let response = support::response(addr, method, target, headers)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Why a query gave no result.
#[derive(Debug)]
enum QueryError {
    /// Prometheus did not answer (yet): worth asking again.
    Unreachable(String),
    /// Prometheus refused the expression: asking again will not help.
    Rejected(String),
}

/// An instant query: the result vector (or scalar, as one element).
fn prom_query(addr: &str, expr: &str) -> Result<Vec<Json>, QueryError> {
    let target = format!("/api/v1/query?query={}", encode(expr));
    let (status, body) =
        http(addr, "GET", &target, "").map_err(|e| QueryError::Unreachable(e.to_string()))?;
    let json: Json = serde_json::from_str(&body)
        .map_err(|_| QueryError::Unreachable(format!("HTTP {status}: {body}")))?;
    if json["status"] != "success" {
        return Err(QueryError::Rejected(format!(
            "{}: {}",
            json["errorType"].as_str().unwrap_or("?"),
            json["error"].as_str().unwrap_or(&body)
        )));
    }
    let data = &json["data"];
    Ok(match data["resultType"].as_str() {
        Some("scalar" | "string") => vec![data["result"].clone()],
        _ => data["result"].as_array().cloned().unwrap_or_default(),
    })
}

/// The first value of an instant query, if there is one.
fn prom_value(addr: &str, expr: &str) -> Option<f64> {
    let result = prom_query(addr, expr).ok()?;
    result.first()?["value"][1].as_str()?.parse().ok()
}

/// Polls `check` every 500 ms until it returns `Some`, or panics after `timeout`.
fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The last lines of a log file, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

// ---------------------------------------------------------------------------------------
// Prometheus: static checks

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(deploy().join("prometheus"))
        .output()
        .expect("promtool (Debian package prometheus; `make setup` installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn every_alert_rule_expression_is_also_an_in_app_condition() {
    let rules = alert_rules();
    assert_eq!(rules.len(), 5);
    for (_, expr, _) in rules {
        Condition::parse(&expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    }
}

#[test]
fn promtool_checks_the_prometheus_config_and_every_rule_file_it_loads() {
    let checked = promtool(&["check", "config", "prometheus.yml"]);
    let config = yaml("prometheus/prometheus.yml");
    let rule_files = strings(&config["rule_files"]);
    assert!(
        checked.contains(&format!("SUCCESS: {} rule files found", rule_files.len())),
        "{checked}"
    );
    // Every rule file beside the config is loaded by it, and passes `check rules`; the
    // promtool unit-test files (with `tests:`) are not rule files.
    for entry in std::fs::read_dir(deploy().join("prometheus")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".yml") || name == "prometheus.yml" {
            continue;
        }
        let doc = yaml(&format!("prometheus/{name}"));
        if doc.get("tests").is_some() {
            let tested = promtool(&["test", "rules", &name]);
            assert!(tested.contains("SUCCESS"), "{tested}");
            continue;
        }
        assert!(
            rule_files.contains(&name),
            "{name} is not in rule_files of prometheus.yml"
        );
        let rules = promtool(&["check", "rules", &name]);
        assert!(rules.contains("SUCCESS"), "{rules}");
    }

    // The studio job scrapes the host, on the port of the container-route studio config.
    let studio_job = config["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|j| j["job_name"] == "studio")
        .expect("a scrape job named studio");
    let targets: Vec<String> = studio_job["static_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["targets"]))
        .collect();
    let port = prometheus_exporter_of_the_container_config().1;
    assert_eq!(targets, [format!("host.docker.internal:{port}")]);
    // A server beyond loopback answers a name only when it is listed (or behind a token).
    let studio = TelemetryConfig::from_json(&read("studio/telemetry.json")).unwrap();
    assert_eq!(studio.allowed_hosts, ["host.docker.internal"]);
    // The commented bearer-token example is there (the live test switches it on).
    assert!(read("prometheus/prometheus.yml").contains(AUTHORIZATION_EXAMPLE));
    // Alerts go to the compose service alertmanager.
    let alertmanagers: Vec<String> = config["alerting"]["alertmanagers"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|a| a["static_configs"].as_sequence().unwrap().iter())
        .flat_map(|s| strings(&s["targets"]))
        .collect();
    assert_eq!(alertmanagers, ["alertmanager:9093"]);
}

/// The commented `authorization` block of prometheus.yml's studio job, as written.
const AUTHORIZATION_EXAMPLE: &str = "    # authorization:\n    #   type: Bearer\n    #   credentials_file: /etc/prometheus/secrets/studio_token\n";

/// The deploy prometheus.yml made runnable here: the token example switched on with
/// `token_file`, the studio job pointed at `studio`, 1 s scrapes and evaluations, the rule
/// files by absolute path, no Alertmanager and no other jobs.
fn test_prometheus_config(studio: &str, token_file: &Path) -> String {
    let text = read("prometheus/prometheus.yml").replace(
        AUTHORIZATION_EXAMPLE,
        &format!(
            "    authorization:\n      type: Bearer\n      credentials_file: {}\n",
            token_file.display()
        ),
    );
    let mut config: Yaml = serde_norway::from_str(&text).unwrap();
    config["global"]["scrape_interval"] = "1s".into();
    config["global"]["evaluation_interval"] = "1s".into();
    let rules: Vec<Yaml> = strings(&config["rule_files"])
        .iter()
        .map(|f| {
            deploy()
                .join("prometheus")
                .join(f)
                .display()
                .to_string()
                .into()
        })
        .collect();
    config["rule_files"] = Yaml::Sequence(rules);
    config.as_mapping_mut().unwrap().remove("alerting");
    let jobs = config["scrape_configs"].as_sequence_mut().unwrap();
    jobs.retain(|j| j["job_name"] == "studio");
    let job = &mut jobs[0];
    assert!(
        job.get("authorization").is_some(),
        "the authorization example was not switched on"
    );
    job["scrape_interval"] = "1s".into();
    job["scrape_timeout"] = "1s".into();
    job["static_configs"][0]["targets"] = Yaml::Sequence(vec![studio.into()]);
    serde_norway::to_string(&config).unwrap()
}

// ---------------------------------------------------------------------------------------
// The live check

#[test]
fn every_dashboard_query_and_alert_rule_has_data_from_the_real_studio() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let token = "deploy-stack-test-token-2f9c41";
    let token_file = dir.path().join("studio_token");
    std::fs::write(&token_file, token).unwrap();

    // The studio: incidents every 20 s (error bursts, slow frames, a render backlog), the
    // token on every data route, and OTLP span and log exporters aimed at a port where
    // nothing listens, so that exports fail and the drop counters the runtime dashboard
    // shows exist (they appear with the first loss).
    let studio_port = support::free_port();
    let dead_otlp = support::free_port();
    let studio_log = dir.path().join("studio.stderr");
    let (_studio, _) = support::start_announcing(
        support::studio()
            .env("PROMETHEUS_PORT", studio_port.to_string())
            .env("TELEMETRY_HTTP_TOKEN", token)
            .env("OTEL_TRACES_EXPORTER", "otlp")
            .env("OTEL_LOGS_EXPORTER", "otlp")
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{dead_otlp}"),
            )
            .args(["--incident-every", "20", "--duration", "600"])
            .stderr(std::fs::File::create(&studio_log).unwrap()),
        "metrics: ",
    );

    let prom_config = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        test_prometheus_config(&format!("127.0.0.1:{studio_port}"), &token_file),
    )
    .unwrap();
    promtool(&["check", "config", prom_config.to_str().unwrap()]);
    let prom_port = support::free_port();
    let prom_log = dir.path().join("prometheus.log");
    let _prometheus = support::Guard(
        Command::new("prometheus")
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&prom_log).unwrap())
            .spawn()
            .expect("the prometheus binary (Debian package prometheus; make setup installs it)"),
    );
    let prom = format!("127.0.0.1:{prom_port}");
    let logs = || {
        format!(
            "\n--- studio stderr:\n{}\n--- prometheus log:\n{}",
            tail(&studio_log),
            tail(&prom_log)
        )
    };

    // Scraped long enough: 30 successful scrapes (through the token) within the last
    // minute, so that rates over the dashboards' 1-minute windows rest on half a window of
    // data, and an incident's backlog has been seen.
    eventually(
        "30 s of scrapes of the studio through an incident",
        Duration::from_secs(150),
        || {
            let scraped = prom_value(&prom, r#"sum_over_time(up{job="studio"}[1m])"#)?;
            let backlog = prom_value(&prom, r#"max_over_time(queue_size{job="studio"}[1m])"#)?;
            (scraped >= 30.0 && backlog > 100.0).then_some(())
        },
    );

    // Every expression: the dashboards' targets with their variables resolved, and the
    // left-hand side of each rule (a rule's full expression is empty while it does not fire).
    let mut exprs: Vec<(String, String)> = Vec::new();
    for (file, dashboard) in dashboards() {
        let vars = dashboard_variables(&dashboard);
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = substitute(target["expr"].as_str().unwrap(), &vars)
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
                let what = format!(
                    "{file} / {} / {}",
                    panel["title"].as_str().unwrap(),
                    target["refId"].as_str().unwrap()
                );
                exprs.push((what, expr));
            }
        }
    }
    let dashboard_exprs = exprs.len();
    let rules = alert_rules();
    for (name, expr, _) in &rules {
        let (left, op, right) = split_comparison(expr)
            .unwrap_or_else(|| panic!("rule {name}: no comparison in {expr}"));
        assert!(
            right.parse::<f64>().is_ok(),
            "rule {name}: `{op} {right}` is not a comparison with a number"
        );
        exprs.push((format!("alert rule {name} (left of {op})"), left.to_owned()));
    }

    // Ask until each has data; an expression Prometheus refuses fails at once.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut pending: Vec<(String, String, String)> = exprs
        .iter()
        .map(|(what, expr)| (what.clone(), expr.clone(), String::new()))
        .collect();
    loop {
        let mut empty = Vec::new();
        for (what, expr, _) in pending {
            match prom_query(&prom, &expr) {
                Ok(result) if !result.is_empty() => {}
                Ok(_) => empty.push((what, expr, "empty result".to_owned())),
                Err(QueryError::Unreachable(e)) => empty.push((what, expr, e)),
                Err(QueryError::Rejected(e)) => panic!("{what}: Prometheus refused {expr}: {e}"),
            }
        }
        pending = empty;
        if pending.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        pending.is_empty(),
        "no data for {} of {} expressions:\n{}{}",
        pending.len(),
        exprs.len(),
        pending
            .iter()
            .map(|(what, expr, why)| format!("  {what}: {expr} ({why})"))
            .collect::<Vec<_>>()
            .join("\n"),
        logs()
    );

    // Prometheus loaded every rule and evaluates each without error.
    let (_, body) = http(&prom, "GET", "/api/v1/rules", "").unwrap();
    let loaded: Json = serde_json::from_str(&body).unwrap();
    let mut seen = BTreeMap::new();
    for group in loaded["data"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            seen.insert(
                rule["name"].as_str().unwrap().to_owned(),
                (rule["health"].clone(), rule["lastError"].clone()),
            );
        }
    }
    for (name, _, _) in &rules {
        let (health, error) = seen
            .get(name)
            .unwrap_or_else(|| panic!("Prometheus did not load rule {name}: {body}"));
        assert_eq!(health, "ok", "rule {name}: {error}");
    }
    eprintln!(
        "deploy stack: {dashboard_exprs} dashboard expressions and {} alert rule expressions \
         returned data; {:.0?} in all",
        rules.len(),
        started.elapsed()
    );
}

/// A dashboard's template variables at their default: the current value, or the
/// `allValue` when "All" is selected; plus Grafana's built-ins.
fn dashboard_variables(dashboard: &Json) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = GRAFANA_BUILTINS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = var["name"].as_str().unwrap().to_owned();
        let current = &var["current"]["value"];
        let current = current
            .as_str()
            .map(str::to_owned)
            .or_else(|| current[0].as_str().map(str::to_owned))
            .unwrap_or_default();
        let value = if current == "$__all" {
            var["allValue"].as_str().unwrap_or(".*").to_owned()
        } else {
            current
        };
        vars.insert(name, value);
    }
    vars
}

// ---------------------------------------------------------------------------------------
// Grafana

#[test]
fn grafana_provisioning_and_every_dashboard_have_what_grafana_needs() {
    // Datasources with the fixed uids the dashboards use, at compose services.
    let compose = yaml("docker-compose.yml");
    let services = keys(&compose["services"]);
    let sources = yaml("grafana/provisioning/datasources/datasources.yml");
    let mut provisioned = BTreeMap::new();
    for source in sources["datasources"].as_sequence().unwrap() {
        let uid = source["uid"].as_str().unwrap().to_owned();
        let kind = source["type"].as_str().unwrap().to_owned();
        let url = source["url"].as_str().unwrap();
        let host = url.trim_start_matches("http://").split(':').next().unwrap();
        assert!(
            services.contains(host),
            "datasource {uid}: {url} is no compose service"
        );
        assert!(
            provisioned.insert(uid.clone(), kind).is_none(),
            "datasource uid {uid} twice"
        );
    }
    for (uid, kind) in DATASOURCES {
        assert_eq!(
            provisioned.get(uid).map(String::as_str),
            Some(kind),
            "datasource {uid}"
        );
    }
    let prometheus = sources["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["uid"] == "prometheus")
        .unwrap();
    assert_eq!(
        prometheus["jsonData"]["timeInterval"],
        yaml("prometheus/prometheus.yml")["global"]["scrape_interval"],
        "Grafana's $__rate_interval assumes the scrape interval"
    );

    // The file provider reads where compose mounts deploy/grafana/dashboards.
    let providers = yaml("grafana/provisioning/dashboards/dashboards.yml");
    let provider = &providers["providers"][0];
    assert_eq!(provider["type"], "file");
    let path = provider["options"]["path"].as_str().unwrap();
    let grafana = &compose["services"]["grafana"];
    assert!(
        strings(&grafana["volumes"]).contains(&format!("./grafana/dashboards:{path}:ro")),
        "compose does not mount grafana/dashboards at {path}"
    );
    assert!(strings(&grafana["volumes"])
        .contains(&"./grafana/provisioning:/etc/grafana/provisioning:ro".to_owned()));
    let home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        .as_str()
        .unwrap();
    let home = home
        .strip_prefix(&format!("{path}/"))
        .expect("the home dashboard is a provisioned one");
    assert!(deploy().join("grafana/dashboards").join(home).is_file());

    // Each dashboard.
    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    for (file, d) in dashboards() {
        let mut problem = |p: String| problems.push(format!("{file}: {p}"));
        match d["uid"].as_str() {
            Some(uid) if !uid.is_empty() && uid.len() <= 40 => {
                if !uids.insert(uid.to_owned()) {
                    problem(format!("uid {uid} is used by another dashboard"));
                }
            }
            _ => problem("no uid (at most 40 characters)".into()),
        }
        if d["title"].as_str().unwrap_or("").is_empty() {
            problem("no title".into());
        }
        if d["schemaVersion"].as_u64().unwrap_or(0) < 36 {
            problem("schemaVersion missing or older than 36".into());
        }
        if d["time"]["from"].as_str().is_none() || d["time"]["to"].as_str().is_none() {
            problem("no time range".into());
        }
        if d["refresh"].as_str().is_none() {
            problem("no refresh".into());
        }
        if d["tags"].as_array().is_none_or(Vec::is_empty) {
            problem("no tags".into());
        }
        let vars = dashboard_variables(&d);
        for var in d["templating"]["list"].as_array().into_iter().flatten() {
            if var["datasource"]["uid"].as_str() != Some("prometheus") {
                problem(format!(
                    "variable {} has no Prometheus datasource",
                    var["name"]
                ));
            }
        }
        let (mut ids, mut titles) = (BTreeSet::new(), BTreeSet::new());
        let mut cells: Vec<(u64, u64, u64, u64, String)> = Vec::new();
        let panels = d["panels"].as_array().cloned().unwrap_or_default();
        if panels.is_empty() {
            problem("no panels".into());
        }
        for panel in &panels {
            let title = panel["title"].as_str().unwrap_or("").to_owned();
            let mut problem = |p: String| problems.push(format!("{file}: panel {title:?}: {p}"));
            if title.is_empty() || !titles.insert(title.clone()) {
                problem("no title, or one another panel has".into());
            }
            if !panel["id"].as_u64().is_some_and(|id| ids.insert(id)) {
                problem("no id, or an id used twice".into());
            }
            if panel["type"].as_str().is_none() {
                problem("no type".into());
            }
            let ds = &panel["datasource"];
            if ds["type"] != "prometheus" || ds["uid"] != "prometheus" {
                problem(format!(
                    "datasource {ds} is not {{type: prometheus, uid: prometheus}}"
                ));
            }
            let g = &panel["gridPos"];
            match (
                g["x"].as_u64(),
                g["y"].as_u64(),
                g["w"].as_u64(),
                g["h"].as_u64(),
            ) {
                (Some(x), Some(y), Some(w), Some(h)) if w > 0 && h > 0 && x + w <= 24 => {
                    for (ox, oy, ow, oh, other) in &cells {
                        if x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h {
                            problem(format!("overlaps panel {other:?}"));
                        }
                    }
                    cells.push((x, y, w, h, title.clone()));
                }
                _ => problem(format!(
                    "gridPos {g} is not {{x, y, w, h}} within 24 columns"
                )),
            }
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problem("no targets".into());
            }
            let mut refs = BTreeSet::new();
            for t in &targets {
                if !t["refId"]
                    .as_str()
                    .is_some_and(|r| refs.insert(r.to_owned()))
                {
                    problem("a target without refId, or a refId used twice".into());
                }
                match t["expr"].as_str() {
                    Some(e) if !e.trim().is_empty() => {
                        if let Err(e) = substitute(e, &vars) {
                            problem(e);
                        }
                    }
                    _ => problem("a target without expr".into()),
                }
                if let Some(uid) = t["datasource"]["uid"].as_str() {
                    if !provisioned.contains_key(uid) {
                        problem(format!("target datasource {uid} is not provisioned"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Alertmanager

#[test]
fn alertmanager_routes_every_rule_severity_and_inhibits_warnings_under_criticals() {
    let config = yaml("alertmanager/alertmanager.yml");
    let receivers: BTreeSet<String> = config["receivers"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap().to_owned();
            for hook in r["webhook_configs"].as_sequence().unwrap() {
                assert!(
                    hook["url"].as_str().unwrap().starts_with("http"),
                    "{name}: {hook:?}"
                );
            }
            name
        })
        .collect();
    let route = &config["route"];
    assert!(receivers.contains(route["receiver"].as_str().unwrap()));
    let mut routed = BTreeSet::new();
    for child in route["routes"].as_sequence().unwrap() {
        assert!(receivers.contains(child["receiver"].as_str().unwrap()));
        for m in strings(&child["matchers"]) {
            if let Some(severity) = m.strip_prefix("severity=") {
                routed.insert(severity.trim_matches('"').to_owned());
            }
        }
    }
    for (name, _, severity) in alert_rules() {
        assert!(
            routed.contains(&severity),
            "rule {name}: no route for severity={severity:?}"
        );
    }
    let inhibits = config["inhibit_rules"].as_sequence().unwrap();
    assert!(inhibits.iter().any(|i| {
        strings(&i["source_matchers"]) == ["severity=\"critical\""]
            && strings(&i["target_matchers"]) == ["severity=\"warning\""]
            && !strings(&i["equal"]).is_empty()
    }));

    // amtool is Debian's prometheus-alertmanager package, which `make setup` does not
    // install: where it is there, it checks the file too.
    match Command::new("amtool")
        .args(["check-config", "alertmanager.yml"])
        .current_dir(deploy().join("alertmanager"))
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "amtool check-config:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("amtool not installed: alertmanager.yml checked structurally only"),
    }
}

// ---------------------------------------------------------------------------------------
// OpenTelemetry Collector (parsed and cross-checked only; never run here)

/// Component types of the collector-contrib distribution that the config may use.
const COLLECTOR_TYPES: [&str; 15] = [
    "otlp",
    "bearertokenauth",
    "tail_sampling",
    "prometheus",
    "prometheusremotewrite",
    "elasticsearch",
    "debug",
    "batch",
    "memory_limiter",
    "resource",
    "attributes",
    "spanmetrics",
    "health_check",
    "zpages",
    "pprof",
];

/// What is wrong with a collector config's components and pipelines: unknown types,
/// undefined or unused components, connectors that do not join two pipelines.
fn collector_problems(config: &Yaml) -> Vec<String> {
    let defined = |section: &str| keys(&config[section]);
    let (receivers, processors, exporters, connectors, extensions) = (
        defined("receivers"),
        defined("processors"),
        defined("exporters"),
        defined("connectors"),
        defined("extensions"),
    );
    let mut problems = Vec::new();
    for id in receivers
        .iter()
        .chain(&processors)
        .chain(&exporters)
        .chain(&connectors)
        .chain(&extensions)
    {
        let kind = id.split('/').next().unwrap();
        if !COLLECTOR_TYPES.contains(&kind) {
            problems.push(format!("component {id}: unknown type {kind}"));
        }
    }
    for ext in strings(&config["service"]["extensions"]) {
        if !extensions.contains(&ext) {
            problems.push(format!("service.extensions: {ext} is not defined"));
        }
    }
    let pipelines = &config["service"]["pipelines"];
    let mut used = BTreeSet::new();
    let mut connector_ends: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut signals = BTreeSet::new();
    for name in keys(pipelines) {
        let signal = name.split('/').next().unwrap().to_owned();
        if !["traces", "metrics", "logs"].contains(&signal.as_str()) {
            problems.push(format!("pipeline {name}: not traces, metrics or logs"));
        }
        signals.insert(signal.clone());
        let p = &pipelines[name.as_str()];
        for (role, list, allowed) in [
            ("receiver", "receivers", [&receivers, &connectors]),
            ("processor", "processors", [&processors, &processors]),
            ("exporter", "exporters", [&exporters, &connectors]),
        ] {
            let ids = strings(&p[list]);
            if ids.is_empty() && role != "processor" {
                problems.push(format!("pipeline {name}: no {list}"));
            }
            for id in ids {
                if !allowed.iter().any(|set| set.contains(&id)) {
                    problems.push(format!("pipeline {name}: {role} {id} is not defined"));
                }
                if connectors.contains(&id) {
                    let ends = connector_ends.entry(id.clone()).or_default();
                    let end = if role == "exporter" {
                        &mut ends.0
                    } else {
                        &mut ends.1
                    };
                    end.push(signal.clone());
                }
                used.insert(id);
            }
        }
    }
    for signal in ["traces", "metrics", "logs"] {
        if !signals.contains(signal) {
            problems.push(format!("no {signal} pipeline"));
        }
    }
    for id in receivers
        .iter()
        .chain(&processors)
        .chain(&exporters)
        .chain(&connectors)
    {
        if !used.contains(id) {
            problems.push(format!("{id} is defined but in no pipeline"));
        }
    }
    for (id, (from, to)) in &connector_ends {
        if from.is_empty() || to.is_empty() {
            problems.push(format!(
                "connector {id} must end one pipeline and start another"
            ));
        }
    }
    if let Some((from, to)) = connector_ends.get("spanmetrics") {
        if from != &["traces"] || to != &["metrics"] {
            problems.push(format!(
                "spanmetrics goes traces → metrics, not {from:?} → {to:?}"
            ));
        }
    }
    problems
}

#[test]
fn collector_pipelines_name_only_components_the_config_defines() {
    let config = yaml("otel-collector/config.yaml");
    let problems = collector_problems(&config);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Endpoints: OTLP in on 0.0.0.0 (4317 gRPC, 4318 HTTP) as compose publishes them; out to
    // the compose services; span metrics where Prometheus scrapes them.
    let otlp = &config["receivers"]["otlp"]["protocols"];
    assert_eq!(otlp["grpc"]["endpoint"], "0.0.0.0:4317");
    assert_eq!(otlp["http"]["endpoint"], "0.0.0.0:4318");
    let compose = yaml("docker-compose.yml");
    let published = container_ports(&compose["services"]["otel-collector"]);
    assert!(
        published.contains(&4317) && published.contains(&4318),
        "{published:?}"
    );
    assert!(container_ports(&compose["services"]["jaeger"]).contains(&4317));
    assert_eq!(
        config["exporters"]["otlp/jaeger"]["endpoint"],
        "jaeger:4317"
    );
    assert_eq!(
        strings(&config["exporters"]["elasticsearch/logs"]["endpoints"]),
        ["http://elasticsearch:9200"]
    );
    let prom_port = config["exporters"]["prometheus"]["endpoint"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        read("prometheus/prometheus.yml").contains(&format!("otel-collector:{prom_port}")),
        "prometheus.yml does not scrape the collector's prometheus exporter"
    );
    // Said plainly where a reader looks.
    assert!(read("otel-collector/config.yaml").contains("has NOT been run"));
}

/// The container ports a compose service publishes.
#[test]
fn the_fleet_gateway_requires_tls_and_a_token_and_the_plugin_config_matches_it() {
    let gateway = yaml("fleet/gateway.yaml");
    let problems = collector_problems(&gateway);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(read("fleet/gateway.yaml").contains("has NOT been run"));
    let services = strings(&gateway["service"]["extensions"]);
    let pipelines = &gateway["service"]["pipelines"];
    assert!(strings(&pipelines["traces"]["processors"]).contains(&"tail_sampling".into()));
    assert!(strings(&pipelines["metrics"]["exporters"]).contains(&"prometheusremotewrite".into()));
    let mut ports = BTreeMap::new();
    for protocol in ["grpc", "http"] {
        let receiver = &gateway["receivers"]["otlp"]["protocols"][protocol];
        let tls = &receiver["tls"];
        assert!(
            tls["cert_file"].as_str().is_some() && tls["key_file"].as_str().is_some(),
            "{protocol}: TLS required"
        );
        let auth = receiver["auth"]["authenticator"].as_str().unwrap();
        assert!(auth.starts_with("bearertokenauth"), "{protocol}: {auth}");
        assert!(services.contains(&auth.to_owned()), "{auth} is not started");
        let endpoint = receiver["endpoint"].as_str().unwrap();
        ports.insert(protocol, endpoint.rsplit(':').next().unwrap().to_owned());
    }

    // The plugin's side: validates, sends every signal over HTTPS to the gateway's
    // OTLP/HTTP port with a bearer token, cumulative metrics, asks for consent.
    let config = TelemetryConfig::from_json(&read("fleet/plugin.json")).unwrap();
    assert_eq!(
        config.consent,
        tauri_plugin_opentelemetry::engine::config::Consent::Ask
    );
    assert_eq!(
        config.metrics.temporality,
        tauri_plugin_opentelemetry::engine::config::Temporality::Cumulative
    );
    let otlp: Vec<_> = config
        .tracing
        .exporters
        .iter()
        .filter_map(|e| match e {
            TracingExporter::Otlp(o) => Some((o, "/v1/traces")),
            _ => None,
        })
        .chain(config.metrics.exporters.iter().filter_map(|e| match e {
            MetricsExporter::Otlp(o) => Some((o, "/v1/metrics")),
            _ => None,
        }))
        .chain(config.logs.exporters.iter().filter_map(|e| match e {
            LogsExporter::Otlp(o) => Some((o, "/v1/logs")),
            _ => None,
        }))
        .collect();
    assert_eq!(otlp.len(), 3, "traces, metrics and logs go to the gateway");
    for (exporter, path) in otlp {
        let expected = format!(":{}{path}", ports["http"]);
        assert!(
            exporter.endpoint.starts_with("https://") && exporter.endpoint.ends_with(&expected),
            "{} should be https://…{expected}",
            exporter.endpoint
        );
        let auth = exporter.headers.get("authorization").map(String::as_str);
        assert!(auth.is_some_and(|a| a.starts_with("Bearer ")), "{auth:?}");
    }
}

fn container_ports(service: &Yaml) -> Vec<u16> {
    strings(&service["ports"])
        .iter()
        .filter_map(|p| p.rsplit(':').next()?.split('/').next()?.parse().ok())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Compose, Filebeat and the container-route studio config

/// The Prometheus exporter of deploy/studio/telemetry.json: `(host, port)`.
fn prometheus_exporter_of_the_container_config() -> (String, u16) {
    let config = TelemetryConfig::from_json(&read("studio/telemetry.json"))
        .unwrap_or_else(|e| panic!("deploy/studio/telemetry.json: {e}"));
    config
        .metrics
        .exporters
        .iter()
        .find_map(|e| match e {
            MetricsExporter::Prometheus { host, port, .. } => Some((host.clone(), *port)),
            _ => None,
        })
        .expect("a Prometheus exporter")
}

#[test]
fn compose_pins_every_image_and_mounts_files_that_exist() {
    let compose = yaml("docker-compose.yml");
    let services = keys(&compose["services"]);
    let expected: BTreeSet<String> = SERVICES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(services, expected);
    let volumes = keys(&compose["volumes"]);
    let mut problems = Vec::new();
    let mut host_ports = BTreeMap::new();
    for name in &services {
        let service = &compose["services"][name.as_str()];
        let image = service["image"].as_str().unwrap_or("");
        let tag = image
            .rsplit_once(':')
            .filter(|(repo, _)| !repo.is_empty())
            .map(|(_, t)| t);
        if !tag.is_some_and(|t| t != "latest" && t.chars().any(|c| c.is_ascii_digit())) {
            problems.push(format!(
                "{name}: image {image:?} is not pinned to a version"
            ));
        }
        for volume in strings(&service["volumes"]) {
            let source = volume.split(':').next().unwrap();
            if source.starts_with("${") {
                continue; // the studio's log directory, set by the user
            } else if source.starts_with('.') {
                if !deploy().join(source).exists() {
                    problems.push(format!("{name}: {source} does not exist in deploy/"));
                }
            } else if !volumes.contains(source) {
                problems.push(format!("{name}: volume {source} is not declared"));
            }
        }
        for dependency in service["depends_on"]
            .as_sequence()
            .map(|s| strings(&Yaml::Sequence(s.clone())))
            .unwrap_or_else(|| keys(&service["depends_on"]).into_iter().collect())
        {
            if !services.contains(&dependency) {
                problems.push(format!("{name}: depends on unknown service {dependency}"));
            }
        }
        for port in strings(&service["ports"]) {
            let host = port.split(':').next().unwrap().to_owned();
            if let Some(other) = host_ports.insert(host.clone(), name.clone()) {
                problems.push(format!("host port {host}: {other} and {name}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Config files named on command lines are the ones mounted.
    let prometheus = &compose["services"]["prometheus"];
    assert!(strings(&prometheus["volumes"]).contains(&"./prometheus:/etc/prometheus:ro".into()));
    assert!(strings(&prometheus["command"])
        .contains(&"--config.file=/etc/prometheus/prometheus.yml".into()));
    assert!(
        strings(&prometheus["extra_hosts"]).contains(&"host.docker.internal:host-gateway".into())
    );
    // The studio's own port stays free on the host.
    let (_, studio_port) = prometheus_exporter_of_the_container_config();
    assert!(
        !host_ports.contains_key(&studio_port.to_string()),
        "host port {studio_port} is the studio's"
    );
    let alertmanager = &compose["services"]["alertmanager"];
    assert!(
        strings(&alertmanager["volumes"]).contains(&"./alertmanager:/etc/alertmanager:ro".into())
    );
    assert!(strings(&alertmanager["command"])
        .contains(&"--config.file=/etc/alertmanager/alertmanager.yml".into()));
    let collector = &compose["services"]["otel-collector"];
    assert!(strings(&collector["volumes"])
        .contains(&"./otel-collector/config.yaml:/etc/otelcol-contrib/config.yaml:ro".into()));
    assert!(strings(&collector["command"])
        .contains(&"--config=/etc/otelcol-contrib/config.yaml".into()));
    let filebeat = &compose["services"]["filebeat"];
    assert!(strings(&filebeat["volumes"])
        .contains(&"./filebeat/filebeat.yml:/usr/share/filebeat/filebeat.yml:ro".into()));
    let logs_mount = strings(&filebeat["volumes"])
        .into_iter()
        .find(|v| v.starts_with("${"))
        .expect("a mount of the studio's log directory");
    // `${STUDIO_LOG_DIR:-../logs}:/var/log/studio:ro`: the target follows the variable.
    let (_, target) = logs_mount.split_once("}:").unwrap();
    let logs_dir = target.split(':').next().unwrap().to_owned();

    // Filebeat reads, as ndjson at the top level, the file the studio's config writes.
    let filebeat_config = yaml("filebeat/filebeat.yml");
    let input = &filebeat_config["filebeat.inputs"][0];
    assert_eq!(input["type"], "filestream");
    let ndjson = &input["parsers"][0]["ndjson"];
    assert_eq!(ndjson["target"], "");
    assert_eq!(ndjson["expand_keys"], true);
    let studio = TelemetryConfig::from_json(&read("studio/telemetry.json")).unwrap();
    let log_file = studio
        .logs
        .exporters
        .iter()
        .find_map(|e| match e {
            LogsExporter::File(f) => Some(f.path.clone()),
            _ => None,
        })
        .expect("a logs File exporter in deploy/studio/telemetry.json");
    let log_name = Path::new(&log_file)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let paths = strings(&input["paths"]);
    assert!(
        paths.iter().any(|p| {
            p.strip_prefix(&format!("{logs_dir}/"))
                .and_then(|glob| glob.strip_prefix('*'))
                .is_some_and(|suffix| log_name.ends_with(suffix))
        }),
        "filebeat paths {paths:?} do not match {logs_dir}/{log_name}"
    );
    assert_eq!(
        strings(&filebeat_config["output.elasticsearch"]["hosts"]),
        ["http://elasticsearch:9200"]
    );
    // Traces from the host go to a port compose publishes for Jaeger.
    let traces = studio
        .tracing
        .exporters
        .iter()
        .find_map(|e| match e {
            TracingExporter::Otlp(o) => Some(o.endpoint.clone()),
            _ => None,
        })
        .expect("an OTLP span exporter in deploy/studio/telemetry.json");
    assert!(
        strings(&compose["services"]["jaeger"]["ports"])
            .iter()
            .any(|p| traces.contains(&format!(":{}/", p.split(':').next().unwrap()))),
        "{traces} is no port compose publishes for jaeger"
    );

    // docker-compose (Debian's, v1) validates the file where it is installed.
    match Command::new("docker-compose")
        .args(["-f", "docker-compose.yml", "config", "-q"])
        .current_dir(deploy())
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "docker-compose config:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("docker-compose not installed: compose file checked structurally only"),
    }
}

#[test]
fn the_container_route_config_serves_metrics_on_all_interfaces_and_writes_ecs_logs() {
    let (host, _) = prometheus_exporter_of_the_container_config();
    assert_eq!(
        host, "0.0.0.0",
        "a container cannot reach the host's loopback"
    );
    let config = TelemetryConfig::from_json(&read("studio/telemetry.json")).unwrap();
    assert!(
        config.http_token.is_none(),
        "no token in a committed file: TELEMETRY_HTTP_TOKEN sets it"
    );

    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let (_studio, url) = support::start_announcing(
        support::studio()
            .env("TELEMETRY_CONFIG", deploy().join("studio/telemetry.json"))
            .env("PROMETHEUS_PORT", port.to_string())
            .args(["--duration", "120"])
            .current_dir(dir.path())
            .stderr(Stdio::null()),
        "metrics: ",
    );
    assert_eq!(url, format!("http://0.0.0.0:{port}/metrics"));
    let addr = format!("127.0.0.1:{port}");
    eventually(
        "the workload's metrics on /metrics",
        Duration::from_secs(30),
        || {
            let (status, body) = http(&addr, "GET", "/metrics", "").ok()?;
            (status == 200 && body.contains("\nframes_processed_total ")).then_some(())
        },
    );
    // Off a loopback address the query API and the dashboard page are not served.
    let (status, _) = http(&addr, "POST", "/api/get_snapshot", "").unwrap();
    assert_eq!(status, 404, "the query API is served on 0.0.0.0");
    let (status, _) = http(&addr, "GET", "/", "").unwrap();
    assert_eq!(status, 404, "the dashboard page is served on 0.0.0.0");

    // The ECS lines Filebeat ships and Grafana's Elasticsearch datasource reads.
    let sources = yaml("grafana/provisioning/datasources/datasources.yml");
    let es = sources["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["uid"] == "elasticsearch")
        .unwrap();
    let fields: Vec<String> = ["timeField", "logMessageField", "logLevelField"]
        .iter()
        .map(|f| es["jsonData"][*f].as_str().unwrap().to_owned())
        .collect();
    let log_file = config
        .logs
        .exporters
        .iter()
        .find_map(|e| match e {
            LogsExporter::File(f) => Some(dir.path().join(&f.path)),
            _ => None,
        })
        .unwrap();
    let lines = eventually("ECS lines with a trace id", Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&log_file).ok()?;
        // Only complete lines: the exporter may be writing the last one.
        let complete = &text[..=text.rfind('\n')?];
        let docs: Vec<Json> = complete
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        docs.iter()
            .any(|d| d["trace"]["id"].is_string())
            .then_some(docs)
    });
    for doc in &lines {
        for field in &fields {
            assert!(
                doc.get(field.as_str()).is_some(),
                "{field} missing in {doc}"
            );
        }
        assert!(doc["ecs.version"].is_string(), "{doc}");
        assert_eq!(doc["service"]["name"], "timeline-studio", "{doc}");
    }
}

// ---------------------------------------------------------------------------------------
// The helpers' own behaviour

#[test]
fn the_helpers_substitute_variables_and_split_comparisons() {
    let vars: BTreeMap<String, String> = [("job", "studio"), ("__rate_interval", "1m")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(
        substitute(
            r#"rate(x{job="$job"}[$__rate_interval]) + y{j="${job}"}"#,
            &vars
        )
        .unwrap(),
        r#"rate(x{job="studio"}[1m]) + y{j="studio"}"#
    );
    assert_eq!(
        substitute(r#"label_replace(x, "a", "$1", "b", "(.+)")"#, &vars).unwrap(),
        r#"label_replace(x, "a", "$1", "b", "(.+)")"#
    );
    assert!(substitute("x[$unknown]", &vars).is_err());
    assert_eq!(
        split_comparison("(a / b) < 0.1"),
        Some(("(a / b)", "<", "0.1"))
    );
    assert_eq!(
        split_comparison(r#"sum by (e) (rate(x{a!="b",c=~"d"}[5m])) / y >= 30000"#),
        Some((
            r#"sum by (e) (rate(x{a!="b",c=~"d"}[5m])) / y"#,
            ">=",
            "30000"
        ))
    );
    assert_eq!(split_comparison("s == 3"), Some(("s", "==", "3")));
    assert_eq!(split_comparison("rate(x[5m])"), None);
}
