//! Report: the step's outputs and its job-summary table.

use anyhow::{Context, Result};
use serde::Serialize;

use crate::digest::Verification;
use crate::runner::{self, Outputs, RunnerFiles, md_cell};
use crate::{Item, Outcome};

/// One element of the `artifacts` output.
#[derive(Debug, Serialize)]
struct ArtifactOutput<'a> {
    id: u64,
    name: &'a str,
    size_in_bytes: u64,
    /// The computed digest; in a dry run, the published one (if any).
    digest: Option<String>,
    run_id: Option<u64>,
    path: String,
    deleted: bool,
}

fn digest_of(item: &Item) -> Option<String> {
    item.digest
        .map(|d| d.to_string())
        .or_else(|| item.artifact.digest.clone())
}

/// The outputs of a run.
pub fn outputs(o: &Outcome, files: &RunnerFiles) -> Result<Outputs> {
    let mut out = Outputs::default();
    out.set("found-artifact", (!o.items.is_empty()).to_string());
    out.set("download-path", files.shown(&o.dest));
    out.set(
        "run-id",
        o.run_id.map(|r| r.to_string()).unwrap_or_default(),
    );
    out.set(
        "run-url",
        o.run
            .as_ref()
            .and_then(|r| r.html_url.clone())
            .unwrap_or_default(),
    );
    if let [item] = o.items.as_slice() {
        out.set("artifact-id", item.artifact.id.to_string());
        out.set("artifact-name", item.artifact.name.clone());
        out.set("digest", digest_of(item).unwrap_or_default());
    }
    let list: Vec<ArtifactOutput> = o
        .items
        .iter()
        .map(|i| ArtifactOutput {
            id: i.artifact.id.0,
            name: &i.artifact.name,
            size_in_bytes: i.bytes,
            digest: digest_of(i),
            run_id: i.artifact.run_id().or(o.run_id).map(|r| r.0),
            path: files.shown(&i.path),
            deleted: i.deleted,
        })
        .collect();
    out.set(
        "artifacts",
        serde_json::to_string(&list).context("cannot encode the artifacts output")?,
    );
    Ok(out)
}

/// Writes outputs to `GITHUB_OUTPUT` and a table to `GITHUB_STEP_SUMMARY` (when set); without
/// `GITHUB_OUTPUT` (run by hand), prints them.
pub fn report(o: &Outcome, files: &RunnerFiles) -> Result<()> {
    let outputs = outputs(o, files)?;
    match &files.output {
        Some(path) => outputs
            .write_to(path)
            .context("cannot write the step outputs (GITHUB_OUTPUT)")?,
        None => print!("{}", readable(o)),
    }
    if let Some(path) = &files.summary {
        runner::append_summary(path, &summary(o, files))
            .context("cannot write the job summary (GITHUB_STEP_SUMMARY)")?;
    }
    Ok(())
}

/// The outputs for a person at a terminal (no `GITHUB_OUTPUT`).
fn readable(o: &Outcome) -> String {
    let mut text = String::new();
    if let Some(run) = &o.run {
        text.push_str(&format!(
            "run {}{}\n",
            run.id,
            run.html_url
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default()
        ));
    }
    if let Some(why) = &o.nothing_found {
        text.push_str(&format!("nothing fetched: {why}\n"));
        return text;
    }
    let verb = if o.dry_run { "would fetch" } else { "fetched" };
    for i in &o.items {
        let check = match i.verification {
            Some(Verification::Verified) => "digest verified",
            Some(Verification::Unverifiable) => "no published digest",
            None => "not downloaded",
        };
        text.push_str(&format!(
            "{verb} {} (id {}, {}, {check}) -> {}\n",
            i.artifact.name,
            i.artifact.id,
            human_size(i.bytes),
            i.path.display()
        ));
        if let Some(d) = digest_of(i) {
            text.push_str(&format!("  {d}\n"));
        }
    }
    text
}

fn summary(o: &Outcome, files: &RunnerFiles) -> String {
    let mut md = String::from("### fetch-artifact\n\n");
    if o.dry_run {
        md.push_str("Dry run: nothing was downloaded.\n\n");
    }
    if let Some(run) = &o.run {
        let label = run.name.as_deref().unwrap_or("run");
        match &run.html_url {
            Some(url) => md.push_str(&format!("Run: [{} #{}]({url})", md_cell(label), run.id)),
            None => md.push_str(&format!("Run: {} #{}", md_cell(label), run.id)),
        }
        if let Some(b) = &run.head_branch {
            md.push_str(&format!(" on `{}`", md_cell(b)));
        }
        if let Some(sha) = &run.head_sha {
            md.push_str(&format!(" at `{}`", &sha[..sha.len().min(12)]));
        }
        md.push_str("\n\n");
    }
    if let Some(why) = &o.nothing_found {
        md.push_str(&format!("No artifact was found: {}\n\n", md_cell(why)));
        return md;
    }
    md.push_str("| Artifact | Size | Digest | Path |\n|---|---:|---|---|\n");
    for i in &o.items {
        let status = match i.verification {
            Some(Verification::Verified) => "✅ verified",
            Some(Verification::Unverifiable) => "⚠️ no published digest",
            None => "not downloaded",
        };
        md.push_str(&format!(
            "| `{}` | {} | {} `{}` | `{}` |\n",
            md_cell(&i.artifact.name),
            human_size(i.bytes),
            status,
            digest_of(i).unwrap_or_else(|| "–".into()),
            md_cell(&files.shown(&i.path)),
        ));
    }
    md.push('\n');
    md
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    // 1023.97 KiB would print as "1024.0 KiB": promote what rounds up to the next unit.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
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
        assert_eq!(human_size((1 << 20) - 1), "1.0 MiB");
    }
}
