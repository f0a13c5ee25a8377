//! The core story: given a run with these artifacts, when the action runs with these inputs,
//! then these files and these outputs exist (or this error, and nothing changed).

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::action::{Job, REPO, TOKEN, sha256, tree};
use crate::support::fake_github::{ArtifactSeed, DigestSeed, FakeGitHub, Fault, Host, RunSeed};
use crate::support::zips::{RawEntry, ZipBuilder, raw_zip, zip_of};

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn dist_zip() -> Vec<u8> {
    ZipBuilder::new()
        .file("index.html", "<h1>hi</h1>")
        .file_mode("bin/tool", "#!/bin/sh\necho tool\n", 0o755)
        .file("assets/css/site.css", "body{}")
        .dir("empty/")
        .build()
}

#[test]
fn fetches_by_run_id_verifies_and_extracts() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = dist_zip();
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed::new("coverage", zip_of(&[("c.txt", "c")])),
    );

    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run)
        .input("path", "out/");
    let out = job.run();
    out.assert_success();

    let dest = job.workspace().join("out");
    assert_eq!(
        fs::read_to_string(dest.join("index.html")).unwrap(),
        "<h1>hi</h1>"
    );
    assert_eq!(
        fs::read_to_string(dest.join("assets/css/site.css")).unwrap(),
        "body{}"
    );
    assert_eq!(mode(&dest.join("bin/tool")), 0o755);
    assert_eq!(mode(&dest.join("index.html")), 0o644);
    // Parents that have no entry of their own come out 0755, not the zip crate's 0700.
    assert_eq!(mode(&dest.join("assets")), 0o755);
    assert_eq!(mode(&dest.join("assets/css")), 0o755);
    assert_eq!(mode(&dest.join("empty")), 0o755);
    assert!(
        !dest.join("c.txt").exists(),
        "only the named artifact is fetched"
    );
    // No staging leftovers anywhere in the workspace.
    let names: Vec<_> = tree(&job.workspace()).into_keys().collect();
    assert!(
        names.iter().all(|n| !n.contains("fetch-artifact-staging")),
        "{names:?}"
    );

    assert_eq!(out.output("download-path"), dest.display().to_string());
    assert_eq!(out.output("artifact-id"), id.to_string());
    assert_eq!(out.output("artifact-name"), "dist");
    assert_eq!(out.output("digest"), sha256(&body));
    assert_eq!(out.output("run-id"), run.to_string());
    let list: serde_json::Value = serde_json::from_str(out.output("artifacts")).unwrap();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["name"], "dist");
    assert_eq!(list[0]["size_in_bytes"], body.len());
    assert_eq!(list[0]["digest"], sha256(&body));
    assert_eq!(list[0]["run_id"], run);
    assert_eq!(list[0]["path"], dest.display().to_string());

    // The log: mask first, one group per artifact; the summary: a table.
    assert_eq!(
        out.stdout.lines().next().unwrap(),
        format!("::add-mask::{TOKEN}")
    );
    assert!(
        out.stdout.contains("::group::Fetching artifact `dist`"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("::endgroup::"));
    assert!(
        out.summary.contains("| `dist` |") && out.summary.contains("verified"),
        "{}",
        out.summary
    );
}

#[test]
fn sends_standard_headers_to_the_api_and_no_token_to_the_blob_host() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", dist_zip()));
    Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run)
        .run()
        .assert_success();

    let reqs = gh.requests();
    let api: Vec<_> = reqs.iter().filter(|r| r.host == Host::Api).collect();
    let blob: Vec<_> = reqs.iter().filter(|r| r.host == Host::Blob).collect();
    assert!(!api.is_empty() && !blob.is_empty());
    for r in &api {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{r:?}"
        );
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2026-03-10"));
        assert!(
            r.header("user-agent")
                .is_some_and(|ua| ua.starts_with("fetch-artifact/"))
        );
    }
    for r in &blob {
        assert_eq!(
            r.header("authorization"),
            None,
            "token leaked to blob host: {r:?}"
        );
        assert!(r.query.contains("sig="), "{r:?}");
        for (_, v) in &r.headers {
            assert!(!v.contains(TOKEN));
        }
    }
    assert!(
        api.iter()
            .any(|r| r.query.contains("name=dist") && r.query.contains("per_page=100"))
    );
}

