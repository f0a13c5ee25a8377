//! An in-process fake of the parts of GitHub that `fetch-artifact` talks to, over real HTTP:
//!
//! - the REST API on `127.0.0.1` (axum), shaped like GitHub's answers: the same JSON fields,
//!   `Link` pagination, 404/410 error bodies, the rate-limit and version headers;
//! - an Azure-like blob host on `127.0.0.2` serving the signed URLs that the API's
//!   `…/artifacts/{id}/zip` redirects to. A different address on purpose: a client that forwards
//!   its token across the redirect is caught, and so is one that assumes a single host.
//!
//! The blob host is a small hand-written HTTP/1.1 server rather than axum: fault injection must
//! cut or stall a body after an *exact* number of bytes, and hyper drops whatever it still has
//! buffered when a body stream fails, so through hyper the client would see an unpredictable
//! prefix.
//!
//! Used by the integration tests, `examples/demo.rs` and the benchmark (through `#[path]`), so it
//! depends only on axum, tokio, serde_json, sha2, bytes and std. Each includer uses only part of
//! it, so put `#[allow(dead_code)]` on the `mod` item (`tests/support/mod.rs` does so for the
//! tests); an inner `#![allow]` here would trip clippy's `duplicated_attributes` there.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::serve::ListenerExt;
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

/// What the API answers in `x-github-api-version-selected` when the client asks for none.
pub const DEFAULT_API_VERSION: &str = "2022-11-28";
const FIRST_RUN_ID: u64 = 1000;
const FIRST_ARTIFACT_ID: u64 = 5000;
const FIRST_REPO_ID: u64 = 700_000_001;
/// GitHub's documented ceiling for workflow-run lists narrowed by a filter.
const FILTERED_RUNS_LIMIT: usize = 1000;
const RATE_LIMIT: u64 = 5000;
const DOCS_URL: &str = "https://docs.github.com/rest";
const JSON: &str = "application/json; charset=utf-8";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// A running fake GitHub. Dropping it stops both listeners and every open connection.
pub struct FakeGitHub {
    world: World,
    api_addr: SocketAddr,
    blob_addr: SocketAddr,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// A workflow run to create. `Default` gives a successful push build on `main`.
#[derive(Clone, Debug)]
pub struct RunSeed {
    /// `None`: the next free id (runs count up from 1000).
    pub id: Option<u64>,
    pub name: String,
    pub workflow_id: u64,
    /// `.github/workflows/build.yml`; `…/workflows/build.yml/runs` matches on its file name.
    pub path: String,
    pub head_branch: String,
    pub head_sha: String,
    pub event: String,
    pub status: String,
    pub conclusion: Option<String>,
    /// 0: the repository's next run number.
    pub run_number: u64,
    pub run_attempt: u64,
    /// RFC 3339, UTC (`…Z`); lists sort on it as text.
    pub created_at: String,
    /// `Some("fork/name")` for a run triggered from a fork; `None`: the run's own repository.
    pub head_repository: Option<String>,
}

impl Default for RunSeed {
    fn default() -> Self {
        RunSeed {
            id: None,
            name: "build".into(),
            workflow_id: 1,
            path: ".github/workflows/build.yml".into(),
            head_branch: "main".into(),
            head_sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e".into(),
            event: "push".into(),
            status: "completed".into(),
            conclusion: Some("success".into()),
            run_number: 0,
            run_attempt: 1,
            created_at: "2026-11-20T10:00:00Z".into(),
            head_repository: None,
        }
    }
}

/// An artifact to attach to a run. Its body is what the blob host serves, byte for byte.
#[derive(Clone, Debug)]
pub struct ArtifactSeed {
    pub name: String,
    pub body: Bytes,
    /// The blob's `Content-Type`.
    pub content_type: String,
    /// The blob's `Content-Disposition` file name; `None`: `<name>.zip`.
    pub filename: Option<String>,
    pub digest: DigestSeed,
    pub expired: bool,
    pub created_at: String,
    pub expires_at: String,
}

impl ArtifactSeed {
    pub fn new(name: &str, body: impl Into<Bytes>) -> Self {
        ArtifactSeed {
            name: name.to_owned(),
            body: body.into(),
            content_type: "application/zip".into(),
            filename: None,
            digest: DigestSeed::Auto,
            expired: false,
            created_at: "2026-11-20T10:05:00Z".into(),
            expires_at: "2027-02-18T10:05:00Z".into(),
        }
    }
}

/// What the artifact's `digest` field says.
#[derive(Clone, Debug)]
pub enum DigestSeed {
    /// `"sha256:"` + the lowercase hex SHA-256 of the body, as upload-artifact v4 publishes.
    Auto,
    /// `"digest": null`, as for artifacts from older uploaders.
    Null,
    /// No `digest` field at all.
    Absent,
    /// Exactly this string.
    Fixed(String),
}

/// A pull request to create (`GET /repos/{o}/{r}/pulls/{number}`). `Default` gives an open pull
/// request from branch `feature` of the repository itself into `main`.
#[derive(Clone, Debug)]
pub struct PullSeed {
    /// 0: the repository's next pull request number (they count up from 1).
    pub number: u64,
    pub head_ref: String,
    pub head_sha: String,
    /// `Some("fork/name")` for a pull request from a fork; `None`: from the repository itself.
    pub head_repo: Option<String>,
    pub base_ref: String,
}

impl Default for PullSeed {
    fn default() -> Self {
        PullSeed {
            number: 0,
            head_ref: "feature".into(),
            head_sha: "3f786850e387550fdab836ed7e6dc881de23001b".into(),
            head_repo: None,
            base_ref: "main".into(),
        }
    }
}

/// One request as either host received it, recorded before it was answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub host: Host,
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Api,
    Blob,
}

/// A misbehaviour to inject. Faults are used in the order they were injected; a fault with
/// `times` applies to that many requests and is then gone.
#[derive(Clone, Debug)]
pub enum Fault {
    /// The next `times` requests to `host` whose path starts with `path_prefix` get this answer
    /// instead of the real one. API answers keep the standard headers unless `headers` overrides
    /// them.
    Status {
        host: Host,
        path_prefix: String,
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        times: u32,
    },
    /// Like `Status`, but only for requests with this `method` (case-insensitive) and exactly
    /// this `path`: e.g. a 403 for `DELETE /repos/o/r/actions/artifacts/5000` that leaves the
    /// `GET …/5000/zip` of the same artifact alone.
    StatusFor {
        host: Host,
        method: String,
        path: String,
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        times: u32,
    },
    /// The next `times` blob downloads announce the full `Content-Length`, send `after_bytes`
    /// bytes of the body, then close the connection: the client sees a truncated body.
    ResetMidBody { after_bytes: usize, times: u32 },
    /// Like `ResetMidBody`, but the connection stays open and silent for `stall` first.
    StallMidBody {
        after_bytes: usize,
        stall: Duration,
        times: u32,
    },
    /// The next `times` blob downloads ignore `Range` and send no `Accept-Ranges`.
    NoRanges { times: u32 },
    /// The next `times` blob downloads send their body at about `bytes_per_sec`, for tests of
    /// what the client shows while a download takes a while.
    Throttle { bytes_per_sec: u64, times: u32 },
    /// From now on each signed blob URL serves one download; a second GET of it gets 403 like an
    /// expired SAS, and only a new `/zip` call mints a working URL.
    BlobUrlSingleUse,
}

