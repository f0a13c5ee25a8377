//! The fake GitHub's own tests: that it answers like GitHub (checked against GitHub's OpenAPI
//! schemas where we have them), serves downloads like Azure blob storage, and that every fault
//! does exactly what it promises. The other integration tests trust it, so it is tested first.
//!
//! Requests go over plain `std::net::TcpStream` (so a cut or stalled body can be seen byte for
//! byte) and, where a real client's verdict matters, through `curl`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest;

use crate::support::fake_github::{ArtifactSeed, DigestSeed, FakeGitHub, Fault, Host, RunSeed};

const REPO: &str = "octo/app";

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The body is as long as `Content-Length` says.
    complete: bool,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `rel` → URL, from the `Link` header.
    fn links(&self) -> BTreeMap<String, String> {
        let Some(link) = self.header("link") else {
            return BTreeMap::new();
        };
        link.split(", ")
            .map(|part| {
                let (url, rel) = part.split_once("; rel=").expect("link part");
                let url = url.trim_start_matches('<').trim_end_matches('>');
                (rel.trim_matches('"').to_owned(), url.to_owned())
            })
            .collect()
    }
}

/// Splits `http://host:port/path?q` into the authority and the request target.
fn split_url(url: &str) -> (&str, &str) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

fn open(url: &str, method: &str, headers: &[(&str, &str)]) -> TcpStream {
    let (authority, target) = split_url(url);
    let mut tcp = TcpStream::connect(authority).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req =
        format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).expect("send request");
    tcp
}

/// Reads until the server closes (or resets) the connection.
fn read_to_close(tcp: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return raw,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

fn parse(raw: &[u8]) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = raw[end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse::<usize>().expect("numeric Content-Length"));
    Resp {
        status,
        complete: length.is_none_or(|n| n == body.len()),
        headers,
        body,
    }
}

fn send(method: &str, url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut tcp = open(url, method, headers);
    parse(&read_to_close(&mut tcp))
}

fn get(url: &str) -> Resp {
    send("GET", url, &[])
}

fn api(gh: &FakeGitHub, path: &str) -> Resp {
    get(&format!("{}{path}", gh.api_url()))
}

#[track_caller]
fn api_json(gh: &FakeGitHub, path: &str) -> Value {
    let r = api(gh, path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// A fresh signed download URL for artifact `id` of [`REPO`].
#[track_caller]
fn blob_url(gh: &FakeGitHub, id: u64) -> String {
    let r = api(gh, &format!("/repos/{REPO}/actions/artifacts/{id}/zip"));
    assert_eq!(r.status, 302, "{}", r.text());
    r.header("location").expect("Location").to_owned()
}

/// `curl`'s exit code and stderr, or `None` (with a note) where curl is not installed.
fn curl(args: &[&str]) -> Option<(i32, String, Vec<u8>)> {
    match Command::new("curl").args(args).output() {
        Ok(out) => Some((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.stdout,
        )),
        Err(e) => {
            eprintln!("note: skipping the curl check: {e}");
            None
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Bytes that are not valid UTF-8 and not all alike, so slicing mistakes show.
fn binary_body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn not_found() -> Value {
    json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
}

// ---------------------------------------------------------------------------------------------
// A small OpenAPI 3.0 schema checker
// ---------------------------------------------------------------------------------------------

struct Spec {
    doc: Value,
}

impl Spec {
    /// GitHub's schemas from the shared reference, or `None` (with a note) when absent.
    fn load() -> Option<Spec> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/github-openapi-subset.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(Spec {
                doc: serde_json::from_str(&text).expect("the OpenAPI subset is JSON"),
            }),
            Err(e) => {
                eprintln!("note: skipping the OpenAPI check, {}: {e}", path.display());
                None
            }
        }
    }

    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let pointer = r.strip_prefix('#').expect("local $ref");
            schema = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
        }
        schema
    }

    fn component(&self, name: &str) -> &Value {
        &self.doc["components"]["schemas"][name]
    }

    /// The JSON schema of one documented response.
    fn response(&self, path: &str, method: &str, status: &str) -> &Value {
        let response = self.resolve(&self.doc["paths"][path][method]["responses"][status]);
        let schema = &response["content"]["application/json"]["schema"];
        assert!(!schema.is_null(), "no schema for {method} {path} {status}");
        schema
    }

    #[track_caller]
    fn assert_valid(&self, schema: &Value, value: &Value, what: &str) {
        let mut errors = Vec::new();
        self.check(schema, value, what, &mut errors);
        assert!(
            errors.is_empty(),
            "{what} breaks the schema:\n{}",
            errors.join("\n")
        );
    }

    fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        for sub in schema["allOf"].as_array().into_iter().flatten() {
            self.check(sub, value, at, errors);
        }
        if let Some(alternatives) = schema["oneOf"].as_array() {
            let passing = alternatives
                .iter()
                .filter(|s| self.errors(s, value).is_empty())
                .count();
            if passing != 1 {
                errors.push(format!("{at}: matches {passing} `oneOf` alternatives"));
            }
        }
        if let Some(alternatives) = schema["anyOf"].as_array()
            && !alternatives
                .iter()
                .any(|s| self.errors(s, value).is_empty())
        {
            errors.push(format!("{at}: matches no `anyOf` alternative"));
        }
        if value.is_null() {
            let typed = schema.get("type").is_some() || schema.get("properties").is_some();
            if typed && schema["nullable"] != true {
                errors.push(format!("{at}: null, but the schema is not nullable"));
            }
            return;
        }
        if let Some(kind) = schema["type"].as_str() {
            let ok = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => panic!("{at}: unknown schema type {other}"),
            };
            if !ok {
                errors.push(format!("{at}: expected {kind}, got {value}"));
                return;
            }
        }
        if schema["format"] == "date-time"
            && let Some(s) = value.as_str()
            && !is_date_time(s)
        {
            errors.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        if let Some(object) = value.as_object() {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().expect("required names are strings");
                if !object.contains_key(name) {
                    errors.push(format!("{at}: missing required `{name}`"));
                }
            }
            let properties = schema["properties"].as_object();
            for (name, v) in object {
                match properties.and_then(|p| p.get(name)) {
                    Some(sub) => self.check(sub, v, &format!("{at}.{name}"), errors),
                    None if schema["additionalProperties"] == false => {
                        errors.push(format!("{at}: unexpected `{name}`"));
                    }
                    None => {}
                }
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            for (i, v) in array.iter().enumerate() {
                self.check(items, v, &format!("{at}[{i}]"), errors);
            }
        }
    }

    /// Names of the schema's properties that `value` lacks (optional ones included).
    fn missing_properties(&self, schema: &Value, value: &Value) -> Vec<String> {
        let schema = self.resolve(schema);
        schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .filter(|k| value.get(k.as_str()).is_none())
            .cloned()
            .collect()
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !(digits(0..4) && digits(5..7) && digits(8..10) && digits(11..13))
        || !(digits(14..16) && digits(17..19))
        || (b[4], b[7], b[10], b[13], b[16]) != (b'-', b'-', b'T', b':', b':')
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':')
}

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

