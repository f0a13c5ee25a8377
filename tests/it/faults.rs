//! Network faults: each test injects one into the fake GitHub and asserts either the right files
//! (with the digest checked) or a clear error with the destination unchanged.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::action::{Job, tree};
use crate::support::fake_github::{Fault, Host};

use crate::support::dist::DistRun as World;

fn world() -> World {
    World::start("fetched after a fault")
}

fn status(
    host: Host,
    path_prefix: &str,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
    times: u32,
) -> Fault {
    Fault::Status {
        host,
        path_prefix: path_prefix.to_owned(),
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_owned(),
        times,
    }
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let w = world();
    w.gh.inject(status(Host::Api, "/repos/", 502, &[], "bad gateway", 2));
    w.gh.inject(status(Host::Blob, "/blob/", 503, &[], "busy", 2));
    let job = w.job();
    let out = job.run();
    w.assert_fetched(&job, &out);
    assert!(
        out.stdout.contains("HTTP 502") && out.stdout.contains("retrying"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("HTTP 503"), "{}", out.stdout);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let w = world();
    w.gh.inject(status(
        Host::Api,
        "/repos/",
        429,
        &[("retry-after", "1")],
        "slow down",
        1,
    ));
    let job = w.job();
    let started = Instant::now();
    let out = job.run();
    w.assert_fetched(&job, &out);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "did not wait for Retry-After"
    );
    assert!(out.stdout.contains("in 1.0s"), "{}", out.stdout);
}

#[test]
fn primary_and_secondary_rate_limits_are_waited_out() {
    let w = world();
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    w.gh.inject(status(
        Host::Api,
        "/repos/",
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset.to_string()),
        ],
        r#"{"message":"API rate limit exceeded for installation ID 1."}"#,
        1,
    ));
    w.gh.inject(status(
        Host::Api,
        "/repos/",
        403,
        &[],
        r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#,
        1,
    ));
    let job = w.job();
    let out = job.run();
    w.assert_fetched(&job, &out);
    assert!(out.stdout.contains("rate limit"), "{}", out.stdout);
}

#[test]
fn a_reset_mid_body_resumes_with_range() {
    let w = world();
    w.gh.inject(Fault::ResetMidBody {
        after_bytes: 300_000,
        times: 1,
    });
    let job = w.job();
    let out = job.run();
    w.assert_fetched(&job, &out);
    let blobs = w.requests_to(Host::Blob);
    assert_eq!(blobs.len(), 2, "{blobs:?}");
    let range = blobs[1]
        .header("range")
        .expect("second request must resume");
    let from: u64 = range
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(from > 0 && from <= 300_000, "{range}");
}

#[test]
fn a_host_without_ranges_restarts_from_zero() {
    let w = world();
    w.gh.inject(Fault::NoRanges { times: 5 });
    w.gh.inject(Fault::ResetMidBody {
        after_bytes: 200_000,
        times: 2,
    });
    let job = w.job();
    let out = job.run();
    w.assert_fetched(&job, &out);
    assert_eq!(w.requests_to(Host::Blob).len(), 3);
}

#[test]
fn a_stalled_body_times_out_and_resumes() {
    let w = world();
    w.gh.inject(Fault::StallMidBody {
        after_bytes: 100_000,
        stall: Duration::from_secs(30),
        times: 1,
    });
    let job = w.job().env("FETCH_ARTIFACT_READ_TIMEOUT_MS", 1000);
    let started = Instant::now();
    let out = job.run();
    w.assert_fetched(&job, &out);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stall was not cut short"
    );
}

#[test]
fn an_expired_blob_url_is_replaced_by_a_fresh_one() {
    let w = world();
    w.gh.inject(Fault::BlobUrlSingleUse);
    w.gh.inject(Fault::ResetMidBody {
        after_bytes: 400_000,
        times: 1,
    });
    let job = w.job();
    let out = job.run();
    w.assert_fetched(&job, &out);
    // First URL used, cut off; reused → 403; fresh URL from the API; resumed.
    assert_eq!(w.api_requests_to(&format!("/artifacts/{}/zip", w.id)), 2);
    let blobs = w.requests_to(Host::Blob);
    assert!(blobs.last().unwrap().header("range").is_some(), "{blobs:?}");
}

#[test]
fn retries_are_bounded() {
    let w = world();
    w.gh.inject(status(Host::Blob, "/blob/", 500, &[], "down", 100));
    let job = w.job().input("retries", 2);
    let before = tree(job.root.path());
    let out = job.run();
    out.assert_failure_containing("after 3 attempts");
    assert_eq!(w.requests_to(Host::Blob).len(), 3);
    assert_eq!(tree(job.root.path()), before);
}

#[test]
fn unauthorized_fails_at_once_and_says_what_to_check() {
    let w = world();
    w.gh.inject(status(
        Host::Api,
        "/repos/",
        401,
        &[],
        r#"{"message":"Bad credentials"}"#,
        5,
    ));
    let job = w.job();
    let out = job.run();
    out.assert_failure_containing("Bad credentials");
    out.assert_failure_containing("github-token");
    assert_eq!(w.gh.requests().len(), 1, "401 must not be retried");
}

#[test]
fn forbidden_names_the_permission_and_repository() {
    let w = world();
    w.gh.inject(status(
        Host::Api,
        "/repos/",
        403,
        &[("x-ratelimit-remaining", "4999")],
        r#"{"message":"Resource not accessible by integration"}"#,
        5,
    ));
    let out = w.job().run();
    out.assert_failure_containing("actions: read");
    out.assert_failure_containing("octo/app");
    assert_eq!(w.gh.requests().len(), 1, "a plain 403 must not be retried");
}

#[test]
fn not_found_fails_at_once() {
    let w = world();
    let out = Job::new(&w.gh.api_url())
        .input("name", "dist")
        .input("repository", "octo/missing")
        .run();
    out.assert_failure_containing("404");
    out.assert_failure_containing("octo/missing");
    assert_eq!(w.gh.requests().len(), 1);
}

#[test]
fn sigterm_stops_cleans_up_and_fails() {
    let w = world();
    w.gh.inject(Fault::StallMidBody {
        after_bytes: 100_000,
        stall: Duration::from_secs(60),
        times: 1,
    });
    let job = w.job();
    let before = tree(job.root.path());
    let mut child = job
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the download is under way (the staging directory exists).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !tree(&job.workspace()).keys().any(|k| k.contains("staging")) {
        assert!(Instant::now() < deadline, "download never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let out = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = job.outcome(out);
    out.assert_failure_containing("cancelled by SIGTERM");
    assert_eq!(tree(job.root.path()), before);
}