impl FakeGitHub {
    /// Starts both hosts on a thread of their own running a tokio runtime, so blocking tests
    /// and async code alike can use it.
    pub fn start() -> FakeGitHub {
        let api =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fake API on 127.0.0.1");
        // Linux routes all of 127.0.0.0/8 to the loopback interface, so no setup is needed.
        let blob = std::net::TcpListener::bind("127.0.0.2:0")
            .expect("bind the fake blob host on 127.0.0.2");
        for l in [&api, &blob] {
            l.set_nonblocking(true).expect("non-blocking listener");
        }
        let api_addr = api.local_addr().expect("API address");
        let blob_addr = blob.local_addr().expect("blob address");
        let world = World::new(format!("http://{api_addr}"), format!("http://{blob_addr}"));

        let (stop, stopped) = mpsc::channel::<()>();
        let w = world.clone();
        let thread = std::thread::Builder::new()
            .name("fake-github".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("fake-github-worker")
                    .enable_all()
                    .build()
                    .expect("fake GitHub runtime");
                rt.spawn(serve_api(api, w.clone()));
                rt.spawn(serve_blob(blob, w));
                // Err once the sender is dropped, which is how Drop asks us to stop.
                let _ = stopped.recv();
                // Dropping the tasks closes every socket, stalled ones included.
                rt.shutdown_timeout(Duration::from_secs(2));
            })
            .expect("spawn the fake GitHub thread");
        FakeGitHub {
            world,
            api_addr,
            blob_addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the value for `GITHUB_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// `http://127.0.0.2:PORT`: where download redirects point.
    pub fn blob_origin(&self) -> String {
        format!("http://{}", self.blob_addr)
    }

    /// Where the API listens (plain HTTP, whatever [`FakeGitHub::serve_as`] said).
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Where the blob host listens (plain HTTP, whatever [`FakeGitHub::serve_as`] said).
    pub fn blob_addr(&self) -> SocketAddr {
        self.blob_addr
    }

    /// Makes every URL the fake writes from now on (`url` fields, `Link` pages, the download
    /// redirect's signed blob URL) start with `api_url` and `blob_origin` instead of its own
    /// plain-HTTP addresses: for a test that puts something in front of it, such as the TLS
    /// fronts of `tls.rs`.
    pub fn serve_as(&self, api_url: &str, blob_origin: &str) {
        let mut w = self.world.lock();
        w.api_url = api_url.trim_end_matches('/').to_owned();
        w.blob_origin = blob_origin.trim_end_matches('/').to_owned();
    }

    /// Makes `repo` (`owner/name`) exist without any run; returns its id. `add_run` does this
    /// by itself.
    pub fn add_repo(&self, repo: &str) -> u64 {
        self.world.lock().repo_entry(repo)
    }

    /// Adds a workflow run to `repo` (`owner/name`); returns its id.
    pub fn add_run(&self, repo: &str, seed: RunSeed) -> u64 {
        self.world.lock().add_run(repo, seed)
    }

    /// Attaches an artifact to run `run_id` of `repo`; returns its id. Panics if the run is not
    /// in that repository: that is a mistake in the test.
    pub fn add_artifact(&self, repo: &str, run_id: u64, seed: ArtifactSeed) -> u64 {
        self.world.lock().add_artifact(repo, run_id, seed)
    }

    /// Adds a pull request to `repo` (`owner/name`); returns its number. A pull request from
    /// the repository itself also makes its head branch known (see [`FakeGitHub::add_branch`]).
    pub fn add_pull(&self, repo: &str, seed: PullSeed) -> u64 {
        self.world.lock().add_pull(repo, seed)
    }

    /// Makes branch `name` of `repo` point at `sha` (moving it if it exists). Without this a
    /// branch is still known when a run of the repository itself names it as `head_branch`: it
    /// points at the newest such run's `head_sha`. An explicit branch wins over that.
    pub fn add_branch(&self, repo: &str, name: &str, sha: &str) {
        let mut w = self.world.lock();
        let repo_id = w.repo_entry(repo);
        set_ref(&mut w.branches, repo_id, name, sha);
    }

    /// Makes tag `name` of `repo` point at `sha` (moving it if it exists). Tags are only seen
    /// through `GET /repos/{o}/{r}/commits/{ref}`.
    pub fn add_tag(&self, repo: &str, name: &str, sha: &str) {
        let mut w = self.world.lock();
        let repo_id = w.repo_entry(repo);
        set_ref(&mut w.tags, repo_id, name, sha);
    }

    /// Every request either host received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.world.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.world.lock().requests.clear();
    }

    /// False once the artifact was deleted (or never existed).
    pub fn artifact_exists(&self, id: u64) -> bool {
        self.world.lock().artifacts.contains_key(&id)
    }