#[test]
fn the_schema_checker_catches_mistakes() {
    let Some(spec) = Spec::load() else { return };
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", b"x".to_vec()));
    let artifact = api_json(&gh, &format!("/repos/{REPO}/actions/artifacts/{id}"));
    let run_json = api_json(&gh, &format!("/repos/{REPO}/actions/runs/{run}"));
    let artifact_schema = spec.component("artifact");
    let run_schema = spec.component("workflow-run");
    assert!(spec.errors(artifact_schema, &artifact).is_empty());

    let broken = |mut v: Value, edit: &dyn Fn(&mut Value)| {
        edit(&mut v);
        v
    };
    let bad_artifacts = [
        broken(artifact.clone(), &|v| {
            v.as_object_mut().unwrap().remove("node_id");
        }),
        broken(artifact.clone(), &|v| v["id"] = json!("5")),
        broken(artifact.clone(), &|v| v["expired"] = json!("no")),
        broken(artifact.clone(), &|v| v["created_at"] = json!("yesterday")),
        broken(artifact.clone(), &|v| v["workflow_run"]["id"] = json!(1.5)),
        broken(artifact.clone(), &|v| v["name"] = Value::Null),
    ];
    for bad in &bad_artifacts {
        assert!(!spec.errors(artifact_schema, bad).is_empty(), "{bad}");
    }
    // Nullable fields may be null.
    let ok = broken(artifact, &|v| {
        v["digest"] = Value::Null;
        v["workflow_run"] = Value::Null;
        v["expires_at"] = Value::Null;
    });
    assert!(spec.errors(artifact_schema, &ok).is_empty());

    assert!(spec.errors(run_schema, &run_json).is_empty());
    let no_commit = broken(run_json.clone(), &|v| v["head_commit"] = Value::Null);
    assert!(
        spec.errors(run_schema, &no_commit).is_empty(),
        "head_commit is nullable"
    );
    for bad in [
        broken(run_json.clone(), &|v| v["repository"] = Value::Null),
        broken(run_json.clone(), &|v| {
            v["actor"].as_object_mut().unwrap().remove("login");
        }),
        broken(run_json.clone(), &|v| v["pull_requests"] = json!({})),
        broken(run_json, &|v| {
            v["head_commit"]["author"]["email"] = json!(7)
        }),
    ] {
        assert!(!spec.errors(run_schema, &bad).is_empty(), "{bad}");
    }
}

#[test]
fn artifacts_have_every_field_of_githubs_schema() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = binary_body(1234);
    let seed = |name: &str, digest: DigestSeed| ArtifactSeed {
        digest,
        ..ArtifactSeed::new(name, body.clone())
    };
    let auto = gh.add_artifact(REPO, run, seed("auto", DigestSeed::Auto));
    let null = gh.add_artifact(REPO, run, seed("null", DigestSeed::Null));
    let absent = gh.add_artifact(REPO, run, seed("absent", DigestSeed::Absent));
    let fixed = gh.add_artifact(
        REPO,
        run,
        seed("fixed", DigestSeed::Fixed("sha256:ABC".into())),
    );
    let expired = gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            expired: true,
            ..ArtifactSeed::new("old", b"gone".to_vec())
        },
    );
    assert_eq!(
        (run, auto, expired),
        (1000, 5000, 5004),
        "ids count from 1000 and 5000"
    );

    let get = |id: u64| api_json(&gh, &format!("/repos/{REPO}/actions/artifacts/{id}"));
    let list = api_json(&gh, &format!("/repos/{REPO}/actions/artifacts"));
    let by_run = api_json(&gh, &format!("/repos/{REPO}/actions/runs/{run}/artifacts"));
    if let Some(spec) = Spec::load() {
        let list_schema = spec.response("/repos/{owner}/{repo}/actions/artifacts", "get", "200");
        spec.assert_valid(list_schema, &list, "repository artifact list");
        let run_list_schema = spec.response(
            "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts",
            "get",
            "200",
        );
        spec.assert_valid(run_list_schema, &by_run, "run artifact list");
        let one = spec.response(
            "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}",
            "get",
            "200",
        );
        for id in [auto, null, absent, fixed, expired] {
            let a = get(id);
            spec.assert_valid(one, &a, &format!("artifact {id}"));
            let missing = spec.missing_properties(one, &a);
            let expected: Vec<String> = if id == absent {
                vec!["digest".into()]
            } else {
                vec![]
            };
            assert_eq!(missing, expected, "artifact {id}");
        }
    }

    let a = get(auto);
    let api_url = gh.api_url();
    assert_eq!(a["id"], auto);
    assert_eq!(a["name"], "auto");
    assert_eq!(a["size_in_bytes"], 1234);
    assert_eq!(a["digest"], format!("sha256:{}", sha256_hex(&body)));
    assert_eq!(
        a["url"],
        format!("{api_url}/repos/{REPO}/actions/artifacts/{auto}")
    );
    assert_eq!(
        a["archive_download_url"],
        format!("{api_url}/repos/{REPO}/actions/artifacts/{auto}/zip")
    );
    // GitHub's legacy node id: base64("08:Artifact5000").
    assert_eq!(a["node_id"], "MDg6QXJ0aWZhY3Q1MDAw");
    assert_eq!(a["expired"], false);
    assert_eq!(a["created_at"], "2026-11-20T10:05:00Z");
    assert_eq!(a["expires_at"], "2027-02-18T10:05:00Z");
    let repo_id = gh.add_repo(REPO);
    assert_eq!(
        a["workflow_run"],
        json!({
            "id": run,
            "repository_id": repo_id,
            "head_repository_id": repo_id,
            "head_branch": "main",
            "head_sha": RunSeed::default().head_sha,
        })
    );
    let null = get(null);
    assert!(null.get("digest").is_some_and(Value::is_null), "{null}");
    assert!(get(absent).get("digest").is_none());
    assert_eq!(get(fixed)["digest"], "sha256:ABC");
    assert_eq!(get(expired)["expired"], true);
    assert_eq!(list["total_count"], 5);
    assert_eq!(by_run["total_count"], 5);
}

