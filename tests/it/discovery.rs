//! Run discovery and artifact selection: without `run-id`, the run is found with the run
//! filters (`workflow`, `branch`, `event`, `commit`, `ref`, `pr`, `run-number`,
//! `workflow-conclusion`, `search-artifacts`, `allow-forks`); the artifacts are chosen by name,
//! pattern, regular expression or id, laid out, merged, kept zipped, only reported (dry run) or
//! deleted afterwards.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::Value;

use crate::support::action::{Job, Outcome, REPO, sha256, tree};
use crate::support::fake_github::{
    ArtifactSeed, DigestSeed, FakeGitHub, Fault, Host, PullSeed, RunSeed,
};
use crate::support::zips::{ZipBuilder, zip_of};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A distinct, sortable time on day `day` of November 2026.
fn at(day: u32) -> String {
    format!("2026-11-{day:02}T10:00:00Z")
}

/// A successful push run of `build.yml` on `main`, created on `day`.
fn run_on(day: u32) -> RunSeed {
    RunSeed {
        created_at: at(day),
        ..RunSeed::default()
    }
}

/// A `pull_request` run of `build.yml` whose code came from the fork `mallory/app`.
fn fork_run_on(day: u32) -> RunSeed {
    RunSeed {
        head_repository: Some("mallory/app".into()),
        event: "pull_request".into(),
        ..run_on(day)
    }
}

/// A 40-digit commit SHA made of one hex digit.
fn sha(digit: char) -> String {
    assert!(digit.is_ascii_hexdigit());
    std::iter::repeat_n(digit, 40).collect()
}

/// A zip holding `which.txt` = `label`, so a test can tell which artifact landed.
fn labelled(label: &str) -> Vec<u8> {
    zip_of(&[("which.txt", label)])
}

/// Adds a run with one artifact `dist` labelled `label`; returns the run id.
fn run_with_dist(gh: &FakeGitHub, seed: RunSeed, label: &str) -> u64 {
    let run = gh.add_run(REPO, seed);
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", labelled(label)));
    run
}

/// Adds an artifact created on `day` (minute `minute`), labelled with its own name.
fn add_named(gh: &FakeGitHub, run: u64, name: &str, day: u32, minute: u32) -> u64 {
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            created_at: format!("2026-11-{day:02}T10:{minute:02}:00Z"),
            ..ArtifactSeed::new(name, labelled(name))
        },
    )
}

/// A job against `gh` with these inputs.
fn job_with(gh: &FakeGitHub, inputs: &[(&str, &str)]) -> Job {
    inputs
        .iter()
        .fold(Job::new(&gh.api_url()), |j, (k, v)| j.input(k, v))
}

/// Runs the job and insists it succeeded.
#[track_caller]
fn fetch(gh: &FakeGitHub, inputs: &[(&str, &str)]) -> (Job, Outcome) {
    let job = job_with(gh, inputs);
    let out = job.run();
    out.assert_success();
    (job, out)
}

/// `which.txt` under `dir`.
#[track_caller]
fn which(dir: &Path) -> String {
    fs::read_to_string(dir.join("which.txt"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("which.txt").display()))
}

/// The `artifacts` output, parsed.
#[track_caller]
fn artifacts(out: &Outcome) -> Vec<Value> {
    let v: Value = serde_json::from_str(out.output("artifacts")).expect("artifacts is JSON");
    v.as_array().expect("artifacts is an array").clone()
}

/// The names in the `artifacts` output, sorted.
fn artifact_names(out: &Outcome) -> Vec<String> {
    let mut names: Vec<String> = artifacts(out)
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    names
}

/// The first log line containing every needle.
fn log_line<'a>(out: &'a Outcome, needles: &[&str]) -> Option<&'a str> {
    out.stdout
        .lines()
        .find(|l| needles.iter().all(|n| l.contains(n)))
}

#[track_caller]
fn assert_logged(out: &Outcome, needles: &[&str]) {
    assert!(
        log_line(out, needles).is_some(),
        "no log line containing all of {needles:?}; stdout:\n{}",
        out.stdout
    );
}

/// An output that must be absent or empty (e.g. `artifact-id` when several were fetched).
#[track_caller]
fn assert_unset(out: &Outcome, name: &str) {
    let value = out.outputs.get(name).map(String::as_str).unwrap_or("");
    assert!(
        value.is_empty(),
        "output `{name}` should be unset, is {value:?}"
    );
}

fn run_url(run: u64) -> String {
    format!("https://github.com/{REPO}/actions/runs/{run}")
}

/// How many requests went to the blob host.
fn blob_requests(gh: &FakeGitHub) -> usize {
    gh.requests()
        .iter()
        .filter(|r| r.host == Host::Blob)
        .count()
}

/// Whether the API was asked for exactly this path (any method, any query).
fn api_asked(gh: &FakeGitHub, path: &str) -> bool {
    gh.requests()
        .iter()
        .any(|r| r.host == Host::Api && r.path == path)
}

/// A minimal HTTP/1.1 GET against the fake: status and JSON body.
fn get_json(gh: &FakeGitHub, path: &str) -> (u16, Value) {
    let addr = gh.api_url().trim_start_matches("http://").to_owned();
    let mut tcp = std::net::TcpStream::connect(&addr).expect("connect to the fake API");
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/vnd.github+json\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(body).expect("a JSON body"))
}

// ---------------------------------------------------------------------------------------------
// The fake's new endpoints (pulls, branches, commits), which discovery relies on
// ---------------------------------------------------------------------------------------------