    /// Queues a fault (see [`Fault`]). Panics on a status or header that HTTP cannot carry.
    pub fn inject(&self, fault: Fault) {
        if let Fault::Status {
            status, headers, ..
        }
        | Fault::StatusFor {
            status, headers, ..
        } = &fault
        {
            assert!(
                StatusCode::from_u16(*status).is_ok(),
                "fault status {status} is not an HTTP status"
            );
            for (k, v) in headers {
                assert!(
                    HeaderName::from_bytes(k.as_bytes()).is_ok()
                        && HeaderValue::from_str(v).is_ok(),
                    "fault header {k:?}: {v:?} is not a valid header"
                );
            }
        }
        self.world.lock().inject(fault);
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The world both hosts share
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct World(Arc<Mutex<Inner>>);

impl World {
    fn new(api_url: String, blob_origin: String) -> World {
        let started = unix_now();
        World(Arc::new(Mutex::new(Inner {
            api_url,
            blob_origin,
            repos: Vec::new(),
            runs: BTreeMap::new(),
            artifacts: BTreeMap::new(),
            next_run_id: FIRST_RUN_ID,
            next_artifact_id: FIRST_ARTIFACT_ID,
            last_run_number: HashMap::new(),
            pulls: Vec::new(),
            branches: Vec::new(),
            tags: Vec::new(),
            requests: Vec::new(),
            api_calls: 0,
            rate_limit_reset: started + 3600,
            faults: Vec::new(),
            single_use_urls: false,
            signed_urls: HashMap::new(),
            minted: 0,
        })))
    }

    /// A panic elsewhere must not turn every later request into a second panic.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Inner {
    api_url: String,
    blob_origin: String,
    repos: Vec<Repo>,
    runs: BTreeMap<u64, Run>,
    artifacts: BTreeMap<u64, Artifact>,
    next_run_id: u64,
    next_artifact_id: u64,
    last_run_number: HashMap<u64, u64>,
    pulls: Vec<Pull>,
    /// Branches added by hand; runs add more implicitly (see `branch_sha`).
    branches: Vec<NamedRef>,
    tags: Vec<NamedRef>,
    requests: Vec<RecordedRequest>,
    api_calls: u64,
    rate_limit_reset: u64,
    faults: Vec<Fault>,
    single_use_urls: bool,
    /// `sig` → the download it authorises.
    signed_urls: HashMap<String, SignedUrl>,
    minted: u64,
}

struct Repo {
    id: u64,
    owner: String,
    name: String,
}

impl Repo {
    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

struct Run {
    id: u64,
    repo_id: u64,
    head_repo_id: u64,
    /// With `run_number` filled in.
    seed: RunSeed,
}

struct Artifact {
    id: u64,
    run_id: u64,
    repo_id: u64,
    seed: ArtifactSeed,
    /// The `digest` field: `None` leaves it out.
    digest: Option<Value>,
}

struct Pull {
    repo_id: u64,
    head_repo_id: u64,
    /// With `number` filled in.
    seed: PullSeed,
}

/// A branch or tag.
struct NamedRef {
    repo_id: u64,
    name: String,
    sha: String,
}

fn set_ref(refs: &mut Vec<NamedRef>, repo_id: u64, name: &str, sha: &str) {
    refs.retain(|r| !(r.repo_id == repo_id && r.name == name));
    refs.push(NamedRef {
        repo_id,
        name: name.to_owned(),
        sha: sha.to_ascii_lowercase(),
    });
}

struct SignedUrl {
    artifact_id: u64,
    uses: u32,
}

impl Inner {
    fn repo_entry(&mut self, full_name: &str) -> u64 {
        let (owner, name) = full_name
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .unwrap_or_else(|| panic!("repository must be `owner/name`, got {full_name:?}"));
        if let Some(r) = self.find_repo(owner, name) {
            return r.id;
        }
        let id = FIRST_REPO_ID + self.repos.len() as u64;
        self.repos.push(Repo {
            id,
            owner: owner.to_owned(),
            name: name.to_owned(),
        });
        id
    }

    /// Owner and name compare case-insensitively, as GitHub's do.
    fn find_repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos
            .iter()
            .find(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name))
    }

    fn repo(&self, id: u64) -> &Repo {
        self.repos
            .iter()
            .find(|r| r.id == id)
            .expect("known repository id")
    }

    fn add_run(&mut self, repo: &str, mut seed: RunSeed) -> u64 {
        let repo_id = self.repo_entry(repo);
        let head_repo_id = match &seed.head_repository {
            Some(head) => self.repo_entry(head),
            None => repo_id,
        };
        let id = match seed.id {
            Some(id) => {
                assert!(!self.runs.contains_key(&id), "run id {id} already exists");
                self.next_run_id = self.next_run_id.max(id + 1);
                id
            }
            None => {
                self.next_run_id += 1;
                self.next_run_id - 1
            }
        };
        let last = self.last_run_number.entry(repo_id).or_insert(0);
        if seed.run_number == 0 {
            seed.run_number = *last + 1;
        }
        *last = (*last).max(seed.run_number);
        seed.id = Some(id);
        self.runs.insert(
            id,
            Run {
                id,
                repo_id,
                head_repo_id,
                seed,
            },
        );
        id
    }

    fn add_pull(&mut self, repo: &str, mut seed: PullSeed) -> u64 {
        let repo_id = self.repo_entry(repo);
        let head_repo_id = match &seed.head_repo {
            Some(head) => self.repo_entry(head),
            None => repo_id,
        };
        if seed.number == 0 {
            seed.number = self
                .pulls
                .iter()
                .filter(|p| p.repo_id == repo_id)
                .map(|p| p.seed.number)
                .max()
                .unwrap_or(0)
                + 1;
        }
        let number = seed.number;
        assert!(
            !self
                .pulls
                .iter()
                .any(|p| p.repo_id == repo_id && p.seed.number == number),
            "pull request #{number} already exists in {repo}"
        );
        self.pulls.push(Pull {
            repo_id,
            head_repo_id,
            seed,
        });
        number
    }

    /// The commit a branch points at: one added by hand, else the head of the newest run (or
    /// pull request) of the repository itself on that branch. Fork runs name the fork's
    /// branches, so they do not count.
    fn branch_sha(&self, repo_id: u64, name: &str) -> Option<String> {
        if let Some(b) = self
            .branches
            .iter()
            .find(|b| b.repo_id == repo_id && b.name == name)
        {
            return Some(b.sha.clone());
        }
        let newest_run = self
            .runs
            .values()
            .filter(|r| {
                r.repo_id == repo_id && r.head_repo_id == repo_id && r.seed.head_branch == name
            })
            .max_by(|a, b| (&a.seed.created_at, a.id).cmp(&(&b.seed.created_at, b.id)));
        if let Some(run) = newest_run {
            return Some(run.seed.head_sha.to_ascii_lowercase());
        }
        self.pulls
            .iter()
            .rev()
            .find(|p| p.repo_id == repo_id && p.head_repo_id == repo_id && p.seed.head_ref == name)
            .map(|p| p.seed.head_sha.to_ascii_lowercase())
    }

    fn tag_sha(&self, repo_id: u64, name: &str) -> Option<String> {
        self.tags
            .iter()
            .find(|t| t.repo_id == repo_id && t.name == name)
            .map(|t| t.sha.clone())
    }

    /// Every commit the repository knows of: run heads, branches, tags, pull request heads.
    fn known_shas(&self, repo_id: u64) -> Vec<String> {
        let mut shas: Vec<String> = self
            .runs
            .values()
            .filter(|r| r.repo_id == repo_id)
            .map(|r| r.seed.head_sha.clone())
            .chain(
                self.branches
                    .iter()
                    .chain(&self.tags)
                    .filter(|r| r.repo_id == repo_id)
                    .map(|r| r.sha.clone()),
            )
            .chain(
                self.pulls
                    .iter()
                    .filter(|p| p.repo_id == repo_id)
                    .map(|p| p.seed.head_sha.clone()),
            )
            .map(|s| s.to_ascii_lowercase())
            .collect();
        shas.sort();
        shas.dedup();
        shas
    }

    /// What `GET /commits/{ref}` resolves `reference` to, the way `git rev-parse` would: a full
    /// SHA, `refs/tags/…`, `refs/heads/…`, a tag, a branch, then an unambiguous SHA prefix of
    /// at least 7 hex digits.
    fn resolve_commit(&self, repo_id: u64, reference: &str) -> Option<String> {
        let is_hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit());
        let known = self.known_shas(repo_id);
        let lower = reference.to_ascii_lowercase();
        if reference.len() == 40 && is_hex(reference) {
            return known.into_iter().find(|s| *s == lower);
        }
        if let Some(tag) = reference.strip_prefix("refs/tags/") {
            return self.tag_sha(repo_id, tag);
        }
        if let Some(branch) = reference.strip_prefix("refs/heads/") {
            return self.branch_sha(repo_id, branch);
        }
        if let Some(sha) = self
            .tag_sha(repo_id, reference)
            .or_else(|| self.branch_sha(repo_id, reference))
        {
            return Some(sha);
        }
        if reference.len() >= 7 && is_hex(reference) {
            let mut matching = known.into_iter().filter(|s| s.starts_with(&lower));
            let first = matching.next()?;
            // GitHub answers 422 to an ambiguous short SHA as well.
            return matching.next().is_none().then_some(first);
        }
        None
    }

    fn add_artifact(&mut self, repo: &str, run_id: u64, seed: ArtifactSeed) -> u64 {
        let run = self
            .runs
            .get(&run_id)
            .unwrap_or_else(|| panic!("add_artifact: no run {run_id}"));
        let run_repo = self.repo(run.repo_id).full_name();
        assert!(
            run_repo.eq_ignore_ascii_case(repo),
            "add_artifact: run {run_id} belongs to {run_repo}, not {repo}"
        );
        let digest = match &seed.digest {
            DigestSeed::Auto => Some(json!(format!("sha256:{:x}", Sha256::digest(&seed.body)))),
            DigestSeed::Null => Some(Value::Null),
            DigestSeed::Absent => None,
            DigestSeed::Fixed(d) => Some(json!(d)),
        };
        let id = self.next_artifact_id;
        self.next_artifact_id += 1;
        let repo_id = run.repo_id;
        self.artifacts.insert(
            id,
            Artifact {
                id,
                run_id,
                repo_id,
                seed,
                digest,
            },
        );
        id
    }

    fn inject(&mut self, fault: Fault) {
        match fault {
            Fault::BlobUrlSingleUse => self.single_use_urls = true,
            f if fault_times(&f) == 0 => {}
            f => self.faults.push(f),
        }
    }

