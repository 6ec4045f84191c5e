//! `runner ui` (a local web view of DAGs, runs and tasks, with a few
//! actions) and `runner report` (one run's page as a self-contained HTML file).
//!
//! The server is synchronous and thread-based like the rest of runner: a
//! few worker threads over `std::net` (`server.rs` says why not a crate).
//! Pages are rendered on the server with minijinja from templates and CSS
//! embedded in the binary (no CDN, a few lines of JS).
//!
//! Owns routing, request checks (host, CSRF, token) and responses. Reads
//! through `data` (the CLI's readers) and acts through `actions` (the CLI's
//! commands); it never opens the warehouse or takes its lock, and decides
//! nothing a CLI command would not.

mod actions;
mod cache;
mod data;
mod grid;
mod http;
mod lineage;
mod pages;
mod project;
mod run;
mod server;
mod timeline;

use crate::cli::Options;
use crate::diag::Diagnostic;
use crate::error::{Error, EXIT_OK};
use crate::history::{History, RunRecord};
use crate::project::dag::Dag;
use pages::Pages;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Worker threads answering requests: pages are quick; a trigger waits a
/// few seconds for its run to appear, and must not hold up the rest.
const WORKERS: usize = 4;
/// The cookie holding the access token of a server bound beyond loopback.
const TOKEN_COOKIE: &str = "runner_ui_token";
/// The environment variable that configures that token.
pub(crate) const TOKEN_ENV: &str = "RUNNER_UI_TOKEN";

/// HTML escaping for text and attribute values built outside templates (SVG).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An answer before the server adds its common headers.
pub(crate) struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply { status, content_type: "text/html; charset=utf-8", body: body.into_bytes(), headers: Vec::new() }
    }

    fn redirect(to: &str) -> Reply {
        Reply {
            status: 303,
            content_type: "text/plain; charset=utf-8",
            body: Vec::new(),
            headers: vec![("Location", to.to_string())],
        }
    }
}

/// Everything a request handler needs; shared by the worker threads.
pub(crate) struct Site {
    opts: Options,
    /// This very binary: actions run it as the CLI would be run.
    exe: PathBuf,
    csrf: String,
    /// The access token for a server bound beyond loopback (`RUNNER_UI_TOKEN`).
    token: Option<String>,
    /// Bound to a loopback address: `Host` must name it (no DNS rebinding).
    loopback: bool,
    port: u16,
    /// Values of secret env vars, masked in every page as a last guard.
    secrets: Vec<String>,
    pages: Pages,
    /// Finished runs kept parsed between requests.
    runs: cache::RunCache,
    /// The project's manifest, parsed once per version.
    manifest: cache::ManifestCache,
}

/// What the request proved about who is asking.
struct Caller {
    /// May trigger, clear and pause.
    can_act: bool,
}

impl Site {
    fn project_dir(&self) -> &Path {
        &self.opts.project_dir
    }

    fn dag(&self, id: &str) -> Option<Dag> {
        data::load_dags(self.project_dir()).0.remove(id)
    }

    fn runs(&self, dag: &Dag) -> Vec<Arc<cache::RunHead>> {
        self.runs.runs(&History::new(&dag.project_dir), &dag.id)
    }

    /// One run's whole record: found among the DAG's runs, read from its file.
    fn run(&self, dag: &Dag, run_id: &str) -> Option<RunRecord> {
        let head = self.runs(dag).into_iter().find(|r| r.run.run_id == run_id)?;
        head.full(&History::new(&dag.project_dir))
    }

    /// The values every page's template sees.
    fn globals(&self, caller: &Caller) -> Value {
        json!({
            "csrf": self.csrf,
            "can_act": caller.can_act,
            "needs_login": self.token.is_some() && !caller.can_act,
            "read_only": !caller.can_act,
            "inline": false,
        })
    }

    fn page(&self, caller: &Caller, name: &str, mut ctx: Value, fragment: bool) -> Reply {
        ctx["g"] = self.globals(caller);
        ctx["fragment"] = json!(fragment);
        match self.pages.render(name, &ctx) {
            Ok(html) => Reply::html(200, crate::secrets::scrub(&html, &self.secrets)),
            Err(e) => self.error(500, &format!("cannot render `{name}`: {e}")),
        }
    }

    fn error(&self, status: u16, message: &str) -> Reply {
        let ctx = json!({"status": status, "message": message, "g": {"inline": false}});
        let html = self.pages.render("error.html", &ctx).unwrap_or_else(|_| escape(message));
        Reply::html(status, crate::secrets::scrub(&html, &self.secrets))
    }

    fn not_found(&self, what: &str) -> Reply {
        self.error(404, &format!("no {what} here"))
    }

    fn caller(&self, headers: &[(String, String)]) -> Caller {
        let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let can_act = match &self.token {
            Some(t) => {
                header("Cookie").and_then(|c| http::cookie(c, TOKEN_COOKIE)).is_some_and(|c| http::same_secret(c, t))
            }
            // Without a token only a loopback server acts: anyone else on the network could.
            None => self.loopback,
        };
        Caller { can_act }
    }