#[test]
fn workflow_runs_have_every_field_of_githubs_schema() {
    let gh = FakeGitHub::start();
    let plain = gh.add_run(REPO, RunSeed::default());
    let fork = gh.add_run(
        REPO,
        RunSeed {
            head_repository: Some("forker/app-fork".into()),
            event: "pull_request".into(),
            head_branch: "feature".into(),
            status: "in_progress".into(),
            conclusion: None,
            run_attempt: 2,
            ..RunSeed::default()
        },
    );
    let explicit = gh.add_run(
        REPO,
        RunSeed {
            id: Some(77_000),
            ..RunSeed::default()
        },
    );
    assert_eq!((plain, fork, explicit), (1000, 1001, 77_000));
    assert_eq!(gh.add_run(REPO, RunSeed::default()), 77_001);
    let artifact = gh.add_artifact(REPO, fork, ArtifactSeed::new("dist", b"x".to_vec()));

    let run = |id: u64| api_json(&gh, &format!("/repos/{REPO}/actions/runs/{id}"));
    let list = api_json(&gh, &format!("/repos/{REPO}/actions/runs"));
    let by_workflow = api_json(&gh, &format!("/repos/{REPO}/actions/workflows/1/runs"));
    if let Some(spec) = Spec::load() {
        let one = spec.response("/repos/{owner}/{repo}/actions/runs/{run_id}", "get", "200");
        for id in [plain, fork, explicit] {
            let r = run(id);
            spec.assert_valid(one, &r, &format!("run {id}"));
            assert_eq!(
                spec.missing_properties(one, &r),
                Vec::<String>::new(),
                "run {id}"
            );
            for user in ["actor", "triggering_actor"] {
                let missing = spec.missing_properties(spec.component("simple-user"), &r[user]);
                assert!(
                    missing
                        .iter()
                        .all(|m| m == "name" || m == "email" || m == "starred_at")
                );
            }
        }
        let list_schema = spec.response("/repos/{owner}/{repo}/actions/runs", "get", "200");
        spec.assert_valid(list_schema, &list, "run list");
        let workflow_schema = spec.response(
            "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
            "get",
            "200",
        );
        spec.assert_valid(workflow_schema, &by_workflow, "workflow run list");
    }

    let api_url = gh.api_url();
    let p = run(plain);
    assert_eq!(
        p["html_url"],
        format!("https://github.com/{REPO}/actions/runs/{plain}")
    );
    assert_eq!(
        p["url"],
        format!("{api_url}/repos/{REPO}/actions/runs/{plain}")
    );
    assert_eq!(
        p["artifacts_url"],
        format!("{api_url}/repos/{REPO}/actions/runs/{plain}/artifacts")
    );
    assert_eq!(p["path"], ".github/workflows/build.yml");
    assert_eq!(p["run_number"], 1);
    assert_eq!(p["conclusion"], "success");
    assert_eq!(p["pull_requests"], json!([]));
    assert_eq!(p["repository"]["full_name"], REPO);
    assert_eq!(p["head_repository"]["full_name"], REPO);
    assert_eq!(p["head_repository_id"], p["repository"]["id"]);
    assert_eq!(p["previous_attempt_url"], Value::Null);
    assert_eq!(p["head_commit"]["id"], p["head_sha"]);

    let f = run(fork);
    assert_eq!(f["run_number"], 2);
    assert_eq!(f["conclusion"], Value::Null);
    assert_eq!(f["head_repository"]["full_name"], "forker/app-fork");
    assert_eq!(f["head_repository"]["fork"], true);
    assert_ne!(f["head_repository_id"], f["repository"]["id"]);
    assert_eq!(f["head_repository_id"], f["head_repository"]["id"]);
    assert_eq!(
        f["previous_attempt_url"],
        format!("{api_url}/repos/{REPO}/actions/runs/{fork}/attempts/1")
    );
    let a = api_json(&gh, &format!("/repos/{REPO}/actions/artifacts/{artifact}"));
    assert_eq!(
        a["workflow_run"]["head_repository_id"],
        f["head_repository_id"]
    );
    assert_eq!(a["workflow_run"]["repository_id"], f["repository"]["id"]);
    // The fork's runs and artifacts stay the base repository's.
    assert_eq!(
        api(&gh, "/repos/forker/app-fork/actions/runs").json()["total_count"],
        0
    );
}