    /// Uses up one application of the first live fault that `pick` accepts.
    fn take_fault(&mut self, pick: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let i = self.faults.iter().position(pick)?;
        let fault = self.faults[i].clone();
        let left = match &mut self.faults[i] {
            Fault::Status { times, .. }
            | Fault::StatusFor { times, .. }
            | Fault::ResetMidBody { times, .. }
            | Fault::StallMidBody { times, .. }
            | Fault::NoRanges { times }
            | Fault::Throttle { times, .. } => {
                *times -= 1;
                *times
            }
            Fault::BlobUrlSingleUse => 1,
        };
        if left == 0 {
            self.faults.remove(i);
        }
        Some(fault)
    }

    fn take_status_fault(&mut self, host: Host, method: &str, path: &str) -> Option<InjectedReply> {
        let fault = self.take_fault(|f| match f {
            Fault::Status {
                host: h,
                path_prefix,
                ..
            } => *h == host && path.starts_with(path_prefix.as_str()),
            Fault::StatusFor {
                host: h,
                method: m,
                path: p,
                ..
            } => *h == host && m.eq_ignore_ascii_case(method) && p == path,
            _ => false,
        })?;
        match fault {
            Fault::Status {
                status,
                headers,
                body,
                ..
            }
            | Fault::StatusFor {
                status,
                headers,
                body,
                ..
            } => Some((status, headers, body)),
            _ => unreachable!("picked a Status fault"),
        }
    }

    fn record(
        &mut self,
        host: Host,
        method: &str,
        path: &str,
        query: &str,
        headers: Vec<(String, String)>,
    ) {
        self.requests.push(RecordedRequest {
            host,
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
        });
    }
}

/// A Status fault's status, headers and body.
type InjectedReply = (u16, Vec<(String, String)>, String);

fn fault_times(f: &Fault) -> u32 {
    match f {
        Fault::Status { times, .. }
        | Fault::StatusFor { times, .. }
        | Fault::ResetMidBody { times, .. }
        | Fault::StallMidBody { times, .. }
        | Fault::NoRanges { times }
        | Fault::Throttle { times, .. } => *times,
        Fault::BlobUrlSingleUse => 1,
    }
}

// ---------------------------------------------------------------------------------------------
// API host
// ---------------------------------------------------------------------------------------------

async fn serve_api(listener: std::net::TcpListener, world: World) {
    let listener = tokio::net::TcpListener::from_std(listener)
        .expect("register the API listener")
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    // One handler routes everything itself: GitHub answers 404 (never 405 or 400) to a wrong
    // method or a malformed id, which axum's typed routes would not.
    let app = Router::new().fallback(api_entry).with_state(world);
    let _ = axum::serve(listener, app).await;
}

/// An API answer before the standard headers are added.
struct ApiReply {
    status: u16,
    content_type: &'static str,
    /// Added after the standard headers, so a Status fault can override those.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl ApiReply {
    fn json(status: u16, body: &Value) -> ApiReply {
        ApiReply {
            status,
            content_type: JSON,
            headers: Vec::new(),
            body: serde_json::to_vec(body).expect("JSON"),
        }
    }

    fn empty(status: u16) -> ApiReply {
        ApiReply {
            status,
            content_type: JSON,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: String) -> ApiReply {
        self.headers.push((name.to_owned(), value));
        self
    }
}

fn not_found() -> ApiReply {
    ApiReply::json(
        404,
        &json!({"message": "Not Found", "documentation_url": DOCS_URL, "status": "404"}),
    )
}

async fn api_entry(
    State(world): State<World>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    let version = headers
        .get("x-github-api-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(DEFAULT_API_VERSION)
        .to_owned();

    let mut state = world.lock();
    state.record(
        Host::Api,
        method.as_str(),
        path,
        query,
        header_pairs(&headers),
    );
    state.api_calls += 1;
    let reply = match state.take_status_fault(Host::Api, method.as_str(), path) {
        Some((status, headers, body)) => ApiReply {
            status,
            content_type: if serde_json::from_str::<Value>(&body).is_ok() {
                JSON
            } else {
                "text/plain; charset=utf-8"
            },
            headers,
            body: body.into_bytes(),
        },
        None => state.api(method.as_str(), path, &Query::parse(query)),
    };
    // The window "resets" before it runs out, so a long benchmark never reads `remaining: 0`
    // and waits an hour: only an injected fault reports an exhausted limit.
    let remaining = RATE_LIMIT - ((state.api_calls - 1) % (RATE_LIMIT - 1) + 1);
    let reset = state.rate_limit_reset;
    let request_id = state.requests.len();
    drop(state);

    let mut out = HeaderMap::new();
    let mut put = |k: &str, v: String| {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            out.insert(k, v);
        }
    };
    put("content-type", reply.content_type.into());
    put("x-github-api-version-selected", version);
    put("x-github-media-type", "github.v3; format=json".into());
    put("x-github-request-id", format!("FAKE:{request_id:08X}"));
    put("x-ratelimit-limit", RATE_LIMIT.to_string());
    put("x-ratelimit-remaining", remaining.to_string());
    put("x-ratelimit-reset", reset.to_string());
    put("x-ratelimit-used", (RATE_LIMIT - remaining).to_string());
    put("x-ratelimit-resource", "core".into());
    if path.contains("/actions/") {
        let permission = if method == Method::DELETE {
            "actions=write"
        } else {
            "actions=read"
        };
        put("x-accepted-github-permissions", permission.into());
    }
    for (k, v) in reply.headers {
        put(&k, v);
    }

    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).expect("valid status");
    *response.headers_mut() = out;
    response
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

impl Inner {
    fn api(&mut self, method: &str, path: &str, q: &Query) -> ApiReply {
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(|s| decode(s, false))
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        // GitHub's own Link headers use `/repositories/{id}/…`, so accept that spelling too.
        let (repo_id, rest) = match segments.as_slice() {
            ["repos", owner, name, rest @ ..] => (self.find_repo(owner, name).map(|r| r.id), rest),
            ["repositories", id, rest @ ..] => (
                id.parse::<u64>()
                    .ok()
                    .filter(|id| self.repos.iter().any(|r| r.id == *id)),
                rest,
            ),
            _ => return not_found(),
        };
        let Some(repo_id) = repo_id else {
            return not_found();
        };
        let link_base = format!("{}/repositories/{repo_id}/{}", self.api_url, rest.join("/"));
        let id = |s: &str| s.parse::<u64>().ok();
        match (method, rest) {
            ("GET", ["actions", "artifacts"]) => {
                let found =
                    self.artifacts_where(|a| a.repo_id == repo_id, q.get("name").as_deref(), false);
                self.artifact_page(found, q, &link_base)
            }
            ("GET", ["actions", "artifacts", a]) => match self.artifact_in(repo_id, id(a)) {
                Some(a) => ApiReply::json(200, &self.artifact_json(a)),
                None => not_found(),
            },
            ("DELETE", ["actions", "artifacts", a]) => {
                match self.artifact_in(repo_id, id(a)).map(|a| a.id) {
                    Some(a) => {
                        self.artifacts.remove(&a);
                        ApiReply::empty(204)
                    }
                    None => not_found(),
                }
            }
            ("GET", ["actions", "artifacts", a, format]) => {
                match self.artifact_in(repo_id, id(a)) {
                    Some(a) if *format == "zip" && a.seed.expired => ApiReply::json(
                        410,
                        &json!({
                            "message": "Artifact has expired",
                            "documentation_url": "https://docs.github.com/rest/actions/artifacts#download-an-artifact",
                            "status": "410",
                        }),
                    ),
                    Some(a) if *format == "zip" => {
                        let a = a.id;
                        let location = self.mint_blob_url(a);
                        ApiReply::empty(302).header("location", location)
                    }
                    _ => not_found(),
                }
            }
            ("GET", ["actions", "runs"]) => self.run_page(repo_id, None, q, &link_base),
            ("GET", ["actions", "runs", r]) => match self.run_in(repo_id, id(r)) {
                Some(run) => ApiReply::json(200, &self.run_json(run)),
                None => not_found(),
            },
            ("GET", ["actions", "runs", r, "artifacts"]) => match self
                .run_in(repo_id, id(r))
                .map(|r| r.id)
            {
                Some(run_id) => {
                    let asc = q.get("direction").as_deref() == Some("asc");
                    let found =
                        self.artifacts_where(|a| a.run_id == run_id, q.get("name").as_deref(), asc);
                    self.artifact_page(found, q, &link_base)
                }
                None => not_found(),
            },
            ("GET", ["pulls", n]) => {
                let pull = id(n).and_then(|n| {
                    self.pulls
                        .iter()
                        .find(|p| p.repo_id == repo_id && p.seed.number == n)
                });
                match pull {
                    Some(p) => ApiReply::json(200, &self.pull_json(p)),
                    None => not_found(),
                }
            }
            // Branch names and refs may hold `/`, sent raw or as `%2F`.
            ("GET", ["branches", name @ ..]) if !name.is_empty() => {
                let name = name.join("/");
                match self.branch_sha(repo_id, &name) {
                    Some(sha) => ApiReply::json(200, &self.branch_json(repo_id, &name, &sha)),
                    None => not_found(),
                }
            }
            ("GET", ["commits", reference @ ..]) if !reference.is_empty() => {
                let reference = reference.join("/");
                match self.resolve_commit(repo_id, &reference) {
                    Some(sha) => ApiReply::json(200, &self.commit_json(repo_id, &sha)),
                    None => ApiReply::json(
                        422,
                        &json!({
                            "message": format!("No commit found for SHA: {reference}"),
                            "documentation_url": "https://docs.github.com/rest/commits/commits#get-a-commit",
                            "status": "422",
                        }),
                    ),
                }
            }
            ("GET", ["actions", "workflows", workflow, "runs"]) => {
                let matches = |run: &Run| match id(workflow) {
                    Some(n) => run.seed.workflow_id == n,
                    None => run.seed.path.rsplit('/').next() == Some(*workflow),
                };
                let known = self
                    .runs
                    .values()
                    .any(|r| r.repo_id == repo_id && matches(r));
                if !known {
                    return not_found();
                }
                self.run_page(repo_id, Some(&matches), q, &link_base)
            }
            _ => not_found(),
        }
    }