#[test]
fn fake_serves_pulls_branches_and_commits() {
    let gh = FakeGitHub::start();
    gh.add_run(
        REPO,
        RunSeed {
            head_sha: sha('a'),
            ..run_on(1)
        },
    );
    gh.add_run(
        REPO,
        RunSeed {
            head_sha: sha('b'),
            ..run_on(2)
        },
    );
    // A fork's run on its own `main` does not move ours.
    gh.add_run(
        REPO,
        RunSeed {
            head_sha: sha('f'),
            head_repository: Some("mallory/app".into()),
            ..run_on(3)
        },
    );
    gh.add_branch(REPO, "release/1.x", &sha('c'));
    gh.add_tag(REPO, "v1.0.0", &sha('d'));
    let same = gh.add_pull(
        REPO,
        PullSeed {
            number: 42,
            head_ref: "feature".into(),
            head_sha: sha('e'),
            ..PullSeed::default()
        },
    );
    let fork = gh.add_pull(
        REPO,
        PullSeed {
            head_repo: Some("mallory/app".into()),
            head_sha: sha('9'),
            ..PullSeed::default()
        },
    );
    assert_eq!((same, fork), (42, 43));

    let (status, pr) = get_json(&gh, "/repos/OCTO/App/pulls/42");
    assert_eq!(status, 200);
    assert_eq!(pr["number"], 42);
    assert_eq!(pr["state"], "open");
    assert!(pr["title"].is_string());
    assert_eq!(pr["html_url"], "https://github.com/octo/app/pull/42");
    assert_eq!(pr["head"]["ref"], "feature");
    assert_eq!(pr["head"]["sha"], sha('e'));
    assert_eq!(pr["head"]["label"], "octo:feature");
    assert_eq!(pr["head"]["repo"]["full_name"], REPO);
    assert_eq!(pr["head"]["repo"]["name"], "app");
    assert_eq!(pr["head"]["repo"]["owner"]["login"], "octo");
    assert!(pr["head"]["repo"]["id"].is_u64());
    assert_eq!(pr["base"]["ref"], "main");
    assert_eq!(pr["base"]["sha"], sha('b'), "main is at its newest run");
    assert_eq!(pr["base"]["repo"]["full_name"], REPO);
    let (_, pr) = get_json(&gh, "/repos/octo/app/pulls/43");
    assert_eq!(pr["head"]["repo"]["full_name"], "mallory/app");
    assert_eq!(pr["head"]["repo"]["owner"]["login"], "mallory");
    assert_eq!(pr["head"]["label"], "mallory:feature");
    for missing in ["/repos/octo/app/pulls/44", "/repos/octo/app/pulls/x"] {
        let (status, body) = get_json(&gh, missing);
        assert_eq!((status, body["message"].as_str()), (404, Some("Not Found")));
    }

    let (status, b) = get_json(&gh, "/repos/octo/app/branches/main");
    assert_eq!(status, 200);
    assert_eq!(b["name"], "main");
    assert_eq!(b["commit"]["sha"], sha('b'));
    let (_, b) = get_json(&gh, "/repos/octo/app/branches/release%2F1.x");
    assert_eq!(b["commit"]["sha"], sha('c'));
    let (_, b) = get_json(&gh, "/repos/octo/app/branches/release/1.x");
    assert_eq!(b["commit"]["sha"], sha('c'));
    let (_, b) = get_json(&gh, "/repos/octo/app/branches/feature");
    assert_eq!(
        b["commit"]["sha"],
        sha('e'),
        "a same-repo pull's head branch"
    );
    for missing in ["nope", "v1.0.0"] {
        let (status, _) = get_json(&gh, &format!("/repos/octo/app/branches/{missing}"));
        assert_eq!(status, 404, "{missing}");
    }

    for (reference, want) in [
        (sha('a'), sha('a')),
        (sha('a').to_ascii_uppercase(), sha('a')),
        ("aaaaaaa".to_owned(), sha('a')),
        ("main".to_owned(), sha('b')),
        ("refs/heads/main".to_owned(), sha('b')),
        ("refs%2Fheads%2Fmain".to_owned(), sha('b')),
        ("v1.0.0".to_owned(), sha('d')),
        ("refs/tags/v1.0.0".to_owned(), sha('d')),
        ("refs%2Ftags%2Fv1.0.0".to_owned(), sha('d')),
        ("release/1.x".to_owned(), sha('c')),
        (sha('e'), sha('e')),
    ] {
        let (status, c) = get_json(&gh, &format!("/repos/octo/app/commits/{reference}"));
        assert_eq!(status, 200, "{reference}: {c}");
        assert_eq!(c["sha"], want, "{reference}");
        assert!(c["commit"]["message"].is_string(), "{reference}: {c}");
    }
    for unknown in [
        "nope",
        "aaaaaa",
        &sha('7'),
        "refs/tags/main",
        "refs/heads/v1.0.0",
    ] {
        let (status, body) = get_json(&gh, &format!("/repos/octo/app/commits/{unknown}"));
        assert_eq!(status, 422, "{unknown}");
        assert_eq!(
            body["message"],
            format!("No commit found for SHA: {unknown}"),
            "{unknown}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Finding the run
// ---------------------------------------------------------------------------------------------

#[test]
fn latest_successful_run_on_a_branch_of_a_workflow() {
    let gh = FakeGitHub::start();
    run_with_dist(&gh, run_on(1), "older main");
    let want = run_with_dist(&gh, run_on(2), "newest main");
    run_with_dist(
        &gh,
        RunSeed {
            head_branch: "feature".into(),
            ..run_on(3)
        },
        "feature branch",
    );
    run_with_dist(
        &gh,
        RunSeed {
            name: "test".into(),
            workflow_id: 2,
            path: ".github/workflows/test.yml".into(),
            ..run_on(4)
        },
        "other workflow",
    );

    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("workflow", "build.yml"),
            ("branch", "main"),
            ("path", "out"),
        ],
    );
    let dest = job.workspace().join("out");
    assert_eq!(which(&dest), "newest main");
    assert_eq!(out.output("found-artifact"), "true");
    assert_eq!(out.output("run-id"), want.to_string());
    assert_eq!(out.output("run-url"), run_url(want));
    assert_eq!(out.output("artifact-name"), "dist");
    assert_eq!(out.output("download-path"), dest.display().to_string());
    assert_eq!(artifacts(&out)[0]["run_id"], want);

    // The workflow by numeric id, the branch as a full ref: the same run.
    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("workflow", "1"),
            ("branch", "refs/heads/main"),
        ],
    );
    assert_eq!(which(&job.workspace()), "newest main");
    assert_eq!(out.output("run-id"), want.to_string());
}

#[test]
fn workflow_conclusion_chooses_which_runs_qualify() {
    let gh = FakeGitHub::start();
    let ok = run_with_dist(&gh, run_on(1), "success");
    let failed = run_with_dist(
        &gh,
        RunSeed {
            conclusion: Some("failure".into()),
            ..run_on(2)
        },
        "failure",
    );
    let running = run_with_dist(
        &gh,
        RunSeed {
            status: "in_progress".into(),
            conclusion: None,
            ..run_on(3)
        },
        "in progress",
    );

    for (conclusion, want, label) in [
        (None, ok, "success"),
        (Some("success"), ok, "success"),
        (Some("failure"), failed, "failure"),
        (Some("completed"), failed, "failure"),
        (Some("in_progress"), running, "in progress"),
        (Some("any"), running, "in progress"),
    ] {
        let mut inputs = vec![("name", "dist"), ("workflow", "build.yml")];
        if let Some(c) = conclusion {
            inputs.push(("workflow-conclusion", c));
        }
        let (job, out) = fetch(&gh, &inputs);
        assert_eq!(which(&job.workspace()), label, "{conclusion:?}");
        assert_eq!(out.output("run-id"), want.to_string(), "{conclusion:?}");
    }
}

