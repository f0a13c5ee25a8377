//! The container contract without a Docker engine: a fully static build of the binary, alone
//! with a CA bundle in an otherwise empty root (what `FROM scratch` ships), started the way the
//! runner starts the image — `INPUT_*` variables with hyphens, the workspace at
//! `/github/workspace`, the file commands under `/github/file_commands/` — and reaching the
//! fake GitHub by host name through the root's own `/etc/hosts`, as Docker provides one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::action::{REPO, TOKEN, parse_outputs, sha256};
use crate::support::fake_github::{ArtifactSeed, FakeGitHub, Host, RunSeed};
use crate::support::zips::ZipBuilder;

const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Builds the binary with `+crt-static` once per test run, in its own target directory (the
/// flag must not leak into the normal build's cache, and a nested cargo must not wait on the
/// lock of the build that is running these tests).
fn static_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target_dir = manifest.join("target/static");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--locked", "--quiet", "--bin", "fetch-artifact"])
            .args(["--target", TARGET])
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .current_dir(manifest)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "static build failed");
        target_dir.join(TARGET).join("debug/fetch-artifact")
    })
}

/// Nothing may be loaded at run time: an ELF without a `PT_INTERP` program header asks for no
/// dynamic loader, hence for no shared library. (Running it in an empty root proves the same.)
fn assert_fully_static(binary: &Path) {
    let bytes = fs::read(binary).unwrap();
    assert_eq!(&bytes[..5], b"\x7fELF\x02", "not a 64-bit ELF");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_ne!(p_type, PT_INTERP, "the binary asks for a dynamic loader");
    }
}

/// The image's file system: the binary, a CA bundle, and what Docker adds at run time.
fn image_root(binary: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for d in [
        "etc/ssl/certs",
        "github/workspace",
        "github/file_commands",
        "github/home",
        "github/workflow",
    ] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::copy(binary, r.join("fetch-artifact")).unwrap();
    fs::copy(
        "/etc/ssl/certs/ca-certificates.crt",
        r.join("etc/ssl/certs/ca-certificates.crt"),
    )
    .unwrap();
    // Docker writes these into every container; the name is not `localhost`, so the lookup
    // really goes through the file.
    fs::write(
        r.join("etc/hosts"),
        "127.0.0.1\tlocalhost\n127.0.0.1\tfake-github.test\n",
    )
    .unwrap();
    fs::write(r.join("etc/resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
    root
}

/// A system tool by absolute path: the child's environment is cleared, `PATH` included.
fn tool(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("`{name}` not found (util-linux / coreutils)"))
}

/// `chroot` as root, as the runner's container is; else inside a user namespace.
fn in_root(root: &Path) -> Command {
    // SAFETY: geteuid has no preconditions.
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        Command::new(tool("chroot"))
    } else {
        let mut c = Command::new(tool("unshare"));
        c.args(["--user", "--map-root-user"]).arg(tool("chroot"));
        c
    };
    cmd.arg(root).arg("/fetch-artifact");
    cmd
}

#[test]
fn the_static_binary_fetches_in_an_empty_root_by_host_name() {
    let binary = static_binary();
    assert_fully_static(binary);

    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let body = ZipBuilder::new()
        .file("dist/app.js", "console.log('hi')")
        .file_mode("dist/run.sh", "#!/bin/sh\n", 0o755)
        .build();
    let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));
    let api = gh.api_url().replace("127.0.0.1", "fake-github.test");
    assert!(api.contains("fake-github.test:"), "{api}");

    let root = image_root(binary);
    let out = in_root(root.path())
        .env_clear()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_API_URL", &api)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_WORKSPACE", "/github/workspace")
        .env("GITHUB_OUTPUT", "/github/file_commands/set_output_1")
        .env(
            "GITHUB_STEP_SUMMARY",
            "/github/file_commands/step_summary_1",
        )
        .env("HOME", "/github/home")
        .env("INPUT_NAME", "dist")
        .env("INPUT_RUN-ID", run.to_string())
        .env("INPUT_PATH", "")
        .env("INPUT_GITHUB-TOKEN", TOKEN)
        .env("INPUT_WORKFLOW-CONCLUSION", "success")
        .env("INPUT_RETRIES", "1")
        .output()
        .expect("start the binary in the empty root");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");

    let ws = root.path().join("github/workspace");
    assert_eq!(
        fs::read_to_string(ws.join("dist/app.js")).unwrap(),
        "console.log('hi')"
    );
    assert!(stdout.contains("digest verified"), "{stdout}");
    let outputs = parse_outputs(
        &fs::read_to_string(root.path().join("github/file_commands/set_output_1")).unwrap(),
    );
    assert_eq!(outputs["artifact-id"], id.to_string());
    assert_eq!(outputs["digest"], sha256(&body));
    // `/github/workspace` exists only in the container; later steps run on the host with the
    // workspace as working directory, so paths inside it are given relative to it.
    assert_eq!(outputs["download-path"], ".");
    assert!(
        outputs["artifacts"].contains(r#""path":".""#),
        "{}",
        outputs["artifacts"]
    );
    assert!(
        fs::read_to_string(root.path().join("github/file_commands/step_summary_1"))
            .unwrap()
            .contains("`dist`")
    );
    // The API was reached by its name, and the blob host without the token.
    let requests = gh.requests();
    let api_hosts: Vec<_> = requests
        .iter()
        .filter(|r| r.host == Host::Api)
        .filter_map(|r| r.header("host"))
        .collect();
    assert!(!api_hosts.is_empty() && api_hosts.iter().all(|h| h.starts_with("fake-github.test:")));
    let blob: Vec<_> = requests.iter().filter(|r| r.host == Host::Blob).collect();
    assert!(!blob.is_empty());
    assert!(blob.iter().all(|r| r.header("authorization").is_none()));
}