    fn artifact_in(&self, repo_id: u64, id: Option<u64>) -> Option<&Artifact> {
        self.artifacts.get(&id?).filter(|a| a.repo_id == repo_id)
    }

    fn run_in(&self, repo_id: u64, id: Option<u64>) -> Option<&Run> {
        self.runs.get(&id?).filter(|r| r.repo_id == repo_id)
    }

    /// Newest first (`created_at`, then id), or oldest first when `asc`.
    fn artifacts_where(
        &self,
        keep: impl Fn(&Artifact) -> bool,
        name: Option<&str>,
        asc: bool,
    ) -> Vec<&Artifact> {
        let mut found: Vec<&Artifact> = self
            .artifacts
            .values()
            .filter(|a| keep(a) && name.is_none_or(|n| a.seed.name == n))
            .collect();
        found.sort_by(|a, b| (&a.seed.created_at, a.id).cmp(&(&b.seed.created_at, b.id)));
        if !asc {
            found.reverse();
        }
        found
    }

    fn artifact_page(&self, found: Vec<&Artifact>, q: &Query, link_base: &str) -> ApiReply {
        let total = found.len();
        let (page, link) = paginate(found, total, q, link_base);
        let artifacts: Vec<Value> = page.into_iter().map(|a| self.artifact_json(a)).collect();
        let reply = ApiReply::json(200, &json!({"total_count": total, "artifacts": artifacts}));
        match link {
            Some(link) => reply.header("link", link),
            None => reply,
        }
    }

    fn run_page(
        &self,
        repo_id: u64,
        workflow: Option<&dyn Fn(&Run) -> bool>,
        q: &Query,
        link_base: &str,
    ) -> ApiReply {
        let branch = q.get("branch");
        let event = q.get("event");
        let status = q.get("status");
        let head_sha = q.get("head_sha");
        let actor = q.get("actor");
        let check_suite = q.get("check_suite_id");
        let filtered = [
            &branch,
            &event,
            &status,
            &head_sha,
            &actor,
            &check_suite,
            &q.get("created"),
        ]
        .iter()
        .any(|f| f.is_some());
        let mut found: Vec<&Run> = self
            .runs
            .values()
            .filter(|r| r.repo_id == repo_id && workflow.is_none_or(|w| w(r)))
            .filter(|r| branch.as_deref().is_none_or(|b| r.seed.head_branch == b))
            .filter(|r| event.as_deref().is_none_or(|e| r.seed.event == e))
            .filter(|r| {
                // Like GitHub, `status` matches either the status or the conclusion.
                status
                    .as_deref()
                    .is_none_or(|s| r.seed.status == s || r.seed.conclusion.as_deref() == Some(s))
            })
            .filter(|r| head_sha.as_deref().is_none_or(|h| r.seed.head_sha == h))
            .filter(|_| {
                actor
                    .as_deref()
                    .is_none_or(|a| a.eq_ignore_ascii_case(ACTOR))
            })
            .filter(|r| {
                check_suite
                    .as_deref()
                    .is_none_or(|c| c == check_suite_id(r.id).to_string())
            })
            .collect();
        found.sort_by(|a, b| (&b.seed.created_at, b.id).cmp(&(&a.seed.created_at, a.id)));
        if filtered {
            found.truncate(FILTERED_RUNS_LIMIT);
        }
        let total = found.len();
        let (page, link) = paginate(found, total, q, link_base);
        let runs: Vec<Value> = page.into_iter().map(|r| self.run_json(r)).collect();
        let reply = ApiReply::json(200, &json!({"total_count": total, "workflow_runs": runs}));
        match link {
            Some(link) => reply.header("link", link),
            None => reply,
        }
    }

    fn mint_blob_url(&mut self, artifact_id: u64) -> String {
        self.minted += 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let raw = Sha256::digest(format!("fake-sas:{artifact_id}:{}:{nanos}", self.minted));
        let sig = base64(&raw);
        self.signed_urls.insert(
            sig.clone(),
            SignedUrl {
                artifact_id,
                uses: 0,
            },
        );
        // Real download URLs are valid for about a minute.
        let expiry = rfc3339(unix_now() + 60);
        format!(
            "{}/blob/{artifact_id}?sv=2025-01-05&se={}&sr=b&sp=r&sig={}",
            self.blob_origin,
            encode(&expiry),
            encode(&sig)
        )
    }

    fn artifact_json(&self, a: &Artifact) -> Value {
        let repo = self.repo(a.repo_id);
        let run = &self.runs[&a.run_id];
        let base = format!(
            "{}/repos/{}/actions/artifacts/{}",
            self.api_url,
            repo.full_name(),
            a.id
        );
        let mut v = json!({
            "id": a.id,
            "node_id": node_id("Artifact", a.id),
            "name": a.seed.name,
            "size_in_bytes": a.seed.body.len(),
            "url": base,
            "archive_download_url": format!("{base}/zip"),
            "expired": a.seed.expired,
            "created_at": a.seed.created_at,
            "updated_at": a.seed.created_at,
            "expires_at": a.seed.expires_at,
            "workflow_run": {
                "id": run.id,
                "repository_id": run.repo_id,
                "head_repository_id": run.head_repo_id,
                "head_branch": run.seed.head_branch,
                "head_sha": run.seed.head_sha,
            },
        });
        if let Some(digest) = &a.digest {
            v["digest"] = digest.clone();
        }
        v
    }