/// A run that says `success` but is not completed is what GitHub's `status` filter has been
/// seen to return; the default conclusion must not take it.
#[test]
fn conclusion_is_checked_on_the_client() {
    let gh = FakeGitHub::start();
    let ok = run_with_dist(&gh, run_on(1), "completed success");
    run_with_dist(
        &gh,
        RunSeed {
            status: "in_progress".into(),
            conclusion: Some("success".into()),
            ..run_on(2)
        },
        "not completed",
    );
    let (job, out) = fetch(&gh, &[("name", "dist"), ("workflow", "build.yml")]);
    assert_eq!(which(&job.workspace()), "completed success");
    assert_eq!(out.output("run-id"), ok.to_string());
}

#[test]
fn event_filter() {
    let gh = FakeGitHub::start();
    run_with_dist(&gh, run_on(1), "push");
    let dispatch = run_with_dist(
        &gh,
        RunSeed {
            event: "workflow_dispatch".into(),
            ..run_on(2)
        },
        "dispatch",
    );
    run_with_dist(
        &gh,
        RunSeed {
            event: "schedule".into(),
            ..run_on(3)
        },
        "schedule",
    );
    let (job, out) = fetch(&gh, &[("name", "dist"), ("event", "workflow_dispatch")]);
    assert_eq!(which(&job.workspace()), "dispatch");
    assert_eq!(out.output("run-id"), dispatch.to_string());
}

#[test]
fn commit_filter_takes_a_full_or_short_sha() {
    let gh = FakeGitHub::start();
    let a = run_with_dist(
        &gh,
        RunSeed {
            head_sha: sha('a'),
            ..run_on(1)
        },
        "commit a",
    );
    run_with_dist(
        &gh,
        RunSeed {
            head_sha: sha('b'),
            ..run_on(2)
        },
        "commit b",
    );
    for commit in [sha('a'), sha('a')[..7].to_owned()] {
        let (job, out) = fetch(&gh, &[("name", "dist"), ("commit", &commit)]);
        assert_eq!(which(&job.workspace()), "commit a", "{commit}");
        assert_eq!(out.output("run-id"), a.to_string(), "{commit}");
    }
    let out = job_with(&gh, &[("name", "dist"), ("commit", &sha('c'))]).run();
    out.assert_failure_containing(&sha('c'));
}

#[test]
fn ref_as_a_tag_is_resolved_through_commits() {
    let gh = FakeGitHub::start();
    let tagged = run_with_dist(
        &gh,
        RunSeed {
            head_sha: sha('a'),
            ..run_on(1)
        },
        "tagged",
    );
    run_with_dist(
        &gh,
        RunSeed {
            head_sha: sha('b'),
            ..run_on(2)
        },
        "newer",
    );
    gh.add_tag(REPO, "v1.2.0", &sha('a'));

    for reference in ["v1.2.0", "refs/tags/v1.2.0"] {
        gh.clear_requests();
        let (job, out) = fetch(&gh, &[("name", "dist"), ("ref", reference)]);
        assert_eq!(which(&job.workspace()), "tagged", "{reference}");
        assert_eq!(out.output("run-id"), tagged.to_string(), "{reference}");
        assert!(
            gh.requests()
                .iter()
                .any(|r| r.host == Host::Api && r.path.contains("/commits/")),
            "{reference}: the tag was not resolved through /commits"
        );
    }
}

#[test]
fn ref_as_a_branch_or_a_commit() {
    let gh = FakeGitHub::start();
    let on_main = run_with_dist(
        &gh,
        RunSeed {
            head_sha: sha('a'),
            ..run_on(1)
        },
        "main",
    );
    let on_release = run_with_dist(
        &gh,
        RunSeed {
            head_branch: "release".into(),
            head_sha: sha('b'),
            ..run_on(2)
        },
        "release",
    );
    run_with_dist(
        &gh,
        RunSeed {
            head_branch: "other".into(),
            head_sha: sha('c'),
            ..run_on(3)
        },
        "other",
    );

    for (reference, want, label) in [
        ("release".to_owned(), on_release, "release"),
        ("refs/heads/release".to_owned(), on_release, "release"),
        (sha('a'), on_main, "main"),
        (sha('a')[..10].to_owned(), on_main, "main"),
    ] {
        let (job, out) = fetch(&gh, &[("name", "dist"), ("ref", &reference)]);
        assert_eq!(which(&job.workspace()), label, "{reference}");
        assert_eq!(out.output("run-id"), want.to_string(), "{reference}");
    }

    let j = job_with(&gh, &[("name", "dist"), ("ref", "no-such-ref")]);
    let out = j.run();
    out.assert_failure_containing("no-such-ref");
    assert!(tree(&j.workspace()).is_empty());
}