#[test]
fn every_answer_carries_githubs_headers() {
    let gh = FakeGitHub::start();
    assert!(gh.api_url().starts_with("http://127.0.0.1:") && !gh.api_url().ends_with('/'));
    assert!(gh.blob_origin().starts_with("http://127.0.0.2:"));
    let run = gh.add_run(REPO, RunSeed::default());

    let url = format!("{}/repos/{REPO}/actions/runs/{run}", gh.api_url());
    let chosen = send("GET", &url, &[("X-GitHub-Api-Version", "2026-03-10")]);
    let default = get(&url);
    let missing = get(&format!("{}/repos/{REPO}/actions/runs/1", gh.api_url()));
    for r in [&chosen, &default, &missing] {
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert!(r.header("x-github-api-version-selected").is_some());
        assert!(r.header("x-ratelimit-remaining").is_some());
        assert_eq!(
            r.header("x-accepted-github-permissions"),
            Some("actions=read")
        );
    }
    assert_eq!(
        chosen.header("x-github-api-version-selected"),
        Some("2026-03-10")
    );
    assert_eq!(
        default.header("x-github-api-version-selected"),
        Some("2022-11-28")
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), not_found());
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

#[test]
fn pagination_over_250_artifacts_gives_three_linked_pages() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let ids: Vec<u64> = (0..250)
        .map(|i| gh.add_artifact(REPO, run, ArtifactSeed::new(&format!("a{i}"), vec![1])))
        .collect();
    let repo_id = gh.add_repo(REPO);
    let base = format!("{}/repositories/{repo_id}/actions/artifacts", gh.api_url());

    let first = api(
        &gh,
        &format!("/repos/{REPO}/actions/artifacts?per_page=100"),
    );
    assert_eq!(
        first.header("link"),
        Some(
            format!(
                "<{base}?per_page=100&page=2>; rel=\"next\", <{base}?per_page=100&page=3>; rel=\"last\""
            )
            .as_str()
        )
    );
    let mut seen = Vec::new();
    let mut page = first;
    let mut pages = 0;
    loop {
        pages += 1;
        let body = page.json();
        assert_eq!(body["total_count"], 250, "total_count counts every match");
        let items = body["artifacts"].as_array().unwrap();
        assert_eq!(items.len(), [100, 100, 50][pages - 1]);
        seen.extend(items.iter().map(|a| a["id"].as_u64().unwrap()));
        let links = page.links();
        match pages {
            1 => assert_eq!(links.keys().collect::<Vec<_>>(), ["last", "next"]),
            2 => {
                assert_eq!(
                    links.keys().collect::<Vec<_>>(),
                    ["first", "last", "next", "prev"]
                );
                assert_eq!(links["prev"], format!("{base}?per_page=100&page=1"));
                assert_eq!(links["first"], format!("{base}?per_page=100&page=1"));
            }
            _ => assert_eq!(links.keys().collect::<Vec<_>>(), ["first", "prev"]),
        }
        // The links are GitHub's `/repositories/{id}` form, and they work.
        let Some(next) = links.get("next") else { break };
        page = get(next);
        assert_eq!(page.status, 200);
    }
    assert_eq!(pages, 3);
    let newest_first: Vec<u64> = ids.iter().rev().copied().collect();
    assert_eq!(seen, newest_first, "newest first, every artifact once");

    let past = api_json(
        &gh,
        &format!("/repos/{REPO}/actions/artifacts?per_page=100&page=4"),
    );
    assert_eq!(
        (past["total_count"].clone(), past["artifacts"].clone()),
        (json!(250), json!([]))
    );
    let default = api(&gh, &format!("/repos/{REPO}/actions/artifacts"));
    assert_eq!(default.json()["artifacts"].as_array().unwrap().len(), 30);
    assert_eq!(default.links()["last"], format!("{base}?page=9"));
    let capped = api_json(
        &gh,
        &format!("/repos/{REPO}/actions/artifacts?per_page=500"),
    );
    assert_eq!(capped["artifacts"].as_array().unwrap().len(), 100);
}

#[test]
fn links_keep_the_other_query_parameters() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    for _ in 0..3 {
        gh.add_artifact(REPO, run, ArtifactSeed::new("my dist", vec![1]));
    }
    let repo_id = gh.add_repo(REPO);
    let r = api(
        &gh,
        &format!(
            "/repos/{REPO}/actions/runs/{run}/artifacts?name=my+dist&page=1&per_page=2&direction=asc"
        ),
    );
    assert_eq!(r.json()["total_count"], 3);
    let base = format!(
        "{}/repositories/{repo_id}/actions/runs/{run}/artifacts",
        gh.api_url()
    );
    assert_eq!(
        r.links()["next"],
        format!("{base}?name=my+dist&page=2&per_page=2&direction=asc")
    );
    let second = get(&r.links()["next"]).json();
    assert_eq!(second["artifacts"].as_array().unwrap().len(), 1);
    assert_eq!(second["artifacts"][0]["name"], "my dist");
}