    fn run_json(&self, run: &Run) -> Value {
        let s = &run.seed;
        let repo = self.repo(run.repo_id);
        let head = self.repo(run.head_repo_id);
        let api = &self.api_url;
        let base = format!("{api}/repos/{}", repo.full_name());
        let url = format!("{base}/actions/runs/{}", run.id);
        let message = format!("{} #{}", s.name, s.run_number);
        let tree = format!("{:x}", Sha256::digest(s.head_sha.as_bytes()));
        let previous_attempt =
            (s.run_attempt > 1).then(|| format!("{url}/attempts/{}", s.run_attempt - 1));
        json!({
            "id": run.id,
            "name": s.name,
            "node_id": node_id("WorkflowRun", run.id),
            "head_branch": s.head_branch,
            "head_sha": s.head_sha,
            "path": s.path,
            "display_title": message,
            "run_number": s.run_number,
            "event": s.event,
            "status": s.status,
            "conclusion": s.conclusion,
            "workflow_id": s.workflow_id,
            "check_suite_id": check_suite_id(run.id),
            "check_suite_node_id": node_id("CheckSuite", check_suite_id(run.id)),
            "url": url,
            "html_url": format!("https://github.com/{}/actions/runs/{}", repo.full_name(), run.id),
            "pull_requests": [],
            "created_at": s.created_at,
            "updated_at": s.created_at,
            "actor": user(api, ACTOR, ACTOR_ID),
            "run_attempt": s.run_attempt,
            "referenced_workflows": [],
            "run_started_at": s.created_at,
            "triggering_actor": user(api, ACTOR, ACTOR_ID),
            "jobs_url": format!("{url}/jobs"),
            "logs_url": format!("{url}/logs"),
            "check_suite_url": format!("{base}/check-suites/{}", check_suite_id(run.id)),
            "artifacts_url": format!("{url}/artifacts"),
            "cancel_url": format!("{url}/cancel"),
            "rerun_url": format!("{url}/rerun"),
            "previous_attempt_url": previous_attempt,
            "workflow_url": format!("{base}/actions/workflows/{}", s.workflow_id),
            "head_commit": {
                "id": s.head_sha,
                "tree_id": &tree[..40],
                "message": message,
                "timestamp": s.created_at,
                "author": {"name": "Mona Octocat", "email": "mona@github.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
            "repository": repo_json(api, repo, false),
            "head_repository": repo_json(api, head, head.id != repo.id),
            "head_repository_id": head.id,
        })
    }
}

impl Inner {
    fn pull_json(&self, p: &Pull) -> Value {
        let api = &self.api_url;
        let repo = self.repo(p.repo_id);
        let head = self.repo(p.head_repo_id);
        let s = &p.seed;
        let url = format!("{api}/repos/{}/pulls/{}", repo.full_name(), s.number);
        let base_sha = self
            .branch_sha(p.repo_id, &s.base_ref)
            .unwrap_or_else(|| fake_sha(&format!("{}:{}", repo.full_name(), s.base_ref)));
        let side = |r: &Repo, git_ref: &str, sha: &str, fork: bool| {
            json!({
                "label": format!("{}:{git_ref}", r.owner),
                "ref": git_ref,
                "sha": sha,
                "user": user(api, &r.owner, r.id + 1_000_000),
                "repo": repo_json(api, r, fork),
            })
        };
        json!({
            "id": 90_000_000 + p.repo_id % 1000 * 10_000 + s.number,
            "node_id": node_id("PullRequest", s.number),
            "number": s.number,
            "state": "open",
            "locked": false,
            "title": format!("Pull request #{} from {}", s.number, s.head_ref),
            "user": user(api, ACTOR, ACTOR_ID),
            "body": null,
            "url": url,
            "html_url": format!("https://github.com/{}/pull/{}", repo.full_name(), s.number),
            "diff_url": format!("https://github.com/{}/pull/{}.diff", repo.full_name(), s.number),
            "commits_url": format!("{url}/commits"),
            "statuses_url": format!("{api}/repos/{}/statuses/{}", repo.full_name(), s.head_sha),
            "created_at": "2026-11-19T09:00:00Z",
            "updated_at": "2026-11-20T09:00:00Z",
            "closed_at": null,
            "merged_at": null,
            "merge_commit_sha": null,
            "draft": false,
            "head": side(head, &s.head_ref, &s.head_sha, head.id != repo.id),
            "base": side(repo, &s.base_ref, &base_sha, false),
            "author_association": "MEMBER",
        })
    }

    fn branch_json(&self, repo_id: u64, name: &str, sha: &str) -> Value {
        let base = format!("{}/repos/{}", self.api_url, self.repo(repo_id).full_name());
        json!({
            "name": name,
            "commit": {"sha": sha, "url": format!("{base}/commits/{sha}")},
            "_links": {
                "self": format!("{base}/branches/{}", encode(name)),
                "html": format!("https://github.com/{}/tree/{name}", self.repo(repo_id).full_name()),
            },
            "protected": false,
            "protection_url": format!("{base}/branches/{}/protection", encode(name)),
        })
    }

    fn commit_json(&self, repo_id: u64, sha: &str) -> Value {
        let full = self.repo(repo_id).full_name();
        let base = format!("{}/repos/{full}", self.api_url);
        // The newest run at this commit lends its title and time, as a push's run would.
        let run = self
            .runs
            .values()
            .filter(|r| r.repo_id == repo_id && r.seed.head_sha.eq_ignore_ascii_case(sha))
            .max_by(|a, b| (&a.seed.created_at, a.id).cmp(&(&b.seed.created_at, b.id)));
        let (message, date) = match run {
            Some(r) => (
                format!("{} #{}", r.seed.name, r.seed.run_number),
                r.seed.created_at.clone(),
            ),
            None => (
                format!("Commit {}", &sha[..sha.len().min(7)]),
                "2026-11-20T09:00:00Z".to_owned(),
            ),
        };
        let tree = fake_sha(&format!("tree:{sha}"));
        let person = json!({"name": "Mona Octocat", "email": "mona@github.com", "date": date});
        json!({
            "sha": sha,
            "node_id": base64(format!("06:Commit{sha}").as_bytes()),
            "commit": {
                "author": person,
                "committer": person,
                "message": message,
                "tree": {"sha": tree, "url": format!("{base}/git/trees/{tree}")},
                "url": format!("{base}/git/commits/{sha}"),
                "comment_count": 0,
            },
            "url": format!("{base}/commits/{sha}"),
            "html_url": format!("https://github.com/{full}/commit/{sha}"),
            "comments_url": format!("{base}/commits/{sha}/comments"),
            "author": user(&self.api_url, ACTOR, ACTOR_ID),
            "committer": user(&self.api_url, ACTOR, ACTOR_ID),
            "parents": [],
        })
    }
}

/// A stable, SHA-1-length hex string made from `seed`.
fn fake_sha(seed: &str) -> String {
    format!("{:x}", Sha256::digest(seed.as_bytes()))[..40].to_owned()
}

const ACTOR: &str = "octocat";
const ACTOR_ID: u64 = 583_231;

fn check_suite_id(run_id: u64) -> u64 {
    40_000_000 + run_id
}

/// GitHub's legacy global ids: base64 of `0<len>:<Type><id>`, e.g. `MDQ6VXNlcjE=` for user 1.
fn node_id(kind: &str, id: u64) -> String {
    base64(format!("0{}:{kind}{id}", kind.len()).as_bytes())
}

fn user(api: &str, login: &str, id: u64) -> Value {
    let url = format!("{api}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": node_id("User", id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": url,
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{url}/followers"),
        "following_url": format!("{url}/following{{/other_user}}"),
        "gists_url": format!("{url}/gists{{/gist_id}}"),
        "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{url}/subscriptions"),
        "organizations_url": format!("{url}/orgs"),
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events{{/privacy}}"),
        "received_events_url": format!("{url}/received_events"),
        "type": "User",
        "user_view_type": "public",
        "site_admin": false,
    })
}

fn repo_json(api: &str, repo: &Repo, fork: bool) -> Value {
    let full = repo.full_name();
    let url = format!("{api}/repos/{full}");
    json!({
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": full,
        "private": false,
        "owner": user(api, &repo.owner, repo.id + 1_000_000),
        "html_url": format!("https://github.com/{full}"),
        "description": null,
        "fork": fork,
        "url": url,
        "archive_url": format!("{url}/{{archive_format}}{{/ref}}"),
        "branches_url": format!("{url}/branches{{/branch}}"),
        "commits_url": format!("{url}/commits{{/sha}}"),
        "contents_url": format!("{url}/contents/{{+path}}"),
        "downloads_url": format!("{url}/downloads"),
        "events_url": format!("{url}/events"),
        "git_commits_url": format!("{url}/git/commits{{/sha}}"),
        "hooks_url": format!("{url}/hooks"),
        "issues_url": format!("{url}/issues{{/number}}"),
        "pulls_url": format!("{url}/pulls{{/number}}"),
        "releases_url": format!("{url}/releases{{/id}}"),
        "tags_url": format!("{url}/tags"),
        "trees_url": format!("{url}/git/trees{{/sha}}"),
    })
}

/// The page the query asks for, and GitHub's `Link` header (prev, next, last, first — each only
/// where it applies; none when everything fits on page 1).
fn paginate<T>(
    items: Vec<T>,
    total: usize,
    q: &Query,
    link_base: &str,
) -> (Vec<T>, Option<String>) {
    let number = |key: &str| {
        q.get(key)
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    let per_page = number("per_page").unwrap_or(30).min(100);
    let page = number("page").unwrap_or(1);
    let last = total.div_ceil(per_page).max(1);
    let skip = (page - 1).saturating_mul(per_page);
    let items: Vec<T> = items.into_iter().skip(skip).take(per_page).collect();

    let mut rels = Vec::new();
    if page > 1 {
        rels.push((page - 1, "prev"));
    }
    if page < last {
        rels.push((page + 1, "next"));
        rels.push((last, "last"));
    }
    if page > 1 {
        rels.push((1, "first"));
    }
    let link = rels
        .iter()
        .map(|(n, rel)| format!("<{link_base}?{}>; rel=\"{rel}\"", q.with_page(*n)))
        .collect::<Vec<_>>()
        .join(", ");
    (items, (!link.is_empty()).then_some(link))
}

/// A query string kept raw, so links can repeat the caller's parameters exactly.
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: &str) -> Query {
        let pairs = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Query { pairs }
    }