#[test]
fn pr_number_gives_the_head_sha() {
    let gh = FakeGitHub::start();
    let pr_run = run_with_dist(
        &gh,
        RunSeed {
            head_branch: "feature".into(),
            head_sha: sha('c'),
            event: "pull_request".into(),
            ..run_on(1)
        },
        "pull request head",
    );
    run_with_dist(
        &gh,
        RunSeed {
            head_sha: sha('a'),
            ..run_on(2)
        },
        "main",
    );
    // An older push of the same branch, run later (re-run): not the PR's head.
    run_with_dist(
        &gh,
        RunSeed {
            head_branch: "feature".into(),
            head_sha: sha('d'),
            ..run_on(3)
        },
        "stale head",
    );
    gh.add_pull(
        REPO,
        PullSeed {
            number: 42,
            head_ref: "feature".into(),
            head_sha: sha('c'),
            ..PullSeed::default()
        },
    );

    gh.clear_requests();
    let (job, out) = fetch(
        &gh,
        &[("name", "dist"), ("workflow", "build.yml"), ("pr", "42")],
    );
    assert_eq!(which(&job.workspace()), "pull request head");
    assert_eq!(out.output("run-id"), pr_run.to_string());
    assert!(api_asked(&gh, "/repos/octo/app/pulls/42"));

    let out = job_run(&gh, &[("name", "dist"), ("pr", "7")]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let errors = out.errors();
    assert!(
        errors.contains('7') && errors.to_lowercase().contains("pull"),
        "{errors}"
    );
}

fn job_run(gh: &FakeGitHub, inputs: &[(&str, &str)]) -> Outcome {
    job_with(gh, inputs).run()
}

#[test]
fn pr_from_a_fork_needs_allow_forks() {
    let gh = FakeGitHub::start();
    let fork_run = run_with_dist(
        &gh,
        RunSeed {
            head_branch: "main".into(),
            head_sha: sha('e'),
            event: "pull_request".into(),
            head_repository: Some("mallory/app".into()),
            ..run_on(1)
        },
        "from the fork",
    );
    let pr = gh.add_pull(
        REPO,
        PullSeed {
            head_ref: "main".into(),
            head_sha: sha('e'),
            head_repo: Some("mallory/app".into()),
            ..PullSeed::default()
        },
    );
    let pr = pr.to_string();

    let j = job_with(&gh, &[("name", "dist"), ("pr", &pr)]);
    let out = j.run();
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert_logged(&out, &["skipped 1 run", "fork"]);
    assert!(tree(&j.workspace()).is_empty());

    let (job, out) = fetch(
        &gh,
        &[("name", "dist"), ("pr", &pr), ("allow-forks", "true")],
    );
    assert_eq!(which(&job.workspace()), "from the fork");
    assert_eq!(out.output("run-id"), fork_run.to_string());
}

#[test]
fn run_number_filter() {
    let gh = FakeGitHub::start();
    let mut ids = Vec::new();
    for (day, number) in [(1, 7), (2, 8), (3, 9)] {
        ids.push(run_with_dist(
            &gh,
            RunSeed {
                run_number: number,
                ..run_on(day)
            },
            &format!("run number {number}"),
        ));
    }
    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("workflow", "build.yml"),
            ("run-number", "8"),
        ],
    );
    assert_eq!(which(&job.workspace()), "run number 8");
    assert_eq!(out.output("run-id"), ids[1].to_string());
}

/// r1 (oldest) has `dist`; r2 and r3 (newest) only have `coverage`.
fn world_where_only_the_oldest_run_has_dist(gh: &FakeGitHub) -> [u64; 3] {
    let r1 = run_with_dist(gh, run_on(1), "oldest");
    let r2 = gh.add_run(REPO, run_on(2));
    let r3 = gh.add_run(REPO, run_on(3));
    for r in [r2, r3] {
        gh.add_artifact(REPO, r, ArtifactSeed::new("coverage", labelled("coverage")));
    }
    [r1, r2, r3]
}

#[test]
fn search_artifacts_walks_back_past_runs_without_the_artifact() {
    let gh = FakeGitHub::start();
    let [r1, ..] = world_where_only_the_oldest_run_has_dist(&gh);
    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("workflow", "build.yml"),
            ("search-artifacts", "true"),
        ],
    );
    assert_eq!(which(&job.workspace()), "oldest");
    assert_eq!(out.output("run-id"), r1.to_string());
    assert_eq!(out.output("run-url"), run_url(r1));
    assert!(!job.workspace().join("coverage").exists());
}

#[test]
fn search_depth_stops_the_walk() {
    let gh = FakeGitHub::start();
    let [r1, ..] = world_where_only_the_oldest_run_has_dist(&gh);
    let j = job_with(
        &gh,
        &[
            ("name", "dist"),
            ("workflow", "build.yml"),
            ("search-artifacts", "true"),
            ("search-depth", "2"),
        ],
    );
    let out = j.run();
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let errors = out.errors();
    assert!(
        [
            "search-depth 2",
            "search-depth: 2",
            "search-depth (2)",
            "search-depth of 2"
        ]
        .iter()
        .any(|s| errors.contains(s)),
        "the error should name the depth it stopped at: {errors}"
    );
    assert!(
        !api_asked(&gh, &format!("/repos/octo/app/actions/runs/{r1}/artifacts")),
        "looked past the depth"
    );
    assert_eq!(blob_requests(&gh), 0);
    assert!(tree(&j.workspace()).is_empty());

    // One more run of depth reaches it.
    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("workflow", "build.yml"),
            ("search-artifacts", "true"),
            ("search-depth", "3"),
        ],
    );
    assert_eq!(which(&job.workspace()), "oldest");
    assert_eq!(out.output("run-id"), r1.to_string());
}

#[test]
fn without_search_the_newest_matching_run_is_the_one() {
    let gh = FakeGitHub::start();
    let [r1, _, r3] = world_where_only_the_oldest_run_has_dist(&gh);
    let j = job_with(&gh, &[("name", "dist"), ("workflow", "build.yml")]);
    let out = j.run();
    out.assert_failure_containing(&format!("run {r3}"));
    out.assert_failure_containing("`dist`");
    assert!(!api_asked(
        &gh,
        &format!("/repos/octo/app/actions/runs/{r1}/artifacts")
    ));
    assert_eq!(blob_requests(&gh), 0);
    assert!(tree(&j.workspace()).is_empty());
}

#[test]
fn newer_fork_runs_are_skipped_unless_allowed() {
    let gh = FakeGitHub::start();
    let base = run_with_dist(&gh, run_on(1), "base repository");
    run_with_dist(&gh, fork_run_on(2), "fork 1");
    let newest_fork = run_with_dist(&gh, fork_run_on(3), "fork 2");

    let (job, out) = fetch(&gh, &[("name", "dist"), ("workflow", "build.yml")]);
    assert_eq!(which(&job.workspace()), "base repository");
    assert_eq!(out.output("run-id"), base.to_string());
    assert_logged(&out, &["skipped 2 runs", "fork"]);

    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("workflow", "build.yml"),
            ("allow-forks", "true"),
        ],
    );
    assert_eq!(which(&job.workspace()), "fork 2");
    assert_eq!(out.output("run-id"), newest_fork.to_string());
    assert!(
        log_line(&out, &["skipped", "fork"]).is_none(),
        "{}",
        out.stdout
    );
}

#[test]
fn repository_wide_search_skips_fork_uploads_unless_allowed() {
    // No run-id and no run filters (every input at its action.yml default, as the runner
    // passes them): the newest `dist` of the repository, but never a fork's by default.
    let gh = FakeGitHub::start();
    let base = run_with_dist(&gh, run_on(1), "base repository");
    let fork = run_with_dist(&gh, fork_run_on(2), "fork");

    let (job, out) = fetch(&gh, &[("name", "dist")]);
    assert_eq!(which(&job.workspace()), "base repository");
    assert_eq!(out.output("run-id"), base.to_string());
    assert_logged(&out, &["skipped 1 artifact", "fork"]);
    assert!(
        !gh.requests().iter().any(|r| r.path.ends_with("/runs")),
        "the default workflow-conclusion must not start a run search"
    );

    let (job, out) = fetch(&gh, &[("name", "dist"), ("allow-forks", "true")]);
    assert_eq!(which(&job.workspace()), "fork");
    assert_eq!(out.output("run-id"), fork.to_string());
    assert!(log_line(&out, &["skipped"]).is_none(), "{}", out.stdout);
}