#[test]
fn name_filter_is_exact_and_owner_and_repo_are_case_insensitive() {
    let gh = FakeGitHub::start();
    let older = gh.add_run(REPO, RunSeed::default());
    let newer = gh.add_run(REPO, RunSeed::default());
    let at = |created: &str, name: &str| ArtifactSeed {
        created_at: created.into(),
        ..ArtifactSeed::new(name, vec![1])
    };
    let old = gh.add_artifact(REPO, older, at("2026-11-01T00:00:00Z", "dist"));
    let new = gh.add_artifact(REPO, newer, at("2026-11-02T00:00:00Z", "dist"));
    gh.add_artifact(REPO, newer, at("2026-11-03T00:00:00Z", "dist-extra"));
    gh.add_artifact(REPO, newer, at("2026-11-03T00:00:00Z", "Dist"));
    gh.add_artifact(REPO, newer, at("2026-11-03T00:00:00Z", "with space"));
    let other = gh.add_run("someone/else", RunSeed::default());
    gh.add_artifact("someone/else", other, ArtifactSeed::new("dist", vec![1]));

    let found = api_json(&gh, "/repos/OCTO/App/actions/artifacts?name=dist");
    assert_eq!(found["total_count"], 2);
    let ids: Vec<_> = found["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, [json!(new), json!(old)], "newest first");
    // The URLs keep the repository's own spelling.
    assert!(
        found["artifacts"][0]["url"]
            .as_str()
            .unwrap()
            .contains("/repos/octo/app/")
    );
    for q in ["with+space", "with%20space"] {
        let found = api_json(&gh, &format!("/repos/{REPO}/actions/artifacts?name={q}"));
        assert_eq!(found["total_count"], 1, "{q}");
    }
    let in_run = api_json(
        &gh,
        &format!("/repos/octo/APP/actions/runs/{newer}/artifacts?name=dist"),
    );
    assert_eq!(in_run["total_count"], 1);
    assert_eq!(
        api_json(&gh, "/repos/octo/app/actions/artifacts")["total_count"],
        5
    );
    assert_eq!(
        api_json(&gh, &format!("/repos/Octo/App/actions/runs/{older}"))["id"],
        older
    );

    let unknown = api(&gh, "/repos/octo/nope/actions/artifacts");
    assert_eq!((unknown.status, unknown.json()), (404, not_found()));
}

#[test]
fn run_artifacts_sort_both_ways_and_unknown_ids_are_404() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let other_run = gh.add_run(REPO, RunSeed::default());
    let at = |created: &str| ArtifactSeed {
        created_at: created.into(),
        ..ArtifactSeed::new("x", vec![1])
    };
    let b = gh.add_artifact(REPO, run, at("2026-11-02T00:00:00Z"));
    let c = gh.add_artifact(REPO, run, at("2026-11-03T00:00:00Z"));
    let a = gh.add_artifact(REPO, run, at("2026-11-01T00:00:00Z"));
    gh.add_artifact(REPO, other_run, at("2026-11-04T00:00:00Z"));
    let elsewhere = gh.add_run("octo/other", RunSeed::default());
    let foreign = gh.add_artifact("octo/other", elsewhere, ArtifactSeed::new("y", vec![1]));

    let ids = |query: &str| -> Vec<u64> {
        api_json(
            &gh,
            &format!("/repos/{REPO}/actions/runs/{run}/artifacts{query}"),
        )["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(""), [c, b, a]);
    assert_eq!(ids("?direction=desc"), [c, b, a]);
    assert_eq!(ids("?direction=asc"), [a, b, c]);

    for path in [
        "/repos/octo/app/actions/runs/999999/artifacts".to_owned(),
        "/repos/octo/app/actions/runs/999999".to_owned(),
        format!("/repos/octo/app/actions/runs/{elsewhere}"),
        format!("/repos/octo/app/actions/runs/{elsewhere}/artifacts"),
        format!("/repos/octo/app/actions/artifacts/{foreign}"),
        format!("/repos/octo/app/actions/artifacts/{foreign}/zip"),
        "/repos/octo/app/actions/artifacts/abc".to_owned(),
        format!("/repos/octo/app/actions/artifacts/{a}/tar"),
        "/repos/octo/app/actions/nothing".to_owned(),
        "/repositories/1/actions/artifacts".to_owned(),
        "/".to_owned(),
    ] {
        let r = api(&gh, &path);
        assert_eq!((r.status, r.json()), (404, not_found()), "{path}");
    }
    let post = send(
        "POST",
        &format!("{}/repos/{REPO}/actions/artifacts", gh.api_url()),
        &[],
    );
    assert_eq!(post.status, 404);
}

#[test]
fn run_lists_filter_and_sort_like_github() {
    let gh = FakeGitHub::start();
    let seed =
        |created: &str, branch: &str, event: &str, status: &str, conclusion: Option<&str>| {
            RunSeed {
                created_at: created.into(),
                head_branch: branch.into(),
                event: event.into(),
                status: status.into(),
                conclusion: conclusion.map(Into::into),
                ..RunSeed::default()
            }
        };
    let a = gh.add_run(
        REPO,
        seed(
            "2026-11-01T00:00:00Z",
            "main",
            "push",
            "completed",
            Some("success"),
        ),
    );
    let b = gh.add_run(
        REPO,
        RunSeed {
            workflow_id: 2,
            path: ".github/workflows/test.yml".into(),
            head_sha: "a".repeat(40),
            ..seed(
                "2026-11-03T00:00:00Z",
                "feature",
                "pull_request",
                "completed",
                Some("failure"),
            )
        },
    );
    let c = gh.add_run(
        REPO,
        seed("2026-11-02T00:00:00Z", "main", "push", "in_progress", None),
    );
    let d = gh.add_run(
        REPO,
        seed(
            "2026-11-02T00:00:00Z",
            "main",
            "schedule",
            "completed",
            Some("success"),
        ),
    );

    let ids = |path: &str| -> Vec<u64> {
        api_json(&gh, &format!("/repos/{REPO}/actions/{path}"))["workflow_runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids("runs"), [b, d, c, a], "created_at desc, then id desc");
    assert_eq!(ids("runs?branch=main"), [d, c, a]);
    assert_eq!(ids("runs?event=pull_request"), [b]);
    assert_eq!(
        ids("runs?status=success"),
        [d, a],
        "status matches the conclusion"
    );
    assert_eq!(ids("runs?status=completed"), [b, d, a]);
    assert_eq!(ids("runs?status=in_progress"), [c]);
    assert_eq!(ids(&format!("runs?head_sha={}", "a".repeat(40))), [b]);
    assert_eq!(ids("runs?branch=main&event=push&status=success"), [a]);
    assert_eq!(ids("workflows/1/runs"), [d, c, a]);
    assert_eq!(ids("workflows/build.yml/runs"), [d, c, a]);
    assert_eq!(ids("workflows/test.yml/runs?status=failure"), [b]);
    assert_eq!(ids("workflows/2/runs?branch=main"), Vec::<u64>::new());
    for missing in ["workflows/nope.yml/runs", "workflows/99/runs"] {
        let r = api(&gh, &format!("/repos/{REPO}/actions/{missing}"));
        assert_eq!((r.status, r.json()), (404, not_found()), "{missing}");
    }
}

#[test]
fn filtered_run_lists_stop_at_1000() {
    let gh = FakeGitHub::start();
    for _ in 0..1005 {
        gh.add_run(REPO, RunSeed::default());
    }
    let all = api(&gh, &format!("/repos/{REPO}/actions/runs?per_page=100"));
    assert_eq!(all.json()["total_count"], 1005);
    assert!(all.links()["last"].ends_with("page=11"));

    let filtered = api(
        &gh,
        &format!("/repos/{REPO}/actions/runs?branch=main&per_page=100"),
    );
    assert_eq!(filtered.json()["total_count"], 1000);
    assert!(
        filtered.links()["last"].ends_with("&page=10"),
        "{:?}",
        filtered.links()
    );
    let tenth = api_json(
        &gh,
        &format!("/repos/{REPO}/actions/runs?branch=main&per_page=100&page=10"),
    );
    assert_eq!(tenth["workflow_runs"].as_array().unwrap().len(), 100);
    let eleventh = api_json(
        &gh,
        &format!("/repos/{REPO}/actions/runs?branch=main&per_page=100&page=11"),
    );
    assert_eq!(eleventh["workflow_runs"], json!([]));
    let by_workflow = api_json(
        &gh,
        &format!("/repos/{REPO}/actions/workflows/build.yml/runs?event=push&per_page=1"),
    );
    assert_eq!(by_workflow["total_count"], 1000);
}

// ---------------------------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------------------------

#[test]
fn download_redirects_to_a_signed_url_on_the_blob_host() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = binary_body(70_000);
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));

    let url = format!("{}/repos/{REPO}/actions/artifacts/{id}/zip", gh.api_url());
    let redirect = send("GET", &url, &[("Authorization", "Bearer secret")]);
    assert_eq!(redirect.status, 302);
    assert!(redirect.body.is_empty());
    let location = redirect.header("location").unwrap().to_owned();
    let prefix = format!("{}/blob/{id}?sv=2025-01-05&se=", gh.blob_origin());
    assert!(location.starts_with(&prefix), "{location}");
    assert!(location.starts_with("http://127.0.0.2:"));
    assert!(location.contains("&sr=b&sp=r&sig="), "{location}");
    let sig = location.split("sig=").nth(1).unwrap();
    assert!(
        sig.len() > 40 && sig.ends_with("%3D"),
        "base64 like a real SAS: {sig}"
    );
    assert_ne!(blob_url(&gh, id), location, "every call mints a new URL");

    let blob = get(&location);
    assert_eq!(blob.status, 200);
    assert!(blob.complete);
    assert_eq!(blob.body, body);
    assert_eq!(blob.header("content-type"), Some("application/zip"));
    assert_eq!(blob.header("content-length"), Some("70000"));
    assert_eq!(blob.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        blob.header("content-disposition"),
        Some("attachment; filename=\"dist.zip\"; filename*=UTF-8''dist.zip")
    );

    // A signature is for one artifact, and must be the one minted.
    let other = gh.add_artifact(REPO, run, ArtifactSeed::new("other", vec![1]));
    let moved = location.replace(&format!("/blob/{id}?"), &format!("/blob/{other}?"));
    let tampered = location.replace("%3D", "A%3D");
    let unsigned = location.split("&sig=").next().unwrap().to_owned();
    for bad in [moved, tampered, unsigned] {
        let r = get(&bad);
        assert_eq!(r.status, 403, "{bad}");
        assert!(
            r.text().contains("<Code>AuthenticationFailed</Code>"),
            "{}",
            r.text()
        );
        assert_eq!(r.header("x-ms-error-code"), Some("AuthenticationFailed"));
    }
}

#[test]
fn the_blob_names_the_file_like_azure() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            content_type: "application/json".into(),
            filename: Some("résumé \"v2\".json".into()),
            ..ArtifactSeed::new("report", b"{}".to_vec())
        },
    );
    let blob = get(&blob_url(&gh, id));
    assert_eq!(blob.header("content-type"), Some("application/json"));
    assert_eq!(
        blob.header("content-disposition"),
        Some(
            "attachment; filename=\"r_sum_ _v2_.json\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.json"
        )
    );
}