    /// One request: checks, then the route.
    fn handle(&self, method: &str, url: &str, headers: &[(String, String)], body: &str) -> Reply {
        let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        if self.loopback && !http::host_allowed(header("Host"), self.port) {
            return self.error(421, "this server answers only to its loopback address (127.0.0.1 or localhost)");
        }
        let Some((segs, query)) = http::split(url) else {
            return self.error(400, "this path is not allowed");
        };
        let caller = self.caller(headers);
        let fragment = query.get("fragment").is_some_and(|v| v == "1");
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (method, segs.as_slice()) {
            ("GET", []) => {
                self.page(&caller, "dags.html", data::dags_context(self.project_dir(), &self.runs), fragment)
            }
            ("GET", ["static", name]) => match pages::asset(name) {
                Some((content_type, text)) => Reply {
                    status: 200,
                    content_type,
                    body: text.as_bytes().to_vec(),
                    headers: vec![("Cache-Control", "max-age=300".into())],
                },
                None => self.not_found("such file"),
            },
            ("GET", ["dags", dag]) => match self.dag(dag) {
                Some(d) => {
                    let limit =
                        query.get("runs").and_then(|n| n.parse().ok()).unwrap_or(data::GRID_RUNS).clamp(1, 1000);
                    self.page(&caller, "grid.html", grid::context(&d, &self.runs(&d), limit), fragment)
                }
                None => self.not_found("such DAG"),
            },
            ("GET", ["dags", dag, "runs", run]) => match self.dag(dag).and_then(|d| Some((self.run(&d, run)?, d))) {
                Some((r, d)) => {
                    let manifest = self.manifest.get(&d.project_dir);
                    let all = query.get("all").is_some_and(|v| v == "1");
                    self.page(&caller, "run.html", run::run_context(&d, &r, manifest.as_deref(), true, all), fragment)
                }
                None => self.not_found("such run"),
            },
            ("GET", ["dags", dag, "runs", run, "tasks", node]) => {
                match self
                    .dag(dag)
                    .and_then(|d| Some((self.run(&d, run)?, d)))
                    .and_then(|(r, d)| data::task_context(&d, &r, node, self.manifest.get(&d.project_dir).as_deref()))
                {
                    Some(ctx) => self.page(&caller, "task.html", ctx, fragment),
                    None => self.not_found("such task"),
                }
            }
            ("GET", ["project"]) => {
                let manifest = self.manifest.get(self.project_dir());
                self.page(
                    &caller,
                    "project.html",
                    project::context(self.project_dir(), manifest.as_deref(), None),
                    false,
                )
            }
            ("GET", ["project", node]) => match project::context(
                self.project_dir(),
                self.manifest.get(self.project_dir()).as_deref(),
                Some(*node),
            ) {
                ctx if ctx["node"].is_null() => self.not_found("such node"),
                ctx => self.page(&caller, "project.html", ctx, false),
            },
            ("POST", rest) => self.act(&caller, rest, &http::form(body)),
            ("GET", _) => self.not_found("page"),
            _ => self.error(405, "method not allowed"),
        }
    }

    /// An action: the CSRF token and the caller's right to act are checked
    /// before anything else.
    fn act(&self, caller: &Caller, segs: &[&str], form: &std::collections::BTreeMap<String, String>) -> Reply {
        if let ["login"] = segs {
            return self.login(form);
        }
        if !form.get("csrf").is_some_and(|t| http::same_secret(t, &self.csrf)) {
            return self.error(403, "the form's CSRF token is missing or stale (hint: reload the page and try again)");
        }
        if !caller.can_act {
            return self
                .error(403, "this server is read-only (hint: bind to 127.0.0.1, or set RUNNER_UI_TOKEN and log in)");
        }
        let outcome = match segs {
            ["dags", dag, "trigger"] => self.dag(dag).map(|d| actions::trigger(self, &d, form)),
            ["dags", dag, "pause"] => {
                self.dag(dag).map(|d| actions::pause(&d, form.get("paused").is_some_and(|p| p == "true")))
            }
            ["dags", dag, "runs", run, "clear"] => self
                .dag(dag)
                .and_then(|d| Some((self.run(&d, run)?, d)))
                .map(|(r, d)| actions::clear(self, &d, &r, form.get("failed_only").is_some_and(|f| f == "true"))),
            _ => return self.not_found("such action"),
        };
        match outcome {
            None => self.not_found("such DAG or run"),
            Some(Ok(to)) => {
                // Back to the page the form was on, when it says so: only a
                // path on this server (`//host` would leave it).
                let back = form.get("next").filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'));
                Reply::redirect(back.map_or(to.as_str(), String::as_str))
            }
            Some(Err(message)) => self.error(400, &message),
        }
    }