#[test]
fn a_fork_run_named_by_run_id_is_fetched_with_a_warning() {
    // The `workflow_run` follow-up of a fork's pull request names the run itself: that is
    // allowed, but the log says plainly that the files are untrusted.
    let gh = FakeGitHub::start();
    let fork = run_with_dist(&gh, fork_run_on(2), "fork");
    let (job, out) = fetch(&gh, &[("name", "dist"), ("run-id", &fork.to_string())]);
    assert_eq!(which(&job.workspace()), "fork");
    let warnings = out.warnings().join("\n");
    assert!(
        warnings.contains("mallory/app") && warnings.contains("untrusted"),
        "{}",
        out.stdout
    );

    let base = run_with_dist(&gh, run_on(3), "base");
    let (_, out) = fetch(&gh, &[("name", "dist"), ("run-id", &base.to_string())]);
    assert!(out.warnings().is_empty(), "{}", out.stdout);
}

#[test]
fn run_filters_are_ignored_with_run_id() {
    let gh = FakeGitHub::start();
    let given = run_with_dist(&gh, run_on(1), "given run");
    run_with_dist(
        &gh,
        RunSeed {
            head_branch: "feature".into(),
            ..run_on(2)
        },
        "newest on feature",
    );
    let id = given.to_string();
    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("run-id", &id),
            ("branch", "feature"),
            ("workflow", "nope.yml"),
        ],
    );
    assert_eq!(which(&job.workspace()), "given run");
    assert_eq!(out.output("run-id"), id);
    assert_logged(&out, &["ignored"]);
    assert!(
        !gh.requests().iter().any(|r| r.path.ends_with("/runs")),
        "listed runs although run-id was given"
    );

    let (_, out) = fetch(&gh, &[("name", "dist"), ("run-id", &id)]);
    assert!(log_line(&out, &["ignored"]).is_none(), "{}", out.stdout);
}

// ---------------------------------------------------------------------------------------------
// Choosing artifacts and laying them out
// ---------------------------------------------------------------------------------------------

/// One run (returned) with `dist-linux`, `dist-mac`, `dist-linux-debug`, `docs` and `dist`,
/// created in that order.
fn run_with_many(gh: &FakeGitHub) -> u64 {
    let run = gh.add_run(REPO, run_on(1));
    for (minute, name) in ["dist-linux", "dist-mac", "dist-linux-debug", "docs", "dist"]
        .iter()
        .enumerate()
    {
        add_named(gh, run, name, 1, minute as u32 + 1);
    }
    run
}

#[test]
fn pattern_selects_several_each_into_its_own_directory() {
    let gh = FakeGitHub::start();
    let run = run_with_many(&gh);
    let (job, out) = fetch(
        &gh,
        &[
            ("pattern", "dist-*"),
            ("workflow", "build.yml"),
            ("path", "out"),
        ],
    );
    let dest = job.workspace().join("out");
    for name in ["dist-linux", "dist-mac", "dist-linux-debug"] {
        assert_eq!(which(&dest.join(name)), name);
    }
    let mut top: Vec<String> = tree(&dest)
        .into_keys()
        .filter(|k| !k.contains('/'))
        .collect();
    top.sort();
    assert_eq!(top, ["dist-linux", "dist-linux-debug", "dist-mac"]);
    assert_eq!(
        artifact_names(&out),
        ["dist-linux", "dist-linux-debug", "dist-mac"]
    );
    for a in artifacts(&out) {
        let name = a["name"].as_str().unwrap();
        assert_eq!(a["path"], dest.join(name).display().to_string());
        assert_eq!(a["run_id"], run);
    }
    assert_eq!(out.output("download-path"), dest.display().to_string());
    assert_eq!(out.output("run-id"), run.to_string());
    assert_unset(&out, "artifact-id");
    assert_unset(&out, "artifact-name");
    assert_unset(&out, "digest");

    // `?` and classes, matched against the whole name.
    for (pattern, want) in [
        ("dist-[lm]?c", vec!["dist-mac"]),
        ("dist-[a-l]*", vec!["dist-linux", "dist-linux-debug"]),
        ("dist-[!l]*", vec!["dist-mac"]),
        ("d?st", vec!["dist"]),
        ("linux", vec![]),
    ] {
        let j = job_with(&gh, &[("pattern", pattern), ("run-id", &run.to_string())]);
        let out = j.run();
        if want.is_empty() {
            assert_eq!(out.code, Some(1), "{pattern}: {}", out.stdout);
            assert!(tree(&j.workspace()).is_empty());
            continue;
        }
        out.assert_success();
        assert_eq!(artifact_names(&out), want, "{pattern}");
        for name in want {
            assert_eq!(which(&j.workspace().join(name)), name, "{pattern}");
        }
    }
}