#[test]
fn expired_artifacts_are_listed_but_gone() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            expired: true,
            ..ArtifactSeed::new("dist", vec![1])
        },
    );
    assert_eq!(
        api_json(&gh, &format!("/repos/{REPO}/actions/artifacts"))["artifacts"][0]["expired"],
        true
    );
    let r = api(&gh, &format!("/repos/{REPO}/actions/artifacts/{id}/zip"));
    assert_eq!(r.status, 410);
    assert_eq!(r.header("location"), None);
    assert_eq!(r.json()["message"], "Artifact has expired");
    assert_eq!(r.json()["status"], "410");
    if let Some(spec) = Spec::load() {
        let gone = spec.response(
            "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}",
            "get",
            "410",
        );
        spec.assert_valid(gone, &r.json(), "410 body");
    }
}

#[test]
fn the_blob_host_refuses_a_bearer_token_but_records_it() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", vec![1, 2, 3]));
    let url = blob_url(&gh, id);
    gh.clear_requests();
    let r = send("GET", &url, &[("Authorization", "Bearer ghs_leaked")]);
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("<Code>InvalidAuthenticationInfo</Code>"),
        "{}",
        r.text()
    );
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let reqs = gh.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].host, Host::Blob);
    assert_eq!(reqs[0].header("Authorization"), Some("Bearer ghs_leaked"));
    // The refusal did not use the URL up.
    assert_eq!(get(&url).body, [1, 2, 3]);
}