#[test]
fn by_name_takes_the_newest_live_artifact() {
    let gh = FakeGitHub::start();
    let old = gh.add_run(REPO, RunSeed::default());
    let mid = gh.add_run(REPO, RunSeed::default());
    let new = gh.add_run(REPO, RunSeed::default());
    let seed = |content: &str, created: &str| ArtifactSeed {
        created_at: created.into(),
        ..ArtifactSeed::new("dist", zip_of(&[("which.txt", content)]))
    };
    gh.add_artifact(REPO, old, seed("old", "2026-11-01T00:00:00Z"));
    gh.add_artifact(REPO, mid, seed("mid", "2026-11-10T00:00:00Z"));
    gh.add_artifact(
        REPO,
        new,
        ArtifactSeed {
            expired: true,
            ..seed("expired", "2026-11-20T00:00:00Z")
        },
    );
    gh.add_artifact(
        REPO,
        new,
        ArtifactSeed {
            created_at: "2026-11-21T00:00:00Z".into(),
            ..ArtifactSeed::new("dist-other", zip_of(&[("which.txt", "wrong name")]))
        },
    );

    let job = Job::new(&gh.api_url()).input("name", "dist");
    let out = job.run();
    out.assert_success();
    assert_eq!(
        fs::read_to_string(job.workspace().join("which.txt")).unwrap(),
        "mid"
    );
    assert_eq!(out.output("run-id"), mid.to_string());
}

#[test]
fn follows_pagination_past_100_artifacts() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    for i in 0..150 {
        gh.add_artifact(
            REPO,
            run,
            ArtifactSeed::new(&format!("part-{i:03}"), zip_of(&[("x", "x")])),
        );
    }
    let out = Job::new(&gh.api_url())
        .input("name", "missing")
        .input("run-id", run)
        .run();
    // The error lists every name the run has, including those only on page 2.
    out.assert_failure_containing("has no artifact named `missing`");
    let errors = out.errors();
    assert!(
        errors.contains("`part-000`") && errors.contains("`part-149`"),
        "{errors}"
    );
    let pages: Vec<_> = gh
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/artifacts") && r.query.contains("page=2"))
        .collect();
    assert!(!pages.is_empty(), "second page never requested");

    // Repository-wide search pages too: 120 artifacts of the same name, the newest created last.
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    for i in 0..120 {
        let created = format!(
            "2026-11-{:02}T{:02}:{:02}:00Z",
            1 + i / 60,
            (i / 60) % 24,
            i % 60
        );
        let content = format!("{i}");
        gh.add_artifact(
            REPO,
            run,
            ArtifactSeed {
                created_at: created,
                ..ArtifactSeed::new("dist", zip_of(&[("n.txt", &content)]))
            },
        );
    }
    let job = Job::new(&gh.api_url()).input("name", "dist");
    job.run().assert_success();
    assert_eq!(
        fs::read_to_string(job.workspace().join("n.txt")).unwrap(),
        "119"
    );
}

#[test]
fn not_found_lists_what_the_run_has() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed::new("coverage", zip_of(&[("a", "a")])),
    );
    gh.add_artifact(REPO, run, ArtifactSeed::new("Dist", zip_of(&[("a", "a")])));
    let out = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run)
        .run();
    out.assert_failure_containing("has no artifact named `dist`; it has: `Dist`, `coverage`");

    let empty = gh.add_run(REPO, RunSeed::default());
    let out = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", empty)
        .run();
    out.assert_failure_containing("has no artifacts at all");

    let out = Job::new(&gh.api_url()).input("name", "nope").run();
    out.assert_failure_containing("no artifact named `nope` in octo/app");

    let out = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", 999_999)
        .run();
    out.assert_failure_containing("404");
}

#[test]
fn expired_artifacts_fail_with_the_date() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            expired: true,
            expires_at: "2026-10-01T08:00:00Z".into(),
            ..ArtifactSeed::new("dist", dist_zip())
        },
    );
    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run);
    let out = job.run();
    out.assert_failure_containing("artifact `dist`");
    out.assert_failure_containing("expired on 2026-10-01 08:00:00 UTC");
    out.assert_failure_containing(&format!("re-run workflow run {run}"));
    assert!(tree(&job.workspace()).is_empty());

    // Listed as live, but the download endpoint already answers 410.
    let live = gh.add_artifact(REPO, run, ArtifactSeed::new("late", dist_zip()));
    gh.inject(Fault::Status {
        host: Host::Api,
        path_prefix: format!("/repos/{REPO}/actions/artifacts/{live}/zip"),
        status: 410,
        headers: vec![],
        body: r#"{"message":"Artifact has expired"}"#.into(),
        times: 1,
    });
    let job = Job::new(&gh.api_url())
        .input("name", "late")
        .input("run-id", run);
    let out = job.run();
    out.assert_failure_containing("artifact `late`");
    out.assert_failure_containing("expired");
    assert!(tree(&job.workspace()).is_empty());
}