#[test]
fn regex_selection() {
    let gh = FakeGitHub::start();
    let run = run_with_many(&gh).to_string();
    let (job, out) = fetch(
        &gh,
        &[
            ("name", "^dist-(linux|mac)$"),
            ("name-is-regexp", "true"),
            ("run-id", &run),
        ],
    );
    assert_eq!(artifact_names(&out), ["dist-linux", "dist-mac"]);
    assert_eq!(which(&job.workspace().join("dist-linux")), "dist-linux");
    assert_eq!(which(&job.workspace().join("dist-mac")), "dist-mac");
    assert!(!job.workspace().join("dist-linux-debug").exists());
    assert!(!job.workspace().join("which.txt").exists());

    // Unanchored unless anchored: `ux` finds it inside names.
    let (job, out) = fetch(
        &gh,
        &[("name", "ux"), ("name-is-regexp", "true"), ("run-id", &run)],
    );
    assert_eq!(artifact_names(&out), ["dist-linux", "dist-linux-debug"]);
    assert_eq!(
        which(&job.workspace().join("dist-linux-debug")),
        "dist-linux-debug"
    );

    // Without name-is-regexp the same text is an exact (missing) name.
    let out = job_run(&gh, &[("name", "^dist-(linux|mac)$"), ("run-id", &run)]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
}

#[test]
fn artifact_ids_are_fetched_by_id_from_their_own_run() {
    let gh = FakeGitHub::start();
    let old_run = gh.add_run(REPO, run_on(1));
    let linux = add_named(&gh, old_run, "dist-linux", 1, 1);
    add_named(&gh, old_run, "dist-mac", 1, 2);
    let docs = add_named(&gh, old_run, "docs", 1, 3);
    let newer = gh.add_run(REPO, run_on(2));
    gh.add_artifact(
        REPO,
        newer,
        ArtifactSeed::new("dist-linux", labelled("newer run")),
    );

    let ids = format!("{linux}, {docs}");
    let (job, out) = fetch(&gh, &[("artifact-ids", &ids), ("path", "out")]);
    let dest = job.workspace().join("out");
    assert_eq!(which(&dest.join("dist-linux")), "dist-linux");
    assert_eq!(which(&dest.join("docs")), "docs");
    assert!(!dest.join("dist-mac").exists());
    assert_eq!(artifact_names(&out), ["dist-linux", "docs"]);
    assert_eq!(out.output("run-id"), old_run.to_string());
    assert_eq!(out.output("run-url"), run_url(old_run));
    for id in [linux, docs] {
        assert!(
            gh.requests().iter().any(|r| r.host == Host::Api
                && r.method == "GET"
                && r.path == format!("/repos/octo/app/actions/artifacts/{id}")),
            "artifact {id} was not read by id"
        );
    }

    // One id alone: exactly one artifact, so the single-artifact outputs are set.
    let (_, out) = fetch(&gh, &[("artifact-ids", &docs.to_string())]);
    assert_eq!(out.output("artifact-id"), docs.to_string());
    assert_eq!(out.output("artifact-name"), "docs");
    assert_eq!(out.output("digest"), sha256(&labelled("docs")));
}

#[test]
fn no_selection_is_refused_and_pattern_star_fetches_everything() {
    let gh = FakeGitHub::start();
    let run = run_with_many(&gh);
    // Fetching everything must be asked for, never happen because `name` was left empty.
    let j = job_with(&gh, &[("run-id", &run.to_string()), ("path", "all")]);
    j.run().assert_failure_containing("input `name`");
    let j = job_with(
        &gh,
        &[
            ("run-id", &run.to_string()),
            ("path", "all"),
            ("pattern", "*"),
        ],
    );
    let out = j.run();
    out.assert_success();
    assert_eq!(
        artifact_names(&out),
        ["dist", "dist-linux", "dist-linux-debug", "dist-mac", "docs"]
    );
    for name in ["dist", "dist-linux", "dist-linux-debug", "dist-mac", "docs"] {
        assert_eq!(which(&j.workspace().join("all").join(name)), name);
    }
}

/// One run with `zulu` (older, created first on the 1st) and `alpha` (newer), both holding
/// `common.txt`. `alpha` gets the smaller id and sorts first by name, so only ordering by
/// `created_at` puts it last.
fn run_with_overlapping(gh: &FakeGitHub) -> u64 {
    let run = gh.add_run(REPO, run_on(1));
    let art = |name: &str, created: &str| ArtifactSeed {
        created_at: created.into(),
        ..ArtifactSeed::new(
            name,
            zip_of(&[
                ("common.txt", name),
                (&format!("only-{name}.txt"), name),
                ("sub/common.txt", name),
            ]),
        )
    };
    gh.add_artifact(REPO, run, art("alpha", "2026-11-01T12:00:00Z"));
    gh.add_artifact(REPO, run, art("zulu", "2026-11-01T11:00:00Z"));
    run
}

#[test]
fn merge_multiple_puts_all_in_path_newest_wins() {
    let gh = FakeGitHub::start();
    let run = run_with_overlapping(&gh).to_string();
    let (job, out) = fetch(
        &gh,
        &[
            ("pattern", "*"),
            ("run-id", &run),
            ("merge-multiple", "true"),
            ("path", "out"),
        ],
    );
    let dest = job.workspace().join("out");
    let read = |rel: &str| fs::read_to_string(dest.join(rel)).unwrap();
    assert_eq!(read("common.txt"), "alpha", "the newest artifact wins");
    assert_eq!(read("sub/common.txt"), "alpha");
    assert_eq!(read("only-alpha.txt"), "alpha");
    assert_eq!(read("only-zulu.txt"), "zulu");
    assert!(!dest.join("alpha").exists() && !dest.join("zulu").exists());
    assert_logged(&out, &["common.txt", "replaces"]);
    assert_eq!(artifact_names(&out), ["alpha", "zulu"]);
}

#[test]
fn without_merge_multiple_each_artifact_keeps_its_directory() {
    let gh = FakeGitHub::start();
    let run = run_with_overlapping(&gh).to_string();
    let (job, out) = fetch(&gh, &[("pattern", "*"), ("run-id", &run), ("path", "out")]);
    let dest = job.workspace().join("out");
    for name in ["alpha", "zulu"] {
        assert_eq!(
            fs::read_to_string(dest.join(name).join("common.txt")).unwrap(),
            name
        );
        assert_eq!(
            fs::read_to_string(dest.join(name).join("sub/common.txt")).unwrap(),
            name
        );
    }
    assert!(!dest.join("common.txt").exists());
    assert!(log_line(&out, &["replaces"]).is_none(), "{}", out.stdout);
}

// ---------------------------------------------------------------------------------------------
// Several downloads
// ---------------------------------------------------------------------------------------------

/// Incompressible bytes, so the archives are as large as their content.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `count` artifacts `part-0…` in one run (returned), each a zip with `part.txt` and `data.bin`;
/// their bodies in order.
fn run_with_parts(gh: &FakeGitHub, count: usize) -> (u64, Vec<Vec<u8>>, Vec<u64>) {
    let run = gh.add_run(REPO, run_on(1));
    let mut bodies = Vec::new();
    let mut ids = Vec::new();
    for i in 0..count {
        let body = ZipBuilder::new()
            .file("part.txt", format!("part {i}"))
            .file("data.bin", noise(i as u64 + 1, 150_000 + i * 10_000))
            .build();
        ids.push(gh.add_artifact(
            REPO,
            run,
            ArtifactSeed {
                created_at: format!("2026-11-01T10:{:02}:00Z", i + 1),
                ..ArtifactSeed::new(&format!("part-{i}"), body.clone())
            },
        ));
        bodies.push(body);
    }
    (run, bodies, ids)
}

#[test]
fn downloads_several_in_parallel_each_verified() {
    let gh = FakeGitHub::start();
    let (run, bodies, ids) = run_with_parts(&gh, 6);
    // The first download stalls for a while, then breaks off: with downloads in parallel,
    // others start before it resumes.
    gh.inject(Fault::StallMidBody {
        after_bytes: 4096,
        stall: std::time::Duration::from_millis(1500),
        times: 1,
    });
    let (job, out) = fetch(
        &gh,
        &[
            ("pattern", "part-*"),
            ("run-id", &run.to_string()),
            ("parallel-downloads", "3"),
            ("path", "out"),
        ],
    );
    let dest = job.workspace().join("out");
    let listed = artifacts(&out);
    assert_eq!(listed.len(), 6);
    for (i, body) in bodies.iter().enumerate() {
        let name = format!("part-{i}");
        let dir = dest.join(&name);
        assert_eq!(
            fs::read_to_string(dir.join("part.txt")).unwrap(),
            format!("part {i}")
        );
        assert_eq!(
            fs::read(dir.join("data.bin")).unwrap(),
            noise(i as u64 + 1, 150_000 + i * 10_000)
        );
        let entry = listed
            .iter()
            .find(|a| a["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} missing from {listed:?}"));
        assert_eq!(entry["id"], ids[i]);
        assert_eq!(entry["digest"], sha256(body), "{name}");
        assert_eq!(entry["size_in_bytes"], body.len(), "{name}");
        assert_eq!(entry["path"], dir.display().to_string());
        assert_eq!(entry["deleted"], false);
    }
    assert_eq!(out.output("found-artifact"), "true");
    assert_unset(&out, "artifact-id");

    // Parallel: between the stalled download and its resumption, others were requested.
    let blobs: Vec<_> = gh
        .requests()
        .into_iter()
        .filter(|r| r.host == Host::Blob)
        .collect();
    let stalled = blobs[0].path.clone();
    let resumed = blobs[1..]
        .iter()
        .position(|r| r.path == stalled)
        .expect("the stalled download was resumed")
        + 1;
    assert!(
        blobs[1..resumed].iter().any(|r| r.path != stalled),
        "downloads ran one at a time: {:?}",
        blobs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn one_wrong_digest_fails_everything_and_changes_nothing() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    for i in 0..5 {
        let body = labelled(&format!("part {i}"));
        let digest = if i == 3 {
            DigestSeed::Fixed(sha256(b"something else"))
        } else {
            DigestSeed::Auto
        };
        gh.add_artifact(
            REPO,
            run,
            ArtifactSeed {
                digest,
                created_at: format!("2026-11-01T10:{i:02}:00Z"),
                ..ArtifactSeed::new(&format!("part-{i}"), body)
            },
        );
    }
    let j = job_with(
        &gh,
        &[
            ("pattern", "part-*"),
            ("run-id", &run.to_string()),
            ("path", "out"),
        ],
    );
    fs::create_dir_all(j.workspace().join("out/part-0")).unwrap();
    fs::write(j.workspace().join("out/part-0/which.txt"), "before").unwrap();
    fs::write(j.workspace().join("out/keep.txt"), "keep").unwrap();
    let before = tree(&j.workspace());

    let out = j.run();
    out.assert_failure_containing("digest");
    out.assert_failure_containing("part-3");
    assert_eq!(tree(&j.workspace()), before, "the workspace changed");
    assert_eq!(blob_requests(&gh), 5, "every artifact was downloaded");
}

/// All artifacts verify, but the second one cannot be placed (it needs a directory where the
/// workspace has a file): the first one must not stay behind either.
#[test]
fn a_conflict_placing_one_artifact_leaves_the_destination_unchanged() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            created_at: "2026-11-01T10:01:00Z".into(),
            ..ArtifactSeed::new("older", zip_of(&[("a.txt", "older")]))
        },
    );
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            created_at: "2026-11-01T10:02:00Z".into(),
            ..ArtifactSeed::new("newer", zip_of(&[("sub/x.txt", "newer")]))
        },
    );
    let j = job_with(
        &gh,
        &[
            ("pattern", "*"),
            ("run-id", &run.to_string()),
            ("merge-multiple", "true"),
            ("path", "out"),
        ],
    );
    fs::create_dir_all(j.workspace().join("out")).unwrap();
    fs::write(j.workspace().join("out/sub"), "a file, not a directory").unwrap();
    let before = tree(&j.workspace());
    let out = j.run();
    out.assert_failure_containing("sub");
    assert_eq!(tree(&j.workspace()), before, "the workspace changed");
}

