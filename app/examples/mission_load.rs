//! Mission throughput and settlement time against a running server (`bench/mission.sh`
//! prepares the accounts and starts it):
//!
//! 1. every contributor gets points through sandbox charges;
//! 2. one hot mission: each contributor adds `--amount` once, `--concurrency` at a time
//!    → contributions/s and latency percentiles;
//! 3. the streamer decides `failure` → time until `settled` is true (one refund transfer per
//!    contributor) and until every result email has been written.
//!
//! Access tokens are minted locally with the server's JWT secret (same settings from the
//! environment), so accounts need no password logins.
#![allow(clippy::print_stdout)]

use anyhow::{Context, bail};
use clap::Parser;
use contracts::Role;
use futures::{StreamExt, stream};
use platform::auth::Jwt;
use platform::clock::SystemClock;
use platform::config::{LoadOptions, Settings};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:18086")]
    base: String,
    /// One account id per line: the first creates the mission, the others contribute.
    #[arg(long)]
    ids_file: PathBuf,
    #[arg(long)]
    streamer_id: i64,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, default_value_t = 100)]
    amount: i64,
    /// The server's mail directory: result emails are counted there.
    #[arg(long)]
    mail_dir: Option<PathBuf>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `call` for every index, `concurrency` at a time; returns (elapsed, latencies, failures).
async fn drive<F, Fut>(n: usize, concurrency: usize, call: F) -> (Duration, Vec<Duration>, Vec<String>)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    let results: Vec<(Duration, anyhow::Result<()>)> = stream::iter(0..n)
        .map(|i| {
            let call = &call;
            async move {
                let t = Instant::now();
                let r = call(i).await;
                (t.elapsed(), r)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    latencies.sort();
    let failures = results.into_iter().filter_map(|(_, r)| r.err().map(|e| format!("{e:#}"))).collect();
    (elapsed, latencies, failures)
}

fn report(what: &str, n: usize, (elapsed, latencies, failures): &(Duration, Vec<Duration>, Vec<String>)) {
    println!(
        "{what}: {n} in {:.2} s = {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} failed",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        percentile(latencies, 1.0),
        failures.len()
    );
    for f in failures.iter().take(3) {
        println!("  e.g. {f}");
    }
}

async fn post(client: &reqwest::Client, url: String, token: &str, key: &str, body: Value) -> anyhow::Result<Value> {
    let res = client.post(url).bearer_auth(token).header("Idempotency-Key", key).json(&body).send().await?;
    let status = res.status();
    let text = res.text().await?;
    if !status.is_success() {
        bail!("{status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

fn count_emails(dir: &PathBuf) -> usize {
    std::fs::read_dir(dir).map(|d| d.flatten().count()).unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ids: Vec<i64> = std::fs::read_to_string(&args.ids_file)
        .context("reading --ids-file")?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse())
        .collect::<Result<_, _>>()?;
    if ids.len() < 2 {
        bail!("need a creator and at least one contributor");
    }
    let settings = Settings::load(LoadOptions::from_env().with("auth.access_ttl_secs", "86400"))?;
    let jwt = Jwt::new(&settings.auth, Arc::new(SystemClock));
    let token = |id: i64, role: Role| jwt.issue(id, role).map(|t| t.token).map_err(|e| anyhow::anyhow!("{e:?}"));
    let tokens: Vec<String> = ids.iter().map(|id| token(*id, Role::Customer)).collect::<anyhow::Result<_>>()?;
    let streamer = token(args.streamer_id, Role::Streamer)?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).pool_max_idle_per_host(256).build()?;
    let base = &args.base;
    let run = chrono::Utc::now().timestamp_millis();
    println!("{} contributors, concurrency {}", ids.len() - 1, args.concurrency);

    let charges = drive(ids.len(), args.concurrency, |i| {
        let (client, token) = (&client, &tokens[i]);
        async move {
            let body = json!({ "amount": 10_000 });
            post(client, format!("{base}/api/v1/wallet/charges"), token, &format!("load-{run}-{i}"), body)
                .await
                .map(drop)
        }
    })
    .await;
    report("sandbox charges", ids.len(), &charges);

    let deadline = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let body = json!({ "streamer_id": args.streamer_id, "title": "Hot mission", "description": "Bench", "stake": 1000, "deadline": deadline });
    let mission =
        post(&client, format!("{base}/api/v1/missions"), &tokens[0], &format!("load-{run}-mission"), body).await?;
    let id = mission["id"].as_i64().context("mission id")?;

    let contributors = ids.len() - 1;
    let contributions = drive(contributors, args.concurrency, |i| {
        let (client, token) = (&client, &tokens[i + 1]);
        let amount = args.amount;
        async move {
            let url = format!("{base}/api/v1/missions/{id}/contributions");
            post(client, url, token, &format!("load-{run}-c-{i}"), json!({ "amount": amount })).await.map(drop)
        }
    })
    .await;
    report("contributions into one mission", contributors, &contributions);

    let get = |client: reqwest::Client, token: String| async move {
        let res = client.get(format!("{base}/api/v1/missions/{id}")).bearer_auth(token).send().await?;
        anyhow::Ok(res.json::<Value>().await?)
    };
    let before = get(client.clone(), tokens[0].clone()).await?;
    println!("pool {} from {} contributors", before["pool"], before["contributors"]);
    let emails_before = args.mail_dir.as_ref().map(count_emails).unwrap_or(0);

    let decided = Instant::now();
    let url = format!("{base}/api/v1/missions/{id}/decision");
    let res = client.post(url).bearer_auth(&streamer).json(&json!({ "result": "failure" })).send().await?;
    if !res.status().is_success() {
        bail!("decision: {} {}", res.status(), res.text().await?);
    }
    let decision_took = decided.elapsed();
    let settled = loop {
        let m = get(client.clone(), tokens[0].clone()).await?;
        if m["settled"] == true {
            break decided.elapsed();
        }
        if decided.elapsed() > Duration::from_secs(900) {
            bail!("not settled after 15 minutes: {m}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "decision answered in {:.0} ms; settled (every refund transferred) {:.2} s after the decision",
        decision_took.as_secs_f64() * 1000.0,
        settled.as_secs_f64()
    );
    if let Some(dir) = &args.mail_dir {
        let expected = ids.len();
        loop {
            let sent = count_emails(dir) - emails_before;
            if sent >= expected {
                println!(
                    "all {expected} result emails written {:.2} s after the decision",
                    decided.elapsed().as_secs_f64()
                );
                break;
            }
            if decided.elapsed() > Duration::from_secs(900) {
                println!("only {sent} of {expected} result emails after 15 minutes");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}
