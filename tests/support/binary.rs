//! Builds the `fetch-artifact` binary for the examples: `cargo run --example` does not build
//! the crate's binaries, so ask cargo, in the profile the example itself was built with.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn build_binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let me = std::env::current_exe()?;
    let profile_dir = me
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate the target directory")?;
    let release = profile_dir.ends_with("release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "--bin", "fetch-artifact"]);
    if release {
        build.arg("--release");
    }
    if !build.status()?.success() {
        return Err("cargo build --bin fetch-artifact failed".into());
    }
    Ok(profile_dir.join("fetch-artifact"))
}
