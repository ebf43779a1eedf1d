//! The deployment files parse and agree with the app: every `APP__…` variable names a real
//! configuration key, health checks and scrapes hit the app's ops endpoints on the port it
//! binds, and every metric the Grafana dashboard queries is one the app exports.

use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every metric the app exports, as Prometheus names (checked against the sources below).
const METRICS: &[&str] = &[
    "http_requests_total",
    "http_request_duration_seconds",
    "db_pool_connections",
    "db_pool_idle_connections",
    "db_operation_timeouts_total",
    "outbox_backlog",
    "outbox_parked",
    "outbox_handled_total",
    "outbox_failed_total",
    "outbox_parked_total",
    "chat_sockets",
    "chat_messages_total",
    "chat_deliveries_total",
    "chat_slow_consumers_total",
    "charges_created_total",
    "charges_confirmed_total",
    "charges_failed_total",
    "orders_paid_total",
    "orders_failed_total",
    "checkout_refusals_total",
    "ledger_transfers_total",
    "cart_reads_total",
    "catalog_searches_total",
    "missions_settled_total",
    "feed_requests_total",
    "feed_provider_calls_total",
    "feed_provider_duration_seconds",
    "notifications_created_total",
    "notifications_updated_total",
    "notifications_delivered_total",
    "notifications_swept_total",
    "outbox_swept_total",
    "payment_swept_total",
    "notification_delivery_seconds",
    "notify_push_total",
    "notify_push_retries_total",
    "notify_fcm_token_fetches_total",
    "moderation_reports_total",
    "moderation_resolutions_total",
    "moderation_reports_resolved_total",
    "moderation_open_reports",
    "account_suspensions_total",
    "account_suspended",
    "ledger_audit_mismatches",
    "ledger_sum_of_balances",
];

/// The metrics rendered as histograms (the recorder gives buckets to names ending `_seconds`).
const HISTOGRAMS: &[&str] =
    &["http_request_duration_seconds", "feed_provider_duration_seconds", "notification_delivery_seconds"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn yaml(relative: &str) -> Yaml {
    let mut value: Yaml = serde_norway::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"));
    value.apply_merge().unwrap_or_else(|e| panic!("{relative}: merge keys: {e}"));
    value
}

fn dashboard() -> Json {
    let relative = "deploy/grafana/dashboards/commerce.json";
    serde_json::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// `config/default.toml` as dotted keys of its values (`server.bind`, `payment.toss.secret_key`…).
fn config_keys() -> BTreeSet<String> {
    fn walk(prefix: &str, table: &toml::Table, keys: &mut BTreeSet<String>) {
        for (name, value) in table {
            let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            match value {
                toml::Value::Table(inner) => walk(&key, inner, keys),
                _ => {
                    keys.insert(key);
                }
            }
        }
    }
    let table: toml::Table = toml::from_str(&read("config/default.toml")).unwrap();
    let mut keys = BTreeSet::new();
    walk("", &table, &mut keys);
    keys
}

/// `APP__SERVER__TRUSTED_PROXIES` → `server.trusted_proxies`, as the config loader maps it.
fn config_key_of(variable: &str) -> Option<String> {
    let rest = variable.strip_prefix("APP__")?;
    Some(rest.split("__").map(str::to_ascii_lowercase).collect::<Vec<_>>().join("."))
}

fn service<'a>(compose: &'a Yaml, name: &str) -> &'a Yaml {
    compose.get("services").and_then(|s| s.get(name)).unwrap_or_else(|| panic!("docker-compose.yml: no service {name}"))
}