#[test]
fn the_blob_host_serves_ranges() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = binary_body(1000);
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));
    let url = blob_url(&gh, id);
    let ranged = |range: &str| send("GET", &url, &[("Range", range)]);

    let tail = ranged("bytes=600-");
    assert_eq!(tail.status, 206);
    assert_eq!(tail.header("content-range"), Some("bytes 600-999/1000"));
    assert_eq!(tail.header("content-length"), Some("400"));
    assert_eq!(tail.body, &body[600..]);
    let middle = ranged("bytes=5-9");
    assert_eq!((middle.status, middle.body.as_slice()), (206, &body[5..10]));
    let suffix = ranged("bytes=-4");
    assert_eq!(suffix.header("content-range"), Some("bytes 996-999/1000"));
    assert_eq!(suffix.body, &body[996..]);
    let past = ranged("bytes=1000-");
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */1000"));
    let several = ranged("bytes=0-1,5-6");
    assert_eq!((several.status, several.body.len()), (200, 1000));
}

#[test]
fn delete_removes_the_artifact_everywhere() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", vec![1]));
    let url = blob_url(&gh, id);
    assert!(gh.artifact_exists(id));

    let artifact = format!("{}/repos/{REPO}/actions/artifacts/{id}", gh.api_url());
    let deleted = send("DELETE", &artifact, &[]);
    assert_eq!((deleted.status, deleted.body.len()), (204, 0));
    assert_eq!(
        deleted.header("x-accepted-github-permissions"),
        Some("actions=write")
    );
    assert!(!gh.artifact_exists(id));
    assert_eq!(get(&artifact).status, 404);
    assert_eq!(send("DELETE", &artifact, &[]).status, 404);
    assert_eq!(
        api_json(&gh, &format!("/repos/{REPO}/actions/artifacts"))["total_count"],
        0
    );
    let blob = get(&url);
    assert_eq!(blob.status, 404);
    assert!(blob.text().contains("<Code>BlobNotFound</Code>"));
}

#[test]
fn requests_are_recorded_in_order_on_both_hosts() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", vec![1]));
    let list = format!(
        "{}/repos/{REPO}/actions/artifacts?name=dist&per_page=100",
        gh.api_url()
    );
    send(
        "GET",
        &list,
        &[
            ("X-Custom-Thing", "Yes"),
            ("Accept", "application/vnd.github+json"),
        ],
    );
    let url = blob_url(&gh, id);
    get(&url);
    get(&format!("{}/nowhere", gh.api_url()));

    let reqs = gh.requests();
    let seen: Vec<_> = reqs
        .iter()
        .map(|r| (r.host, r.method.as_str(), r.path.as_str()))
        .collect();
    let blob_path = format!("/blob/{id}");
    let zip_path = format!("/repos/{REPO}/actions/artifacts/{id}/zip");
    assert_eq!(
        seen,
        [
            (
                Host::Api,
                "GET",
                format!("/repos/{REPO}/actions/artifacts").as_str()
            ),
            (Host::Api, "GET", zip_path.as_str()),
            (Host::Blob, "GET", blob_path.as_str()),
            (Host::Api, "GET", "/nowhere"),
        ]
    );
    assert_eq!(reqs[0].query, "name=dist&per_page=100");
    assert!(
        reqs[0]
            .headers
            .iter()
            .any(|(k, v)| k == "x-custom-thing" && v == "Yes")
    );
    assert_eq!(reqs[0].header("X-CUSTOM-THING"), Some("Yes"));
    assert_eq!(
        reqs[0].header("accept"),
        Some("application/vnd.github+json")
    );
    assert_eq!(reqs[2].query, url.split_once('?').unwrap().1);
    assert!(reqs[2].header("host").unwrap().starts_with("127.0.0.2:"));

    gh.clear_requests();
    assert!(gh.requests().is_empty());
}

#[test]
fn blob_connections_are_kept_alive() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", binary_body(100_000)));
    let url = blob_url(&gh, id);
    let Some((code, stderr, out)) = curl(&[
        "-s",
        "-S",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{num_connects}\n",
        &url,
        &url,
    ]) else {
        return;
    };
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "200 1\n200 0\n",
        "the second GET reuses the connection"
    );
}

#[test]
fn dropping_the_fake_closes_everything_at_once() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", binary_body(10_000)));
    let url = blob_url(&gh, id);
    gh.inject(Fault::StallMidBody {
        after_bytes: 10,
        stall: Duration::from_secs(60),
        times: 1,
    });
    let mut stalled = open(&url, "GET", &[]);
    // Wait for the head and the 10 bytes, so the download is surely under way.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .is_none_or(|end| raw.len() < end + 14)
    {
        let n = stalled.read(&mut buf).expect("the prefix arrives");
        assert!(n > 0, "closed before the stall");
        raw.extend_from_slice(&buf[..n]);
    }
    assert_eq!(parse(&raw).body.len(), 10);
    let (api_addr, blob_addr) = (
        split_url(&gh.api_url()).0.to_owned(),
        split_url(&url).0.to_owned(),
    );

    let started = Instant::now();
    drop(gh);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drop waited for a stalled download"
    );
    // The stalled connection ends with the fake, not 60 s later (the read timeout is 20 s).
    assert!(read_to_close(&mut stalled).is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(TcpStream::connect(api_addr).is_err());
    assert!(TcpStream::connect(blob_addr).is_err());
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

fn status_fault(
    host: Host,
    path_prefix: &str,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
    times: u32,
) -> Fault {
    Fault::Status {
        host,
        path_prefix: path_prefix.into(),
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
        times,
    }
}

#[test]
fn status_faults_answer_the_next_matching_requests_in_order() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", vec![9; 10]));
    let artifacts = format!("/repos/{REPO}/actions/artifacts");
    gh.inject(status_fault(
        Host::Api,
        &artifacts,
        503,
        &[("retry-after", "7")],
        "unavailable",
        2,
    ));
    gh.inject(status_fault(
        Host::Api,
        &artifacts,
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "12345"),
        ],
        r#"{"message":"API rate limit exceeded"}"#,
        1,
    ));

    // Another path is not affected and uses nothing up.
    assert_eq!(api(&gh, &format!("/repos/{REPO}/actions/runs")).status, 200);
    for _ in 0..2 {
        let r = api(&gh, &artifacts);
        assert_eq!((r.status, r.text().as_str()), (503, "unavailable"));
        assert_eq!(r.header("retry-after"), Some("7"));
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    }
    let limited = api(&gh, &format!("{artifacts}/{id}"));
    assert_eq!(limited.status, 403);
    assert_eq!(limited.json()["message"], "API rate limit exceeded");
    assert_eq!(
        limited.header("x-ratelimit-remaining"),
        Some("0"),
        "fault headers win"
    );
    assert_eq!(limited.header("x-ratelimit-reset"), Some("12345"));
    assert_eq!(
        limited.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(api(&gh, &artifacts).status, 200, "all used up");

    // Blob faults are for the blob host only, and the request is still recorded.
    let url = blob_url(&gh, id);
    gh.inject(status_fault(
        Host::Blob,
        "/blob/",
        500,
        &[],
        "<Error><Code>InternalError</Code></Error>",
        1,
    ));
    gh.inject(status_fault(Host::Api, "/nothing-matches", 500, &[], "", 1));
    gh.clear_requests();
    let failed = get(&url);
    assert_eq!(failed.status, 500);
    assert_eq!(failed.header("content-type"), Some("application/xml"));
    assert_eq!(gh.requests().len(), 1);
    assert_eq!(
        get(&url).body,
        vec![9; 10],
        "the URL still works afterwards"
    );
}

