//! Report: the step's outputs and its job-summary table.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::Fetched;
use crate::digest::Verification;
use crate::runner::{self, Outputs, RunnerFiles, md_cell};

/// One element of the `artifacts` output.
#[derive(Debug, Serialize)]
struct ArtifactOutput<'a> {
    id: u64,
    name: &'a str,
    size_in_bytes: u64,
    digest: String,
    run_id: Option<u64>,
    path: String,
}

/// The outputs for one fetched artifact.
pub fn outputs(fetched: &Fetched, dest: &Path) -> Result<Outputs> {
    let mut o = Outputs::default();
    o.set("download-path", dest.display().to_string());
    o.set("artifact-id", fetched.artifact.id.to_string());
    o.set("artifact-name", fetched.artifact.name.clone());
    o.set("digest", fetched.digest.to_string());
    o.set(
        "run-id",
        fetched.run_id.map(|r| r.to_string()).unwrap_or_default(),
    );
    let list = [ArtifactOutput {
        id: fetched.artifact.id.0,
        name: &fetched.artifact.name,
        size_in_bytes: fetched.bytes,
        digest: fetched.digest.to_string(),
        run_id: fetched.run_id.map(|r| r.0),
        path: fetched.path.display().to_string(),
    }];
    o.set(
        "artifacts",
        serde_json::to_string(&list).context("cannot encode the artifacts output")?,
    );
    Ok(o)
}

/// Writes outputs to `GITHUB_OUTPUT` and a table to `GITHUB_STEP_SUMMARY` (when set), and a
/// readable recap to the log.
pub fn report(fetched: &Fetched, dest: &Path, files: &RunnerFiles) -> Result<()> {
    let outputs = outputs(fetched, dest)?;
    match &files.output {
        Some(path) => outputs
            .write_to(path)
            .context("cannot write the step outputs (GITHUB_OUTPUT)")?,
        None => {
            for (name, value) in outputs.entries() {
                runner::info(&format!("{name}: {value}"));
            }
        }
    }
    if let Some(path) = &files.summary {
        runner::append_summary(path, &summary(fetched))
            .context("cannot write the job summary (GITHUB_STEP_SUMMARY)")?;
    }
    Ok(())
}

fn summary(f: &Fetched) -> String {
    let status = match f.verification {
        Verification::Verified => "✅ verified",
        Verification::Unverifiable => "⚠️ no published digest",
    };
    format!(
        "### fetch-artifact\n\n\
         | Artifact | Run | Size | Digest | Path |\n\
         |---|---|---:|---|---|\n\
         | `{}` | {} | {} | {} `{}` | `{}` |\n\n",
        md_cell(&f.artifact.name),
        f.run_id
            .map(|r| r.to_string())
            .unwrap_or_else(|| "–".into()),
        human_size(f.bytes),
        status,
        f.digest,
        md_cell(&f.path.display().to_string()),
    )
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(5), "5 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }
}
