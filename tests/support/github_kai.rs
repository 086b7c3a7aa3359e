//! `kai run` with its webhook listener on a free port, a fake GitHub API,
//! and alice owning [`REPO`]: what every GitHub end-to-end test starts
//! from, and the calls it makes (signed deliveries, waiting for comments
//! and for a delivery's record).

use std::sync::Mutex;
use std::time::Duration;

use kai::config::token::Secret;
use kai::github::signature::sign;
use reqwest::StatusCode;
use serde_json::Value;

use super::fake_github::{FakeGithub, TOKEN};
use super::kai::{Kai, Options, ALICE};
use super::poll_until;

pub const SECRET: &str = "webhook secret for the tests";
/// How long a job or a record may take: a real agent turn on a busy machine.
const WAIT: Duration = Duration::from_secs(120);
pub const REPO: &str = "acme/app";

pub struct GithubKai {
    pub kai: Kai,
    pub gh: FakeGithub,
    pub http: reqwest::Client,
    /// The port the newest start of kai bound for its webhook server: kai
    /// binds port 0 (a port picked here and bound later could be taken in
    /// between), so each start has its own, read from its log.
    port: Mutex<u16>,
}

/// The ports kai's log says its webhook server bound, one per start.
pub fn bound_ports(log: &str) -> Vec<u16> {
    log.lines()
        .filter(|l| l.contains("GitHub webhook server listening"))
        .filter_map(|l| {
            let addr = l.split("listen=").nth(1)?.split_whitespace().next()?;
            addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
        })
        .collect()
}

impl GithubKai {
    /// Kai with alice on `backend` and her users-file `github` field; the
    /// test fills `gh` before deliveries arrive. Codex owners get a
    /// `claude` tripwire on PATH.
    pub async fn start(
        backend: &'static str,
        github: Value,
        gh: FakeGithub,
        env: Vec<(String, String)>,
    ) -> GithubKai {
        Self::start_with(backend, github, gh, env, None).await
    }

    /// `start`, with the daemon's soft open-files limit set to `nofile`.
    pub async fn start_with(
        backend: &'static str,
        github: Value,
        gh: FakeGithub,
        env: Vec<(String, String)>,
        nofile: Option<u64>,
    ) -> GithubKai {
        let opts = Options {
            nofile,
            claude_tripwire: backend == "codex",
            user_backends: vec![(ALICE, backend, None)],
            users_github: vec![(ALICE, github)],
            extra_env: env,
            ..Options::default()
        };
        Self::launch(opts, gh).await
    }

    /// Kai with `opts` (its users and their `github` fields) plus the
    /// webhook listener on port 0 and `gh` as the GitHub API.
    pub async fn launch(mut opts: Options, gh: FakeGithub) -> GithubKai {
        let github_env: Vec<(String, String)> = vec![
            ("GITHUB_WEBHOOK_LISTEN".into(), "127.0.0.1:0".into()),
            ("GITHUB_API_URL".into(), gh.url()),
            ("GITHUB_WEBHOOK_SECRET".into(), SECRET.into()),
            ("GITHUB_TOKEN".into(), TOKEN.into()),
        ];
        opts.extra_env.splice(0..0, github_env);
        let kai = Kai::start(opts).await;
        let s = GithubKai {
            kai,
            gh,
            http: reqwest::Client::new(),
            port: Mutex::new(0),
        };
        s.wait_healthy().await;
        s
    }

    /// The port the newest start of kai's webhook server listens on.
    pub fn port(&self) -> u16 {
        *self.port.lock().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port())
    }

    /// Waits until the newest start of kai bound its webhook server and
    /// answers `/healthz` there.
    pub async fn wait_healthy(&self) {
        for _ in 0..300 {
            // One bound line per start: until the newest start's is there,
            // an older port means nothing.
            let ports = bound_ports(&self.kai.log());
            if ports.len() >= self.kai.spawns() {
                *self.port.lock().unwrap() = ports[ports.len() - 1];
                if let Ok(r) = self.http.get(self.url("/healthz")).send().await {
                    if r.status() == StatusCode::OK {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no /healthz\n{}", self.kai.log());
    }

    /// Sends a delivery; `sig` None sends none, Some("") signs it right.
    pub async fn deliver(
        &self,
        event: &str,
        id: &str,
        body: Vec<u8>,
        sig: Option<&str>,
    ) -> StatusCode {
        let mut r = self
            .http
            .post(self.url("/github/webhook"))
            .header("x-github-event", event)
            .header("x-github-delivery", id)
            .header("content-type", "application/json");
        match sig {
            Some("") => r = r.header("x-hub-signature-256", sign(&Secret::new(SECRET), &body)),
            Some(s) => r = r.header("x-hub-signature-256", s),
            None => {}
        }
        r.body(body).send().await.unwrap().status()
    }

    /// A correctly signed delivery of `payload`.
    pub async fn signed_json(&self, event: &str, id: &str, payload: &Value) -> StatusCode {
        self.deliver(event, id, payload.to_string().into_bytes(), Some(""))
            .await
    }

    /// Waits until `REPO#n` has `count` comments; returns them.
    pub async fn wait_comments(&self, n: u64, count: usize) -> Vec<String> {
        let found = poll_until(WAIT, || {
            Some(self.gh.comments(REPO, n)).filter(|c| c.len() >= count)
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "no comment on #{n}; github saw {:#?}\n{}",
                self.gh.requests(),
                self.kai.log()
            )
        })
    }

    /// Waits until the daemon has recorded `field` (`outcome` for the job,
    /// `told` for the notice) of delivery `id`; returns it.
    pub async fn wait_record(&self, id: &str, field: &str) -> String {
        let path = self.kai.path(&format!("data/github/deliveries/{id}.json"));
        let found = poll_until(WAIT, || {
            std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v[field].as_str().map(str::to_string))
        })
        .await;
        found.unwrap_or_else(|| panic!("delivery {id} never got its {field}\n{}", self.kai.log()))
    }

    /// Waits until the job of delivery `id` is done; returns its outcome.
    pub async fn wait_done(&self, id: &str) -> String {
        self.wait_record(id, "outcome").await
    }
}
