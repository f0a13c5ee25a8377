//! The network around the action: the runner's proxy variables, what a long download prints
//! while it runs, and GitHub Enterprise Server behind a private certificate authority.

use crate::support::action::{Job, Outcome};
use crate::support::fake_github::{Fault, Host, RecordedRequest};
use crate::support::proxy::{self, Proxy};
use crate::support::tls::{PrivateCa, TlsFront};

use crate::support::dist::DistRun as World;

fn world() -> World {
    World::start("fetched over the network")
}

fn via_proxy(r: &RecordedRequest) -> bool {
    r.header("via") == Some(proxy::VIA)
}

/// Everything, API and blob alike, went through the proxy, and the token did not go to the blob
/// host through it either.
#[track_caller]
fn assert_all_proxied(w: &World, proxy: &Proxy) {
    let api = w.requests_to(Host::Api);
    let blob = w.requests_to(Host::Blob);
    assert!(!api.is_empty() && !blob.is_empty());
    // The fake's own records, so a request that bypassed the proxy cannot hide.
    for r in api.iter().chain(&blob) {
        assert!(via_proxy(r), "went direct: {} {}", r.method, r.path);
    }
    let api_seen = proxy.requests_to(&w.gh.api_url());
    let blob_seen = proxy.requests_to(&w.gh.blob_origin());
    assert_eq!(api_seen.len(), api.len(), "{api_seen:?}");
    assert_eq!(blob_seen.len(), blob.len(), "{blob_seen:?}");
    assert!(api_seen.iter().all(|r| r.authorization), "{api_seen:?}");
    assert!(
        blob_seen
            .iter()
            .all(|r| !r.authorization && r.url.contains("sig=")),
        "{blob_seen:?}"
    );
    assert!(
        proxy.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        proxy.requests()
    );
}

#[test]
fn http_proxy_carries_api_and_blob_requests() {
    let w = world();
    let proxy = Proxy::start();
    let job = w.job().env("HTTP_PROXY", proxy.url());
    let out = job.run();
    w.assert_fetched(&job, &out);
    assert_all_proxied(&w, &proxy);
}

#[test]
fn lowercase_http_proxy_is_honoured() {
    let w = world();
    let proxy = Proxy::start();
    let job = w.job().env("http_proxy", proxy.url());
    let out = job.run();
    w.assert_fetched(&job, &out);
    assert_all_proxied(&w, &proxy);
}

#[test]
fn no_proxy_sends_the_blob_request_direct() {
    let w = world();
    let proxy = Proxy::start();
    let blob_host =
        w.gh.blob_origin()
            .trim_start_matches("http://")
            .split(':')
            .next()
            .unwrap()
            .to_owned();
    let job = w
        .job()
        .env("HTTP_PROXY", proxy.url())
        .env("NO_PROXY", format!("example.com, {blob_host}"));
    let out = job.run();
    w.assert_fetched(&job, &out);

    let api = w.requests_to(Host::Api);
    assert!(!api.is_empty());
    assert!(api.iter().all(via_proxy), "{api:?}");
    assert_eq!(proxy.requests_to(&w.gh.api_url()).len(), api.len());
    let blob = w.requests_to(Host::Blob);
    assert!(!blob.is_empty());
    assert!(!blob.iter().any(via_proxy), "{blob:?}");
    assert!(proxy.requests_to(&w.gh.blob_origin()).is_empty());
}

/// The percentage in a progress line, if it has one.
fn percent(line: &str) -> Option<u64> {
    let (_, rest) = line.split_once(" (")?;
    rest.split_once("%)")?.0.parse().ok()
}

fn progress_lines(out: &Outcome) -> Vec<&str> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with("dist: ") && l.ends_with(" MB/s"))
        .collect()
}

#[test]
fn a_slow_download_reports_progress() {
    let w = world();
    // About a second for the 1 MiB blob, so ten reports at 100 ms.
    w.gh.inject(Fault::Throttle {
        bytes_per_sec: 1 << 20,
        times: 1,
    });
    let job = w.job().env("FETCH_ARTIFACT_PROGRESS_MS", 100);
    let out = job.run();
    w.assert_fetched(&job, &out);

    let lines = progress_lines(&out);
    assert!(lines.len() >= 3, "{}", out.stdout);
    assert!(!out.stdout.contains('\r'), "{:?}", out.stdout);
    let percents: Vec<u64> = lines
        .iter()
        .map(|l| percent(l).unwrap_or_else(|| panic!("no percentage in {l:?}")))
        .collect();
    assert!(percents.windows(2).all(|p| p[0] <= p[1]), "{percents:?}");
    assert!(percents.iter().all(|p| *p <= 100), "{percents:?}");
    // The bytes really were flowing while it reported.
    assert!(percents.last() > percents.first(), "{percents:?}");
    assert!(
        lines.iter().all(|l| l.contains(" of 1.0 MiB (")),
        "{lines:?}"
    );
}