    fn login(&self, form: &std::collections::BTreeMap<String, String>) -> Reply {
        let Some(token) = &self.token else { return self.error(404, "this server has no token to log in with") };
        if !form.get("token").is_some_and(|t| http::same_secret(t, token)) {
            return self.error(403, "wrong token");
        }
        let mut r = Reply::redirect("/");
        r.headers.push(("Set-Cookie", format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict")));
        r
    }
}

/// The headers every answer carries: no sniffing, no framing, no
/// referrer, and a policy that allows only this server's own CSS and JS.
fn answer(reply: Reply) -> server::Answer {
    let mut headers: Vec<(&'static str, String)> = vec![
        ("Content-Type", reply.content_type.to_string()),
        ("X-Content-Type-Options", "nosniff".into()),
        ("X-Frame-Options", "DENY".into()),
        ("Referrer-Policy", "no-referrer".into()),
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'".into(),
        ),
    ];
    if !reply.headers.iter().any(|(k, _)| *k == "Cache-Control") {
        headers.push(("Cache-Control", "no-store".into()));
    }
    headers.extend(reply.headers);
    server::Answer { status: reply.status, headers, body: reply.body }
}

/// `runner ui`: serves until interrupted.
pub fn serve(opts: &Options, host: &str, port: u16) -> Result<i32, Error> {
    let usage = |m: String, h: &str| Error::Usage(Diagnostic::new(m).hint(h));
    let loopback = http::is_loopback(host);
    let token = std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty());
    if token.as_ref().is_some_and(|t| t.len() < 16) {
        return Err(usage(
            format!("`{TOKEN_ENV}` is too short"),
            "use at least 16 characters, e.g. from `openssl rand -hex 16`",
        ));
    }
    let addr = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let listener = std::net::TcpListener::bind(&addr).map_err(|e| {
        usage(format!("cannot listen on `{addr}`: {e}"), "pick another `--port`, or `--port 0` for any free one")
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| usage(format!("cannot listen on `{addr}`: {e}"), "use e.g. `--host 127.0.0.1`"))?;
    let secrets = crate::project::env::Env::load(&opts.project_dir)
        .map(|e| e.values_with_prefix(crate::secrets::PREFIX))
        .unwrap_or_default();
    let exe =
        std::env::current_exe().map_err(|e| Error::Io { what: "cannot find runner's own binary".into(), source: e })?;
    let site = Arc::new(Site {
        opts: opts.clone(),
        exe,
        csrf: http::random_token(),
        token: token.clone(),
        loopback,
        port: bound.port(),
        secrets,
        pages: Pages::new(),
        runs: Default::default(),
        manifest: Default::default(),
    });
    // Child logs of actions from earlier servers (see `actions::prune_logs`).
    actions::prune_logs(&actions::logs_dir(&opts.project_dir));
    let shown_host = if bound.is_ipv6() { format!("[{}]", bound.ip()) } else { bound.ip().to_string() };
    println!("runner ui: serving http://{shown_host}:{}/ (Ctrl-C stops)", bound.port());
    if !loopback {
        match token {
            Some(_) => println!(
                "runner ui: bound beyond loopback; actions need the token of `{TOKEN_ENV}` (log in on any page)"
            ),
            None => println!("runner ui: bound beyond loopback and no `{TOKEN_ENV}` set: read-only"),
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let handler: Arc<dyn Fn(Result<server::Request, u16>) -> server::Answer + Send + Sync> = Arc::new(move |req| {
        answer(match req {
            Ok(r) => site.handle(&r.method, &r.target, &r.headers, &r.body),
            Err(status) => site.error(status, "malformed request"),
        })
    });
    server::run(listener, WORKERS, handler);
    Ok(EXIT_OK)
}

/// `runner report`: one run's page as a single HTML file with its CSS and
/// SVG inline and no link that needs a server or the network.
pub fn report(dag: &Dag, run: &RunRecord, out: &Path) -> Result<i32, Error> {
    let pages = Pages::new();
    let manifest = data::manifest(&dag.project_dir);
    let mut ctx = run::run_context(dag, run, manifest.as_ref(), false, true);
    ctx["details"] = json!(data::report_details(dag, run, manifest.as_ref()));
    ctx["g"] = json!({"inline": true, "css": pages::CSS, "js": pages::JS, "can_act": false, "read_only": true, "report": true});
    ctx["fragment"] = json!(false);
    let html = pages.render("run.html", &ctx).map_err(Error::Report)?;
    let secrets = crate::project::env::Env::load(&dag.project_dir)
        .map(|e| e.values_with_prefix(crate::secrets::PREFIX))
        .unwrap_or_default();
    std::fs::write(out, crate::secrets::scrub(&html, &secrets))
        .map_err(|e| Error::Io { what: format!("cannot write `{}`", out.display()), source: e })?;
    println!("wrote {} ({} tasks)", out.display(), run.tasks.len());
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests;