// ---------------------------------------------------------------------------------------------
// skip-unpack, dry-run, delete-after-download
// ---------------------------------------------------------------------------------------------

#[test]
fn skip_unpack_keeps_the_verified_zip() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    let body = ZipBuilder::new()
        .file("index.html", "<h1>hi</h1>")
        .file("which.txt", "dist")
        .build();
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));
    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("run-id", &run.to_string()),
            ("skip-unpack", "true"),
            ("path", "out"),
        ],
    );
    let dest = job.workspace().join("out");
    let kept = fs::read(dest.join("dist.zip")).unwrap();
    assert_eq!(kept, body);
    assert_eq!(sha256(&kept), out.output("digest"));
    assert_eq!(out.output("digest"), sha256(&body));
    assert!(!dest.join("index.html").exists(), "it was unpacked");
    assert_eq!(
        tree(&dest).into_keys().collect::<Vec<_>>(),
        ["dist.zip"],
        "only the zip"
    );
}

#[test]
fn skip_unpack_with_a_pattern_keeps_each_zip_as_path_name_zip() {
    let gh = FakeGitHub::start();
    let run = run_with_many(&gh);
    let (job, out) = fetch(
        &gh,
        &[
            ("pattern", "dist-*"),
            ("run-id", &run.to_string()),
            ("skip-unpack", "true"),
            ("path", "out"),
        ],
    );
    let dest = job.workspace().join("out");
    for name in ["dist-linux", "dist-mac", "dist-linux-debug"] {
        let kept = fs::read(dest.join(format!("{name}.zip")))
            .unwrap_or_else(|e| panic!("{name}.zip: {e}; tree: {:?}", tree(&dest)));
        assert_eq!(kept, labelled(name));
        let entry = artifacts(&out)
            .into_iter()
            .find(|a| a["name"] == name)
            .unwrap();
        assert_eq!(entry["digest"], sha256(&kept));
    }
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    let linux = add_named(&gh, run, "dist-linux", 1, 1);
    let mac = add_named(&gh, run, "dist-mac", 1, 2);
    add_named(&gh, run, "docs", 1, 3);

    let j = job_with(
        &gh,
        &[
            ("pattern", "dist-*"),
            ("workflow", "build.yml"),
            ("dry-run", "true"),
            ("delete-after-download", "true"),
            ("path", "out"),
        ],
    );
    let out = j.run();
    out.assert_success();
    assert!(
        tree(&j.workspace()).is_empty(),
        "{:?}",
        tree(&j.workspace())
    );
    assert_eq!(blob_requests(&gh), 0, "a dry run downloaded something");
    assert!(
        !gh.requests().iter().any(|r| r.method == "DELETE"),
        "a dry run deleted something"
    );
    assert!(gh.artifact_exists(linux) && gh.artifact_exists(mac));

    assert_eq!(out.output("found-artifact"), "true");
    assert_eq!(out.output("run-id"), run.to_string());
    assert_eq!(out.output("run-url"), run_url(run));
    let dest = j.workspace().join("out");
    let listed = artifacts(&out);
    assert_eq!(listed.len(), 2, "{listed:?}");
    for (id, name) in [(linux, "dist-linux"), (mac, "dist-mac")] {
        let entry = listed.iter().find(|a| a["name"] == name).unwrap();
        assert_eq!(entry["id"], id);
        assert_eq!(entry["path"], dest.join(name).display().to_string());
        assert_eq!(entry["digest"], sha256(&labelled(name)));
        assert_eq!(entry["deleted"], false);
    }
    assert!(
        out.summary.contains("dist-linux") && out.summary.contains("dist-mac"),
        "{}",
        out.summary
    );
}