#[test]
fn a_fast_download_prints_no_progress() {
    let w = world();
    let job = w.job();
    let out = job.run();
    w.assert_fetched(&job, &out);
    assert!(progress_lines(&out).is_empty(), "{}", out.stdout);
    assert!(!out.stdout.contains("MB/s"), "{}", out.stdout);
}

/// GitHub Enterprise Server behind a private CA: the API at `https://localhost:PORT` and the blob
/// host at `https://127.0.0.2:PORT`, each with a certificate that `api_ca` or `blob_ca` signed.
/// The blob host is https too because GitHub's signed download URLs always are, and an
/// enterprise's storage sits behind the same kind of certificate; so the CA must work for both
/// connections.
struct Enterprise {
    w: World,
    api: TlsFront,
    blob: TlsFront,
}

fn enterprise(api_ca: &PrivateCa, blob_ca: &PrivateCa) -> Enterprise {
    let w = world();
    let api = api_ca.front("127.0.0.1", w.gh.api_addr());
    let blob = blob_ca.front("127.0.0.2", w.gh.blob_addr());
    w.gh.serve_as(&api.url_as("localhost"), &blob.url());
    Enterprise { w, api, blob }
}

impl Enterprise {
    fn job(&self) -> Job {
        self.w.job_at(&self.api.url_as("localhost"))
    }
}

/// The action failed at a TLS handshake, said why and what to do, and did not retry.
#[track_caller]
fn assert_refused_certificate(out: &Outcome) {
    out.assert_failure_containing("certificate");
    let errors = out.errors();
    for needle in ["UnknownIssuer", "SSL_CERT_FILE", "GitHub Enterprise Server"] {
        assert!(
            errors.contains(needle),
            "no {needle:?} in:\n{errors}\nstderr:\n{}",
            out.stderr
        );
    }
    // A certificate does not change between attempts: retrying only delays the error.
    assert!(!out.stdout.contains("retrying"), "{}", out.stdout);
}

#[test]
fn a_private_ca_in_ssl_cert_file_is_trusted_for_api_and_blob() {
    let ca = PrivateCa::new();
    let e = enterprise(&ca, &ca);
    let job = e.job().env("SSL_CERT_FILE", ca.pem_file().display());
    let out = job.run();
    e.w.assert_fetched(&job, &out);

    // The client knows only the https addresses, so whatever reached the fake came through the
    // TLS fronts; the Host headers show which.
    let api = e.w.requests_to(Host::Api);
    let blob = e.w.requests_to(Host::Blob);
    assert!(!api.is_empty() && !blob.is_empty());
    let api_host = e.api.url_as("localhost").replace("https://", "");
    let blob_host = e.blob.url().replace("https://", "");
    assert!(
        api.iter()
            .all(|r| r.header("host") == Some(api_host.as_str())),
        "{api:?}"
    );
    assert!(
        blob.iter()
            .all(|r| r.header("host") == Some(blob_host.as_str())),
        "{blob:?}"
    );
    assert!(!out.stdout.contains("retrying"), "{}", out.stdout);
}

#[test]
fn an_untrusted_certificate_fails_and_says_to_set_ssl_cert_file() {
    let ca = PrivateCa::new();
    let e = enterprise(&ca, &ca);
    // `Job` clears the environment: no SSL_CERT_FILE, so only the system's bundle is trusted.
    let out = e.job().run();
    assert_refused_certificate(&out);
    // Nothing got past the handshake to the fake behind the front.
    assert!(e.w.gh.requests().is_empty(), "{:?}", e.w.gh.requests());
}

#[test]
fn ssl_cert_file_without_the_ca_is_refused_too() {
    let ca = PrivateCa::new();
    let e = enterprise(&ca, &ca);
    // SSL_CERT_FILE replaces the system bundle; one without the server's CA trusts nothing here.
    let other = PrivateCa::new();
    let out = e
        .job()
        .env("SSL_CERT_FILE", other.pem_file().display())
        .run();
    assert_refused_certificate(&out);
    assert!(e.w.gh.requests().is_empty(), "{:?}", e.w.gh.requests());
}

#[test]
fn a_blob_host_outside_the_trusted_ca_gets_the_same_advice() {
    let ca = PrivateCa::new();
    let storage_ca = PrivateCa::new();
    let e = enterprise(&ca, &storage_ca);
    let out = e.job().env("SSL_CERT_FILE", ca.pem_file().display()).run();
    assert_refused_certificate(&out);
    assert!(!e.w.requests_to(Host::Api).is_empty());
    assert!(e.w.requests_to(Host::Blob).is_empty());
    let errors = out.errors();
    assert!(errors.contains(&e.blob.url()), "{errors}");
    // The signed URL's signature stays out of the log.
    assert!(!errors.contains("sig="), "{errors}");
}