    /// The decoded value; the last one wins, and an empty value counts as absent.
    fn get(&self, key: &str) -> Option<String> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| decode(k, true) == key)
            .map(|(_, v)| decode(v, true))
            .filter(|v| !v.is_empty())
    }

    fn with_page(&self, page: usize) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut placed = false;
        for (k, v) in &self.pairs {
            if decode(k, true) == "page" {
                if !placed {
                    out.push(format!("page={page}"));
                    placed = true;
                }
            } else {
                out.push(format!("{k}={v}"));
            }
        }
        if !placed {
            out.push(format!("page={page}"));
        }
        out.join("&")
    }
}

// ---------------------------------------------------------------------------------------------
// Blob host
// ---------------------------------------------------------------------------------------------

async fn serve_blob(listener: std::net::TcpListener, world: World) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("register the blob listener");
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(blob_connection(tcp, world.clone()));
            }
            // Out of descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// A parsed request head.
struct BlobRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    keep_alive: bool,
}

impl BlobRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct BlobReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    cut: Option<Cut>,
    /// Bytes per second, for a throttled body.
    pace: Option<u64>,
}

/// How a faulted download ends early.
enum Cut {
    Close { after: usize },
    Stall { after: usize, stall: Duration },
}

/// Serves requests on one keep-alive connection until the client closes it or a reply ends it.
async fn blob_connection(tcp: TcpStream, world: World) {
    let (read, mut write) = tcp.into_split();
    let mut read = BufReader::new(read);
    loop {
        let Some(req) = read_head(&mut read).await else {
            return;
        };
        let reply = {
            let mut state = world.lock();
            state.record(
                Host::Blob,
                &req.method,
                &req.path,
                &req.query,
                req.headers.clone(),
            );
            state.blob(&req)
        };
        let Some(reply) = reply else {
            return;
        };
        // Request bodies are not expected; skip one if sent so the next head parses.
        let length = req
            .header("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = length.filter(|n| *n > 0) {
            let mut body = (&mut read).take(n);
            if tokio::io::copy(&mut body, &mut tokio::io::sink())
                .await
                .is_err()
            {
                return;
            }
        }
        match write_reply(&mut write, req.method == "HEAD", reply).await {
            Ok(true) if req.keep_alive => {}
            _ => return,
        }
    }
}

/// `None` at end of stream or on a head that is not HTTP/1.x.
async fn read_head(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<BlobRequest> {
    const MAX_HEAD: usize = 64 * 1024;
    let mut lines: Vec<String> = Vec::new();
    let mut size = 0;
    loop {
        let mut line = Vec::new();
        if read.read_until(b'\n', &mut line).await.ok()? == 0 {
            return None;
        }
        size += line.len();
        if size > MAX_HEAD {
            return None;
        }
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        if line.is_empty() {
            // Tolerate stray blank lines between pipelined requests.
            if lines.is_empty() {
                continue;
            }
            break;
        }
        lines.push(line);
    }
    let mut request_line = lines[0].split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?;
    let version = request_line.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let connection = headers
        .iter()
        .find(|(k, _)| k == "connection")
        .map(|(_, v)| v.to_ascii_lowercase());
    let keep_alive = match connection.as_deref() {
        Some(c) if c.contains("close") => false,
        Some(c) if c.contains("keep-alive") => true,
        _ => version == "HTTP/1.1",
    };
    Some(BlobRequest {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        keep_alive,
    })
}

/// Writes the reply; `Ok(false)` when the connection must end here.
async fn write_reply(
    write: &mut OwnedWriteHalf,
    head_only: bool,
    reply: BlobReply,
) -> std::io::Result<bool> {
    let reason = StatusCode::from_u16(reply.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    head.push_str(&format!("Date: {}\r\n\r\n", http_date(unix_now())));
    write.write_all(head.as_bytes()).await?;
    if head_only {
        write.flush().await?;
        return Ok(true);
    }
    match reply.cut {
        None => {
            write_paced(write, &reply.body, reply.pace).await?;
            write.flush().await?;
            Ok(true)
        }
        Some(Cut::Close { after }) => {
            write_paced(
                write,
                &reply.body[..after.min(reply.body.len())],
                reply.pace,
            )
            .await?;
            write.flush().await?;
            // FIN after a short body: every HTTP client must call that an incomplete message.
            write.shutdown().await?;
            Ok(false)
        }
        Some(Cut::Stall { after, stall }) => {
            write_paced(
                write,
                &reply.body[..after.min(reply.body.len())],
                reply.pace,
            )
            .await?;
            write.flush().await?;
            tokio::time::sleep(stall).await;
            Ok(false)
        }
    }
}

/// Writes `body` at about `pace` bytes per second, or at once without one.
async fn write_paced(
    write: &mut OwnedWriteHalf,
    body: &[u8],
    pace: Option<u64>,
) -> std::io::Result<()> {
    const TICK: Duration = Duration::from_millis(50);
    let Some(rate) = pace else {
        return write.write_all(body).await;
    };
    // Twenty slices a second, one per tick: the client sees a steady trickle, not bursts a
    // second apart.
    let slice = usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1);
    for part in body.chunks(slice) {
        write.write_all(part).await?;
        write.flush().await?;
        tokio::time::sleep(TICK).await;
    }
    Ok(())
}

fn azure_error(status: u16, code: &str, message: &str, detail: Option<&str>) -> BlobReply {
    let now = unix_now();
    let detail = detail.map_or(String::new(), |d| {
        format!("<AuthenticationErrorDetail>{d}</AuthenticationErrorDetail>")
    });
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}\n\
         RequestId:{:08x}-0000-0000-0000-000000000000\nTime:{}</Message>{detail}</Error>",
        now & 0xffff_ffff,
        rfc3339(now)
    );
    BlobReply {
        status,
        headers: vec![
            ("Content-Type".into(), "application/xml".into()),
            ("Server".into(), "Microsoft-HTTPAPI/2.0".into()),
            ("x-ms-error-code".into(), code.into()),
        ],
        body: Bytes::from(body),
        cut: None,
        pace: None,
    }
}

