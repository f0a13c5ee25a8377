//! Fitting in: files in the workspace belong to its owner, `action.yml` and the command line
//! share one definition of every input, and the same binary works by hand on a laptop.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use fetch_artifact::inputs::INPUTS;

use crate::support::action::{Job, REPO, TOKEN, action_defaults, tree};
use crate::support::fake_github::{ArtifactSeed, FakeGitHub, RunSeed};
use crate::support::zips::ZipBuilder;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn owners(dir: &Path) -> Vec<(String, u32, u32)> {
    tree(dir)
        .keys()
        .map(|rel| {
            let m = fs::symlink_metadata(dir.join(rel)).unwrap();
            (rel.clone(), m.uid(), m.gid())
        })
        .collect()
}

#[test]
fn as_root_what_lands_belongs_to_the_workspace_owner() {
    if !is_root() {
        // The runner starts the container as root; as anyone else there is nothing to hand
        // over, and chown would not be allowed anyway.
        eprintln!("skipped: not running as root");
        return;
    }
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let zip = ZipBuilder::new()
        .file("top.txt", "t")
        .file("lib/deep/x.txt", "x")
        .file("keep/new.txt", "n")
        .dir("empty/")
        .build();
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", zip));

    let (uid, gid) = (4321, 4322);
    for (path, expect_parents) in [("", false), ("a/b/out", true)] {
        let job = Job::new(&gh.api_url())
            .input("name", "dist")
            .input("run-id", run)
            .input("path", path);
        let ws = job.workspace();
        // Something already there stays as it was, owner included.
        fs::create_dir(ws.join("keep")).unwrap();
        fs::write(ws.join("keep/old.txt"), "o").unwrap();
        std::os::unix::fs::chown(&ws, Some(uid), Some(gid)).unwrap();
        job.run().assert_success();

        let all = owners(&ws);
        assert!(all.iter().any(|(p, ..)| p.ends_with("deep/x.txt")));
        if expect_parents {
            assert!(all.iter().any(|(p, ..)| p == "a/b"));
        }
        for (rel, u, g) in &all {
            let pre_existing = rel == "keep" || rel == "keep/old.txt";
            let want = if pre_existing { (0, 0) } else { (uid, gid) };
            assert_eq!((*u, *g), want, "{path:?}: owner of {rel}");
        }
    }
}

#[test]
fn action_yml_and_the_command_line_declare_the_same_inputs() {
    let declared = action_defaults();
    let defined: Vec<(String, String)> = INPUTS
        .iter()
        .map(|d| (d.name.to_owned(), d.default.to_owned()))
        .collect();
    assert_eq!(declared, defined);
}

fn cli(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_fetch-artifact"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(envs.iter().copied())
        .current_dir(dir.path())
        .output()
        .unwrap()
}

#[test]
fn help_and_version() {
    let out = cli(&["--help"], &[]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for d in INPUTS {
        assert!(help.contains(&format!("--{}", d.name)), "{help}");
    }
    assert!(help.contains("GITHUB_TOKEN") && help.contains("GH_TOKEN"));

    let out = cli(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("fetch-artifact {}", env!("CARGO_PKG_VERSION"))
    );

    let out = cli(&["--run", "1"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean --run-id"));
}

#[test]
fn by_hand_flags_fetch_and_print_a_summary_without_workflow_commands() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let zip = ZipBuilder::new().file("a/b.txt", "hello").build();
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", zip));
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("out");
    let run_id = run.to_string();

    for token_var in ["GITHUB_TOKEN", "GH_TOKEN"] {
        let _ = fs::remove_dir_all(&dest);
        let out = cli(
            &[
                "--repository",
                REPO,
                "--run-id",
                &run_id,
                "--name",
                "dist",
                "--path",
                dest.to_str().unwrap(),
            ],
            &[(token_var, TOKEN), ("GITHUB_API_URL", &gh.api_url())],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert_eq!(fs::read_to_string(dest.join("a/b.txt")).unwrap(), "hello");
        assert!(stdout.contains("fetched dist") && stdout.contains("digest verified"));
        assert!(stdout.contains(&format!("run {run}")), "{stdout}");
        // A terminal is not the runner: no `::` commands, and above all no `::add-mask::`
        // line, which would print the token it means to hide.
        assert!(!stdout.contains("::"), "{stdout}");
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    }

    // Errors are plain text on stderr, and the exit code is 1.
    let out = cli(
        &["--repository", REPO, "--run-id", &run_id, "--name", "nope"],
        &[("GITHUB_TOKEN", TOKEN), ("GITHUB_API_URL", &gh.api_url())],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("`dist`"),
        "{stderr}"
    );
}

#[test]
fn flags_win_over_input_variables() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let zip = ZipBuilder::new().file("f.txt", "f").build();
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", zip));
    let job = Job::new(&gh.api_url())
        .input("name", "wrong")
        .input("run-id", run);
    let mut cmd = job.command();
    cmd.args(["--name", "dist"]);
    let out = job.outcome(cmd.output().unwrap());
    out.assert_success();
    assert_eq!(out.output("artifact-name"), "dist");
}