#[test]
fn delete_after_download_deletes_only_after_everything_is_in_place() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", labelled("dist")));
    let (job, out) = fetch(
        &gh,
        &[
            ("name", "dist"),
            ("run-id", &run.to_string()),
            ("delete-after-download", "true"),
        ],
    );
    assert_eq!(which(&job.workspace()), "dist");
    assert!(!gh.artifact_exists(id), "not deleted");
    assert_eq!(artifacts(&out)[0]["deleted"], true);
    let reqs = gh.requests();
    let delete = reqs
        .iter()
        .position(|r| r.method == "DELETE")
        .expect("a DELETE request");
    assert_eq!(
        reqs[delete].path,
        format!("/repos/octo/app/actions/artifacts/{id}")
    );
    let last_blob = reqs
        .iter()
        .rposition(|r| r.host == Host::Blob)
        .expect("a download");
    assert!(delete > last_blob, "deleted before the download finished");

    // Two artifacts, one of them corrupt: nothing lands, nothing is deleted.
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    let good = add_named(&gh, run, "good", 1, 1);
    let bad = gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            digest: DigestSeed::Fixed(sha256(b"tampered")),
            ..ArtifactSeed::new("bad", labelled("bad"))
        },
    );
    let j = job_with(
        &gh,
        &[
            ("pattern", "*"),
            ("run-id", &run.to_string()),
            ("delete-after-download", "true"),
        ],
    );
    let out = j.run();
    out.assert_failure_containing("digest");
    assert!(gh.artifact_exists(good) && gh.artifact_exists(bad));
    assert!(!gh.requests().iter().any(|r| r.method == "DELETE"));
    assert!(tree(&j.workspace()).is_empty());
}

#[test]
fn delete_forbidden_fails_clearly_and_keeps_the_download() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", labelled("dist")));
    gh.inject(Fault::StatusFor {
        host: Host::Api,
        method: "DELETE".into(),
        path: format!("/repos/{REPO}/actions/artifacts/{id}"),
        status: 403,
        headers: Vec::new(),
        body: r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/actions/artifacts#delete-an-artifact","status":"403"}"#.into(),
        times: 1,
    });
    let j = job_with(
        &gh,
        &[
            ("name", "dist"),
            ("run-id", &run.to_string()),
            ("delete-after-download", "true"),
        ],
    );
    let out = j.run();
    out.assert_failure_containing("actions: write");
    assert_eq!(which(&j.workspace()), "dist", "the download was undone");
    assert!(gh.artifact_exists(id));
    assert_eq!(out.output("found-artifact"), "true");
    assert_eq!(out.output("artifact-id"), id.to_string());
    let listed = artifacts(&out);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["deleted"], false);
}

// ---------------------------------------------------------------------------------------------
// if-no-artifact-found
// ---------------------------------------------------------------------------------------------

#[test]
fn if_no_artifact_found_fail_warn_ignore() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed::new("coverage", labelled("coverage")),
    );
    let base = [("name", "dist"), ("workflow", "build.yml")];

    for mode in [None, Some("fail")] {
        let mut inputs = base.to_vec();
        inputs.extend(mode.map(|m| ("if-no-artifact-found", m)));
        let j = job_with(&gh, &inputs);
        let out = j.run();
        out.assert_failure_containing("`dist`");
        assert!(tree(&j.workspace()).is_empty());
    }

    let j = job_with(&gh, &[base[0], base[1], ("if-no-artifact-found", "warn")]);
    let out = j.run();
    out.assert_success();
    let warnings = out.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("`dist`")),
        "{}",
        out.stdout
    );
    assert_eq!(out.output("found-artifact"), "false");
    assert!(tree(&j.workspace()).is_empty());

    let j = job_with(&gh, &[base[0], base[1], ("if-no-artifact-found", "ignore")]);
    let out = j.run();
    out.assert_success();
    assert!(out.warnings().is_empty(), "{}", out.stdout);
    assert_eq!(out.output("found-artifact"), "false");
    assert!(tree(&j.workspace()).is_empty());

    // Also when no run matches at all, and in the repository-wide search.
    for inputs in [
        vec![
            ("name", "dist"),
            ("branch", "no-such-branch"),
            ("if-no-artifact-found", "warn"),
        ],
        vec![("name", "dist"), ("if-no-artifact-found", "ignore")],
    ] {
        let out = job_run(&gh, &inputs);
        out.assert_success();
        assert_eq!(out.output("found-artifact"), "false", "{inputs:?}");
    }

    // The found case says so too.
    let (_, out) = fetch(
        &gh,
        &[
            ("name", "coverage"),
            ("workflow", "build.yml"),
            ("if-no-artifact-found", "ignore"),
        ],
    );
    assert_eq!(out.output("found-artifact"), "true");
}

#[test]
fn if_no_artifact_found_never_hides_a_real_error() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, run_on(1));
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", labelled("dist")));
    gh.inject(Fault::Status {
        host: Host::Api,
        path_prefix: format!("/repos/{REPO}/actions/"),
        status: 403,
        headers: Vec::new(),
        body: r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest","status":"403"}"#.into(),
        times: 100,
    });
    for mode in ["warn", "ignore"] {
        let out = job_run(
            &gh,
            &[
                ("name", "dist"),
                ("workflow", "build.yml"),
                ("if-no-artifact-found", mode),
            ],
        );
        out.assert_failure_containing("403");
    }
}