#[test]
fn digest_mismatch_leaves_the_destination_untouched() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = dist_zip();
    let claimed = sha256(b"something else");
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            digest: DigestSeed::Fixed(claimed.to_uppercase().replace("SHA256", "sha256")),
            ..ArtifactSeed::new("dist", body.clone())
        },
    );
    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run);
    fs::write(job.workspace().join("index.html"), "mine").unwrap();
    fs::create_dir(job.workspace().join("bin")).unwrap();
    fs::write(job.workspace().join("bin/keep"), "keep").unwrap();
    let before = tree(&job.workspace());

    let out = job.run();
    out.assert_failure_containing("digest mismatch");
    out.assert_failure_containing(&claimed);
    out.assert_failure_containing(&sha256(&body));
    assert_eq!(tree(&job.workspace()), before);
    assert!(
        out.outputs.is_empty(),
        "no outputs on failure: {:?}",
        out.outputs
    );
}

#[test]
fn digest_is_compared_case_insensitively() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = dist_zip();
    let upper = format!("sha256:{}", sha256(&body)[7..].to_uppercase());
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            digest: DigestSeed::Fixed(upper),
            ..ArtifactSeed::new("dist", body.clone())
        },
    );
    let out = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run)
        .run();
    out.assert_success();
    assert!(out.warnings().is_empty(), "{:?}", out.warnings());
}

#[test]
fn null_or_absent_digest_warns_and_goes_on() {
    for seed in [DigestSeed::Null, DigestSeed::Absent] {
        let gh = FakeGitHub::start();
        let run = gh.add_run(REPO, RunSeed::default());
        gh.add_artifact(
            REPO,
            run,
            ArtifactSeed {
                digest: seed.clone(),
                ..ArtifactSeed::new("dist", dist_zip())
            },
        );
        let job = Job::new(&gh.api_url())
            .input("name", "dist")
            .input("run-id", run);
        let out = job.run();
        out.assert_success();
        let warnings = out.warnings();
        assert_eq!(warnings.len(), 1, "{seed:?}: {}", out.stdout);
        assert!(
            warnings[0].contains("could not be verified"),
            "{}",
            warnings[0]
        );
        assert!(job.workspace().join("index.html").exists());
        assert!(out.summary.contains("no published digest"));
    }
}

#[test]
fn malformed_digest_is_refused_not_ignored() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            digest: DigestSeed::Fixed("sha512:abcd".into()),
            ..ArtifactSeed::new("dist", dist_zip())
        },
    );
    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run);
    let out = job.run();
    out.assert_failure_containing("cannot check");
    assert!(tree(&job.workspace()).is_empty());
}

#[test]
fn path_traversal_entries_refuse_the_whole_archive() {
    for name in [
        "../evil.txt",
        "ok/../../evil.txt",
        "/tmp/evil.txt",
        "..\\evil.txt",
        "C:/evil.txt",
    ] {
        let gh = FakeGitHub::start();
        let run = gh.add_run(REPO, RunSeed::default());
        let body = raw_zip(&[
            RawEntry::stored("good.txt", b"good"),
            RawEntry::stored(name, b"evil"),
        ]);
        gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body));
        let job = Job::new(&gh.api_url())
            .input("name", "dist")
            .input("run-id", run)
            .input("path", "out");
        let out = job.run();
        out.assert_failure_containing("refusing the archive");
        out.assert_failure_containing(&name.replace('\\', "\\\\"));
        assert!(
            tree(job.root.path()).keys().all(|k| !k.contains("evil")),
            "{name}"
        );
        assert!(
            tree(&job.workspace()).is_empty(),
            "{name}: {:?}",
            tree(&job.workspace())
        );
    }
}

#[test]
fn symlink_entries_are_refused() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = raw_zip(&[RawEntry::symlink("link", "/etc/passwd")]);
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body));
    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run);
    job.run().assert_failure_containing("is a symbolic link");
    assert!(tree(&job.workspace()).is_empty());
}

#[test]
fn merges_into_an_existing_destination() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", dist_zip()));
    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run);
    let ws = job.workspace();
    fs::write(ws.join("index.html"), "stale").unwrap();
    fs::write(ws.join("README.md"), "keep me").unwrap();
    fs::create_dir_all(ws.join("assets/img")).unwrap();
    fs::write(ws.join("assets/img/logo.png"), "png").unwrap();
    job.run().assert_success();
    assert_eq!(
        fs::read_to_string(ws.join("index.html")).unwrap(),
        "<h1>hi</h1>"
    );
    assert_eq!(fs::read_to_string(ws.join("README.md")).unwrap(), "keep me");
    assert_eq!(
        fs::read_to_string(ws.join("assets/img/logo.png")).unwrap(),
        "png"
    );
    assert_eq!(
        fs::read_to_string(ws.join("assets/css/site.css")).unwrap(),
        "body{}"
    );
}