/// A service's environment as (name, value), from either the mapping or the `K=V` list form.
fn environment(service: &Yaml) -> Vec<(String, String)> {
    let scalar = |v: &Yaml| match v {
        Yaml::String(s) => s.clone(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match service.get("environment") {
        Some(Yaml::Mapping(map)) => map.iter().map(|(k, v)| (scalar(k), scalar(v))).collect(),
        Some(Yaml::Sequence(list)) => list
            .iter()
            .filter_map(|item| item.as_str())
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (item.to_string(), String::new()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A string or a list of strings (`command`, `healthcheck.test`), joined with spaces.
fn words(value: Option<&Yaml>) -> String {
    match value {
        Some(Yaml::String(s)) => s.clone(),
        Some(Yaml::Sequence(list)) => list.iter().filter_map(Yaml::as_str).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

fn port_of(address: &str) -> u16 {
    address.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).unwrap_or_else(|| panic!("no port in {address}"))
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn dockerfile_instructions() -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    instructions
}

fn assert_known_variable(file: &str, variable: &str, keys: &BTreeSet<String>) {
    let key = config_key_of(variable).unwrap();
    assert!(keys.contains(&key), "{file}: {variable} maps to `{key}`, which config/default.toml does not define");
}

/// Every `APP__…` variable the compose file or the image sets names a configuration key.
#[test]
fn app_variables_name_configuration_keys() {
    let keys = config_keys();
    let compose = yaml("docker-compose.yml");
    let services = compose.get("services").and_then(Yaml::as_mapping).expect("docker-compose.yml: services");
    let mut seen = BTreeSet::new();
    for (name, service) in services {
        for (variable, _) in environment(service) {
            if variable.starts_with("APP__") {
                assert_known_variable(
                    &format!("docker-compose.yml ({})", name.as_str().unwrap_or("?")),
                    &variable,
                    &keys,
                );
                seen.insert(variable);
            }
        }
    }
    assert!(seen.contains("APP__AUTH__JWT_SECRET"), "production refuses the default JWT secret: {seen:?}");

    let mut image_variables = 0;
    for instruction in dockerfile_instructions().iter().filter(|i| i.starts_with("ENV ")) {
        for assignment in instruction.split_whitespace().filter(|w| w.starts_with("APP__")) {
            let (variable, _) = assignment.split_once('=').expect("ENV KEY=value");
            assert_known_variable("Dockerfile", variable, &keys);
            image_variables += 1;
        }
    }
    assert!(image_variables > 0, "the image sets APP__SERVER__BIND");
}

/// The image binds all interfaces on the port it exposes and checks /healthz there.
#[test]
fn image_serves_and_checks_health_on_the_exposed_port() {
    let instructions = dockerfile_instructions();
    let find = |prefix: &str| {
        instructions.iter().find(|i| i.starts_with(prefix)).unwrap_or_else(|| panic!("Dockerfile: no {prefix}"))
    };
    let bind = instructions
        .iter()
        .filter(|i| i.starts_with("ENV "))
        .flat_map(|i| i.split_whitespace())
        .find_map(|w| w.strip_prefix("APP__SERVER__BIND="))
        .expect("Dockerfile: ENV APP__SERVER__BIND");
    assert!(bind.starts_with("0.0.0.0:"), "a container must bind all interfaces: {bind}");
    let port = port_of(bind);
    assert_eq!(find("EXPOSE").trim_start_matches("EXPOSE").trim(), port.to_string());
    let healthcheck = find("HEALTHCHECK");
    assert!(healthcheck.contains("/healthz") && healthcheck.contains(&port.to_string()), "{healthcheck}");
    assert_eq!(find("ENTRYPOINT"), r#"ENTRYPOINT ["/app/app"]"#);
    assert_eq!(find("CMD"), r#"CMD ["serve"]"#);
}

#[test]
fn compose_runs_migrations_first_and_checks_liveness() {
    let compose = yaml("docker-compose.yml");
    let app = service(&compose, "app");
    let migrate = service(&compose, "migrate");
    assert_eq!(words(migrate.get("command")), "migrate");
    assert_eq!(app.get("image"), migrate.get("image"), "the migration task must run the same image as the server");
    let depends = app.get("depends_on").expect("app.depends_on");
    assert_eq!(depends["migrate"]["condition"].as_str(), Some("service_completed_successfully"));
    assert_eq!(depends["mysql"]["condition"].as_str(), Some("service_healthy"));
    assert_eq!(depends["redis"]["condition"].as_str(), Some("service_healthy"));

    let env: Vec<(String, String)> = environment(app);
    let value = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(value("APP_ENV"), Some("production"));
    let secret = value("APP__AUTH__JWT_SECRET").unwrap_or_default();
    assert!(
        secret.starts_with("${") && secret.contains(":?"),
        "the JWT secret must be required, not defaulted: {secret}"
    );
    assert!(value("DATABASE_URL").unwrap_or_default().starts_with("mysql://"));
    assert!(value("REDIS_URL").unwrap_or_default().starts_with("redis://"));

    let test = words(app.get("healthcheck").and_then(|h| h.get("test")));
    assert!(test.contains("/healthz"), "the app's health check is liveness (/healthz): {test}");
    assert!(test.contains(":8080/"), "{test}");
    let ports = words(app.get("ports"));
    assert!(ports.ends_with(":8080"), "the container port is 8080: {ports}");
}

/// Prometheus scrapes the compose app service's /metrics on the port the image binds.
#[test]
fn prometheus_scrapes_the_app_metrics() {
    let compose = yaml("docker-compose.yml");
    service(&compose, "app");
    let prometheus = service(&compose, "prometheus");
    let mounts = words(prometheus.get("volumes"));
    assert!(mounts.contains("./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml"), "{mounts}");

    let config = yaml("deploy/prometheus/prometheus.yml");
    let jobs = config.get("scrape_configs").and_then(Yaml::as_sequence).expect("scrape_configs");
    let app_job = jobs
        .iter()
        .find(|job| {
            job.get("static_configs").and_then(Yaml::as_sequence).is_some_and(|configs| {
                configs.iter().any(|c| words(c.get("targets")).split(' ').any(|t| t == "app:8080"))
            })
        })
        .expect("a scrape job targeting app:8080");
    let path = app_job.get("metrics_path").and_then(Yaml::as_str).unwrap_or("/metrics");
    assert_eq!(path, "/metrics");
    let interval = app_job
        .get("scrape_interval")
        .or_else(|| config.get("global").and_then(|g| g.get("scrape_interval")))
        .and_then(Yaml::as_str);
    assert_eq!(interval, Some("15s"));
}

/// Grafana loads the provisioned datasource and the dashboard directory compose mounts, and
/// every panel queries that datasource.
#[test]
fn grafana_provisioning_matches_the_dashboard() {
    let compose = yaml("docker-compose.yml");
    let grafana = service(&compose, "grafana");
    let mounts: Vec<String> = grafana
        .get("volumes")
        .and_then(Yaml::as_sequence)
        .map(|v| v.iter().filter_map(Yaml::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let mounted_at = |source: &str| {
        mounts
            .iter()
            .find_map(|m| m.strip_prefix(source).and_then(|rest| rest.strip_prefix(':')))
            .map(|target| target.trim_end_matches(":ro").to_string())
            .unwrap_or_else(|| panic!("grafana does not mount {source}: {mounts:?}"))
    };
    assert_eq!(mounted_at("./deploy/grafana/provisioning"), "/etc/grafana/provisioning");
    let dashboards_dir = mounted_at("./deploy/grafana/dashboards");

    let providers = yaml("deploy/grafana/provisioning/dashboards/dashboards.yml");
    let paths: Vec<&str> = providers
        .get("providers")
        .and_then(Yaml::as_sequence)
        .expect("providers")
        .iter()
        .filter_map(|p| p.get("options").and_then(|o| o.get("path")).and_then(Yaml::as_str))
        .collect();
    assert!(paths.contains(&dashboards_dir.as_str()), "providers load {paths:?}, compose mounts {dashboards_dir}");

    let datasources = yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
    let datasources = datasources.get("datasources").and_then(Yaml::as_sequence).expect("datasources");
    let prometheus = datasources
        .iter()
        .find(|d| d.get("type").and_then(Yaml::as_str) == Some("prometheus"))
        .expect("a prometheus datasource");
    let uid = prometheus.get("uid").and_then(Yaml::as_str).expect("datasource uid");
    let url = prometheus.get("url").and_then(Yaml::as_str).expect("datasource url");
    assert!(url.starts_with("http://prometheus:"), "the compose service: {url}");
    service(&compose, "prometheus");

    let dashboard = dashboard();
    assert!(dashboard["uid"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36), "{}", dashboard["schemaVersion"]);
    let panels = all_panels(&dashboard);
    let mut ids = BTreeSet::new();
    for panel in &panels {
        assert!(ids.insert(panel["id"].as_u64().expect("panel id")), "duplicate panel id {}", panel["id"]);
        if panel["type"] == "row" {
            continue;
        }
        for source in std::iter::once(&panel["datasource"])
            .chain(panel["targets"].as_array().into_iter().flatten().map(|t| &t["datasource"]))
        {
            assert_eq!(source["uid"].as_str(), Some(uid), "panel {:?} queries another datasource", panel["title"]);
        }
    }
}

/// Every metric in the dashboard's PromQL is one the app exports.
#[test]
fn dashboard_queries_only_exported_metrics() {
    let dashboard = dashboard();
    let mut used = BTreeSet::new();
    let mut queries = 0;
    for panel in all_panels(&dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr =
                target["expr"].as_str().unwrap_or_else(|| panic!("panel {:?}: target without expr", panel["title"]));
            queries += 1;
            let names = metric_names(expr);
            assert!(!names.is_empty(), "panel {:?}: no metric in {expr}", panel["title"]);
            for name in names {
                assert!(is_exported(&name), "panel {:?} queries {name}, which the app does not export", panel["title"]);
                used.insert(name);
            }
        }
    }
    assert!(queries >= 10, "{queries} queries");
    for expected in
        ["http_request_duration_seconds_bucket", "outbox_parked", "chat_sockets", "feed_provider_calls_total"]
    {
        assert!(used.contains(expected), "the dashboard should chart {expected}: {used:?}");
    }
}

/// Prometheus loads the alert rules compose mounts, and every rule queries exported metrics;
/// the ledger audit's gauges page when above 0.
#[test]
fn alert_rules_are_loaded_and_query_exported_metrics() {
    let compose = yaml("docker-compose.yml");
    let mounts = words(service(&compose, "prometheus").get("volumes"));
    assert!(mounts.contains("./deploy/prometheus/rules:/etc/prometheus/rules"), "{mounts}");
    let config = yaml("deploy/prometheus/prometheus.yml");
    let files = words(config.get("rule_files"));
    assert!(files.split(' ').any(|f| f == "/etc/prometheus/rules/*.yml"), "{files}");
    let mut alerted = BTreeSet::new();
    for entry in std::fs::read_dir(repo_root().join("deploy/prometheus/rules")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let rules = yaml(&format!("deploy/prometheus/rules/{name}"));
        let groups = rules.get("groups").and_then(Yaml::as_sequence).unwrap_or_else(|| panic!("{name}: no groups"));
        for rule in groups.iter().flat_map(|g| g.get("rules").and_then(Yaml::as_sequence).into_iter().flatten()) {
            let expr = rule.get("expr").and_then(Yaml::as_str).unwrap_or_else(|| panic!("{name}: a rule without expr"));
            assert!(rule.get("alert").and_then(Yaml::as_str).is_some(), "{name}: {expr} has no alert name");
            for metric in metric_names(expr) {
                assert!(is_exported(&metric), "{name}: {expr} queries {metric}, which the app does not export");
                alerted.insert(metric);
            }
        }
    }
    for expected in ["ledger_audit_mismatches", "ledger_sum_of_balances"] {
        assert!(alerted.contains(expected), "no alert on {expected}: {alerted:?}");
    }
}

/// The list above is not wishful: each name is recorded somewhere in the modules' sources.
#[test]
fn every_listed_metric_is_recorded_by_the_code() {
    fn sources(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut code = String::new();
    for krate in ["platform", "account", "payment", "order", "chat", "mission", "feed", "moderation", "notify", "app"] {
        sources(&repo_root().join(krate).join("src"), &mut code);
    }
    for name in METRICS {
        assert!(code.contains(&format!("\"{name}\"")), "{name} is listed as exported but no module records it");
    }
}

#[test]
fn metric_names_come_from_selectors_only() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{instance=~"$instance", route!~"/x{1}"}[$__rate_interval])))"#,
    );
    assert_eq!(names, BTreeSet::from(["http_request_duration_seconds_bucket".to_string()]));
    let names = metric_names(
        r#"(sum(rate(a_total{status=~"5.."}[5m] offset 1h)) or vector(0)) / on (job) group_left sum without (x) (b) > bool 1e3"#,
    );
    assert_eq!(names, BTreeSet::from(["a_total".to_string(), "b".to_string()]));
    assert!(is_exported("http_requests_total") && is_exported("feed_provider_duration_seconds_count"));
    assert!(!is_exported("chat_sockets_bucket") && !is_exported("http_requests"));
}

fn is_exported(name: &str) -> bool {
    if METRICS.contains(&name) {
        return true;
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .any(|suffix| name.strip_suffix(suffix).is_some_and(|base| HISTOGRAMS.contains(&base)))
}

/// Panels, including those nested in collapsed rows.
fn all_panels(dashboard: &Json) -> Vec<&Json> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("dashboard panels") {
        out.push(panel);
        out.extend(panel["panels"].as_array().into_iter().flatten());
    }
    out
}

/// Metric names in a PromQL expression: identifiers outside strings, label matchers `{…}`,
/// ranges `[…]` and label lists (`by (…)`), that are neither functions, aggregations nor
/// keywords. Grafana variables (`$instance`) are skipped.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const NOT_METRICS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "atan2",
        "inf",
        "nan",
    ];
    const LABEL_LISTS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];
    let chars: Vec<char> = expr.chars().collect();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '{' {
            i = skip_block(&chars, i, '{', '}');
        } else if c == '[' {
            i = skip_block(&chars, i, '[', ']');
        } else if c == '$' || c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            // A Grafana variable, or a number / duration (0.99, 1e3, 5m).
            i += 1;
            while i < chars.len() && (ident(chars[i]) || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let call = chars.get(next) == Some(&'(');
            if LABEL_LISTS.contains(&word.as_str()) {
                if call {
                    i = skip_block(&chars, next, '(', ')');
                }
            } else if !call && !NOT_METRICS.contains(&word.to_ascii_lowercase().as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Index just past the string literal that starts at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' && quote != '`' { 2 } else { 1 };
    }
    i + 1
}

/// Index just past the `close` that ends the block opened at `start`, strings skipped.
fn skip_block(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The CI workflow runs the test command against MySQL 8 and Redis 7 services, and builds
/// the image only after the tests pass.
#[test]
fn ci_tests_against_mysql_and_redis_then_builds_the_image() {
    let workflow = yaml(".github/workflows/ci.yml");
    let on = workflow.get("on").expect("on");
    assert!(on.get("push").is_some() && on.get("pull_request").is_some(), "runs on push and pull_request");
    let test = &workflow["jobs"]["test"];
    assert_eq!(test["services"]["mysql"]["image"].as_str(), Some("mysql:8.0"));
    assert_eq!(test["services"]["redis"]["image"].as_str(), Some("redis:7"));
    let database_url = test["env"]["TEST_DATABASE_URL"].as_str().expect("TEST_DATABASE_URL");
    let password = test["services"]["mysql"]["env"]["MYSQL_ROOT_PASSWORD"].as_str().expect("MYSQL_ROOT_PASSWORD");
    assert_eq!(database_url, format!("mysql://root:{password}@127.0.0.1:3306/test"));
    assert!(test["env"]["TEST_REDIS_URL"].as_str().is_some());
    let runs: Vec<&str> =
        test["steps"].as_sequence().expect("steps").iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.iter().any(|r| r.contains("CI=true ./scripts/test")), "{runs:?}");
    assert!(runs.iter().any(|r| r.contains("libmariadb-dev-compat")), "{runs:?}");
    let image = &workflow["jobs"]["image"];
    assert_eq!(words(image.get("needs")), "test");
    let actions: Vec<&str> =
        image["steps"].as_sequence().expect("steps").iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(actions.iter().any(|a| a.starts_with("docker/build-push-action@")), "{actions:?}");
}