impl Inner {
    /// `None` closes the connection without an answer.
    fn blob(&mut self, req: &BlobRequest) -> Option<BlobReply> {
        if let Some((status, headers, body)) =
            self.take_status_fault(Host::Blob, &req.method, &req.path)
        {
            let mut headers = headers;
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                let kind = if body.starts_with('<') {
                    "application/xml"
                } else {
                    "text/plain"
                };
                headers.push(("Content-Type".into(), kind.into()));
            }
            return Some(BlobReply {
                status,
                headers,
                body: Bytes::from(body),
                cut: None,
                pace: None,
            });
        }
        if !matches!(req.method.as_str(), "GET" | "HEAD") {
            return Some(azure_error(
                405,
                "UnsupportedHttpVerb",
                "The resource doesn't support specified Http Verb.",
                None,
            ));
        }
        let Some(id) = req
            .path
            .strip_prefix("/blob/")
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return Some(azure_error(
                404,
                "ResourceNotFound",
                "The specified resource does not exist.",
                None,
            ));
        };
        // Storage refuses a SAS URL that also carries a bearer token; a client that forwards
        // its GitHub token across the redirect fails here, as it would in production.
        if req.header("authorization").is_some() {
            return Some(azure_error(
                400,
                "InvalidAuthenticationInfo",
                "Authentication information is not given in the correct format. Check the value of Authorization header.",
                None,
            ));
        }
        let q = Query::parse(&req.query);
        let Some(sig) = q.get("sig") else {
            return Some(azure_error(
                403,
                "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
                Some("sig is mandatory"),
            ));
        };
        let single_use = self.single_use_urls;
        let signed = self
            .signed_urls
            .get_mut(&sig)
            .filter(|s| s.artifact_id == id);
        let Some(signed) = signed else {
            return Some(azure_error(
                403,
                "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
                Some("Signature did not match."),
            ));
        };
        if single_use && signed.uses > 0 {
            return Some(azure_error(
                403,
                "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
                Some("Signed expiry time has to be after the current time."),
            ));
        }
        signed.uses += 1;
        let Some(artifact) = self.artifacts.get(&id) else {
            return Some(azure_error(
                404,
                "BlobNotFound",
                "The specified blob does not exist.",
                None,
            ));
        };
        let body = artifact.seed.body.clone();
        let mut headers = vec![
            (
                "Content-Type".to_owned(),
                artifact.seed.content_type.clone(),
            ),
            (
                "Content-Disposition".to_owned(),
                content_disposition(
                    artifact
                        .seed
                        .filename
                        .clone()
                        .unwrap_or_else(|| format!("{}.zip", artifact.seed.name))
                        .as_str(),
                ),
            ),
            ("ETag".to_owned(), format!("\"0x8DD{:012X}\"", id)),
            (
                "Last-Modified".to_owned(),
                "Fri, 20 Nov 2026 10:05:00 GMT".to_owned(),
            ),
            (
                "Server".to_owned(),
                "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0".to_owned(),
            ),
            ("x-ms-version".to_owned(), "2025-01-05".to_owned()),
            ("x-ms-blob-type".to_owned(), "BlockBlob".to_owned()),
        ];

        let no_ranges = self
            .take_fault(|f| matches!(f, Fault::NoRanges { .. }))
            .is_some();
        let range = if no_ranges {
            None
        } else {
            headers.push(("Accept-Ranges".to_owned(), "bytes".to_owned()));
            req.header("range").and_then(|r| parse_range(r, body.len()))
        };
        let (status, body) = match range {
            None => (200, body),
            Some(Ok((start, end))) => {
                headers.push((
                    "Content-Range".to_owned(),
                    format!("bytes {start}-{end}/{}", body.len()),
                ));
                (206, body.slice(start..=end))
            }
            Some(Err(())) => {
                let mut reply = azure_error(
                    416,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                    None,
                );
                reply.headers.push((
                    "Content-Range".to_owned(),
                    format!("bytes */{}", body.len()),
                ));
                return Some(reply);
            }
        };
        let cut = self
            .take_fault(|f| matches!(f, Fault::ResetMidBody { .. } | Fault::StallMidBody { .. }))
            .map(|f| match f {
                Fault::ResetMidBody { after_bytes, .. } => Cut::Close { after: after_bytes },
                Fault::StallMidBody {
                    after_bytes, stall, ..
                } => Cut::Stall {
                    after: after_bytes,
                    stall,
                },
                _ => unreachable!("picked a body fault"),
            });
        let pace = self
            .take_fault(|f| matches!(f, Fault::Throttle { .. }))
            .map(|f| match f {
                Fault::Throttle { bytes_per_sec, .. } => bytes_per_sec,
                _ => unreachable!("picked a Throttle fault"),
            });
        Some(BlobReply {
            status,
            headers,
            body,
            cut,
            pace,
        })
    }
}

/// One `bytes=` range as inclusive offsets. `None`: no usable Range header (serve everything,
/// as servers do with multi-range or malformed values); `Some(Err)`: unsatisfiable (416).
fn parse_range(header: &str, total: usize) -> Option<Result<(usize, usize), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let suffix: usize = last.parse().ok()?;
        if suffix == 0 || total == 0 {
            return Some(Err(()));
        }
        return Some(Ok((total - suffix.min(total), total - 1)));
    }
    let start: usize = first.parse().ok()?;
    let end = if last.is_empty() {
        usize::MAX
    } else {
        last.parse().ok()?
    };
    if end < start {
        return None;
    }
    if start >= total {
        return Some(Err(()));
    }
    Some(Ok((start, end.min(total - 1))))
}

/// `attachment; filename="…"; filename*=UTF-8''…` — the quoted form made plain ASCII, the
/// extended form exact.
fn content_disposition(filename: &str) -> String {
    let plain: String = filename
        .chars()
        .map(|c| match c {
            '"' | '\\' => '_',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '_',
        })
        .collect();
    format!(
        "attachment; filename=\"{plain}\"; filename*=UTF-8''{}",
        encode(filename)
    )
}

// ---------------------------------------------------------------------------------------------
// Small encoders, so the fake needs no more crates
// ---------------------------------------------------------------------------------------------

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes; `plus_is_space` for query strings (form encoding).
fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// (year, month, day, hour, minute, second) in UTC; Howard Hinnant's civil-from-days.
fn civil(secs: u64) -> (i64, u64, u64, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem / 60 % 60, rem % 60)
}

fn rfc3339(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s) = civil(secs);
    let weekday = DAYS[(secs / 86_400 % 7) as usize];
    let month = MONTHS[(mo - 1) as usize];
    format!("{weekday}, {d:02} {month} {y} {h:02}:{mi:02}:{s:02} GMT")
}