#[test]
fn directories_are_0755_whatever_the_umask() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed::new("dist", zip_of(&[("a/b/c.txt", "c")])),
    );
    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run)
        .input("path", "deep/out");
    // sh drops variables whose names hold a hyphen (INPUT_RUN-ID), so hand them to `env` as
    // arguments after the umask is set.
    let cmd = job.command();
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("umask 077; exec \"$@\"")
        .arg("sh")
        .arg("env");
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            sh.arg(format!("{}={}", k.to_string_lossy(), v.to_string_lossy()));
        }
    }
    sh.arg(cmd.get_program());
    sh.env_clear().current_dir(job.workspace());
    let out = job.outcome(sh.output().unwrap());
    out.assert_success();
    let ws = job.workspace();
    for d in ["deep", "deep/out", "deep/out/a", "deep/out/a/b"] {
        assert_eq!(mode(&ws.join(d)), 0o755, "{d}");
    }
}

#[test]
fn single_file_artifacts_are_saved_verified_under_their_own_name() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = br#"{"report": true}"#.to_vec();
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed {
            content_type: "application/json".into(),
            filename: Some("../sneaky/report.json".into()),
            ..ArtifactSeed::new("report", body.clone())
        },
    );
    let job = Job::new(&gh.api_url())
        .input("name", "report")
        .input("run-id", run)
        .input("path", "reports");
    let out = job.run();
    out.assert_success();
    let file = job.workspace().join("reports/report.json");
    assert_eq!(fs::read(&file).unwrap(), body);
    assert_eq!(out.output("digest"), sha256(&body));
    let list: serde_json::Value = serde_json::from_str(out.output("artifacts")).unwrap();
    assert_eq!(list[0]["path"], file.display().to_string());
    assert_eq!(
        tree(&job.workspace()).len(),
        2,
        "{:?}",
        tree(&job.workspace())
    );
}

#[test]
fn outputs_use_the_heredoc_form_and_parse_back() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist = v1 <<EOF", dist_zip()));
    let job = Job::new(&gh.api_url())
        .input("name", "dist = v1 <<EOF")
        .input("run-id", run);
    let out = job.run();
    out.assert_success();
    assert_eq!(out.output("artifact-name"), "dist = v1 <<EOF");
    for line in out
        .output_file
        .lines()
        .filter(|l| l.contains("<<ghadelimiter_"))
    {
        let delim = line.split_once("<<").unwrap().1;
        assert!(delim.len() > 20, "delimiter should be random: {delim}");
    }
    assert_eq!(out.outputs.len(), 8, "{:?}", out.outputs);
    assert_eq!(out.output("found-artifact"), "true");
    assert!(
        out.output("run-url")
            .ends_with(&format!("/actions/runs/{run}"))
    );
}

#[test]
fn invalid_inputs_name_the_input_and_call_nothing() {
    let gh = FakeGitHub::start();
    let cases = [
        ("run-id", "abc", "input `run-id`"),
        ("repository", "noslash", "input `repository`"),
        ("name", "", "input `name`"),
        ("run-id", "12x", "positive integer"),
    ];
    for (input, value, needle) in cases {
        let mut job = Job::new(&gh.api_url())
            .input("name", "dist")
            .input(input, value);
        if input == "name" {
            job = job.input("name", "");
        }
        let out = job.run();
        out.assert_failure_containing(needle);
    }
    let out = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("github-token", "")
        .run();
    out.assert_failure_containing("input `github-token`");
    assert!(gh.requests().is_empty(), "{:?}", gh.requests());
}

#[test]
fn underscore_spelling_works_by_hand() {
    let gh = FakeGitHub::start();
    let run = gh.add_run("Octo/App", RunSeed::default());
    gh.add_artifact("Octo/App", run, ArtifactSeed::new("dist", dist_zip()));
    let job = Job::new(&gh.api_url())
        .without_env("INPUT_RUN-ID")
        .without_env("INPUT_GITHUB-TOKEN")
        .env("INPUT_NAME", "dist")
        .env("INPUT_RUN_ID", run)
        .env("INPUT_GITHUB_TOKEN", TOKEN);
    job.run().assert_success();
    assert!(job.workspace().join("index.html").exists());
}

#[test]
fn the_token_appears_nowhere_but_the_mask_command() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", dist_zip()));
    // A failing run too: errors are where secrets usually leak.
    for name in ["dist", "missing"] {
        let job = Job::new(&gh.api_url())
            .input("name", name)
            .input("run-id", run);
        let out = job.run();
        let visible = out.stdout.replace(&format!("::add-mask::{TOKEN}"), "");
        for (what, text) in [
            ("stdout", visible.as_str()),
            ("stderr", out.stderr.as_str()),
            ("outputs", out.output_file.as_str()),
            ("summary", out.summary.as_str()),
        ] {
            assert!(!text.contains(TOKEN), "token in {what}: {text}");
        }
        for (path, desc) in tree(&job.workspace()) {
            let _ = desc;
            if let Ok(content) = fs::read_to_string(job.workspace().join(&path)) {
                assert!(!content.contains(TOKEN), "token in {path}");
            }
        }
    }
}
