//! End-to-end demo, no token and no internet: starts the bundled fake GitHub (API on 127.0.0.1,
//! blob storage on 127.0.0.2), seeds a run with a `dist` artifact, runs the real
//! `fetch-artifact` binary the way the Actions runner would, and prints the log, the outputs
//! and the extracted tree.
//!
//!     cargo run --example demo

#[path = "../tests/support/binary.rs"]
mod binary;
#[path = "../tests/support/fake_github.rs"]
#[allow(dead_code)]
mod fake_github;
#[path = "../tests/support/zips.rs"]
#[allow(dead_code)]
mod zips;

use std::path::Path;
use std::process::Command;

use fake_github::{ArtifactSeed, FakeGitHub, RunSeed};
use zips::ZipBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let binary = binary::build_binary()?;
    let gh = FakeGitHub::start();
    let repo = "octo/app";
    let run = gh.add_run(repo, RunSeed::default());
    let zip = ZipBuilder::new()
        .file("index.html", "<!doctype html><h1>Hello from run 1</h1>\n")
        .file("assets/app.js", "console.log('hi');\n")
        .file_mode("bin/deploy.sh", "#!/bin/sh\necho deploying\n", 0o755)
        .build();
    gh.add_artifact(repo, run, ArtifactSeed::new("dist", zip));

    let job = tempfile::tempdir()?;
    let workspace = job.path().join("workspace");
    let commands = job.path().join("file_commands");
    std::fs::create_dir_all(&workspace)?;
    std::fs::create_dir_all(&commands)?;
    let output_file = commands.join("set_output");
    let summary_file = commands.join("step_summary");

    println!(
        "fake GitHub API: {}   blob host: {}",
        gh.api_url(),
        gh.blob_origin()
    );
    println!(
        "running {} with name=dist run-id={run} path=out\n",
        binary.display()
    );
    let status = Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GITHUB_API_URL", gh.api_url())
        .env("GITHUB_REPOSITORY", repo)
        .env("GITHUB_WORKSPACE", &workspace)
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("INPUT_NAME", "dist")
        .env("INPUT_RUN-ID", run.to_string())
        .env("INPUT_PATH", "out")
        .env("INPUT_REPOSITORY", "")
        .env("INPUT_GITHUB-TOKEN", "demo-token-not-a-secret")
        .current_dir(&workspace)
        .status()?;

    println!("\n--- exit status: {status}");
    println!(
        "--- GITHUB_OUTPUT:\n{}",
        std::fs::read_to_string(&output_file).unwrap_or_default()
    );
    println!(
        "--- GITHUB_STEP_SUMMARY:\n{}",
        std::fs::read_to_string(&summary_file).unwrap_or_default()
    );
    println!("--- extracted tree under the workspace:");
    print_tree(&workspace, &workspace)?;
    if !status.success() {
        return Err("fetch-artifact failed".into());
    }
    Ok(())
}

fn print_tree(root: &Path, dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        let meta = e.metadata()?;
        let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            println!("  {mode:o}  {rel}/");
            print_tree(root, &p)?;
        } else {
            println!("  {mode:o}  {rel}  ({} bytes)", meta.len());
        }
    }
    Ok(())
}