#[test]
fn reset_mid_body_sends_exactly_the_prefix_then_closes() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = binary_body(300_000);
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));
    let url = blob_url(&gh, id);
    gh.inject(Fault::ResetMidBody {
        after_bytes: 1000,
        times: 1,
    });
    gh.inject(Fault::ResetMidBody {
        after_bytes: 2000,
        times: 1,
    });

    let cut = get(&url);
    assert_eq!(cut.status, 200);
    assert_eq!(
        cut.header("content-length"),
        Some("300000"),
        "the full length is announced"
    );
    assert!(!cut.complete);
    assert_eq!(cut.body, &body[..1000]);
    let ranged = send("GET", &url, &[("Range", "bytes=1000-")]);
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.header("content-length"), Some("299000"));
    assert_eq!(
        ranged.body,
        &body[1000..3000],
        "the second fault, counted in the range"
    );
    let whole = get(&url);
    assert!(whole.complete && whole.body == body, "faults used up");

    // A real client calls it an error, not a short file.
    gh.inject(Fault::ResetMidBody {
        after_bytes: 50_000,
        times: 1,
    });
    if let Some((code, stderr, out)) = curl(&["-s", "-S", &url]) {
        assert_eq!(code, 18, "curl: partial file expected; stderr: {stderr}");
        assert_eq!(out, &body[..50_000]);
    }
}

#[test]
fn stall_mid_body_goes_silent_then_closes() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = binary_body(50_000);
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));
    let url = blob_url(&gh, id);
    let stall = Duration::from_millis(800);
    gh.inject(Fault::StallMidBody {
        after_bytes: 700,
        stall,
        times: 1,
    });

    let started = Instant::now();
    let mut tcp = open(&url, "GET", &[]);
    tcp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    // The prefix arrives, then nothing: the read times out while the server is silent.
    let timed_out = loop {
        match tcp.read(&mut buf) {
            Ok(0) => break false,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => {
                assert!(matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ));
                break true;
            }
        }
    };
    assert!(timed_out, "the server should stall, not close");
    assert_eq!(parse(&raw).body, &body[..700]);
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(
        read_to_close(&mut tcp).is_empty(),
        "nothing more after the stall"
    );
    assert!(
        started.elapsed() >= stall,
        "closed after {:?}",
        started.elapsed()
    );

    assert!(get(&url).complete, "used up");
    gh.inject(Fault::StallMidBody {
        after_bytes: 10,
        stall: Duration::from_secs(30),
        times: 1,
    });
    if let Some((code, stderr, _)) = curl(&["-s", "-S", "--max-time", "1", &url]) {
        assert_eq!(code, 28, "curl: timeout expected; stderr: {stderr}");
    }
}

#[test]
fn no_ranges_serves_everything_without_accept_ranges() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = binary_body(5000);
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));
    let url = blob_url(&gh, id);
    gh.inject(Fault::NoRanges { times: 2 });
    gh.inject(Fault::ResetMidBody {
        after_bytes: 100,
        times: 1,
    });

    // Both faults at once: no ranges, and cut short.
    let first = send("GET", &url, &[("Range", "bytes=4000-")]);
    assert_eq!((first.status, first.header("accept-ranges")), (200, None));
    assert_eq!(first.header("content-length"), Some("5000"));
    assert_eq!(first.body, &body[..100]);
    let second = send("GET", &url, &[("Range", "bytes=4000-")]);
    assert_eq!((second.status, second.header("accept-ranges")), (200, None));
    assert!(second.complete && second.body == body);
    let third = send("GET", &url, &[("Range", "bytes=4000-")]);
    assert_eq!(
        (third.status, third.header("accept-ranges")),
        (206, Some("bytes"))
    );
}

#[test]
fn single_use_blob_urls_need_a_fresh_redirect() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", vec![5; 64]));
    let before = blob_url(&gh, id);
    assert_eq!(get(&before).status, 200);
    gh.inject(Fault::BlobUrlSingleUse);
    assert_eq!(get(&before).status, 403, "a URL used before counts as used");

    let first = blob_url(&gh, id);
    assert_eq!(get(&first).body, vec![5; 64]);
    let again = send("GET", &first, &[("Range", "bytes=10-")]);
    assert_eq!(again.status, 403);
    assert!(again.text().contains("<Code>AuthenticationFailed</Code>"));
    let fresh = blob_url(&gh, id);
    assert_ne!(fresh, first);
    let resumed = send("GET", &fresh, &[("Range", "bytes=10-")]);
    assert_eq!((resumed.status, resumed.body.len()), (206, 54));
}
