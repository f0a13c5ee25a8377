//! Hostile archives, one test per guard. Each is made byte by byte, served by the fake GitHub
//! with a correct digest (the attacker controls the upload, so the digest matches), and each
//! must be refused with an error naming the entry and the reason, leaving nothing behind: not
//! in the destination, not beside it, not outside it.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::action::{Job, Outcome, REPO, tree};
use crate::support::fake_github::{ArtifactSeed, FakeGitHub, RunSeed};
use crate::support::zips::{RawEntry, crc32, raw_zip};

/// Serves `body` as artifact `dist`, runs the action into `ws/out` with extra inputs, and
/// checks that the job directory is exactly as before.
fn fetch_refused(body: Vec<u8>, inputs: &[(&str, &str)], needles: &[&str]) -> Outcome {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body));
    let mut job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run)
        .input("path", "out");
    for (k, v) in inputs {
        job = job.input(k, v);
    }
    fs::write(job.workspace().join("existing.txt"), "mine").unwrap();
    let before = tree(job.root.path());
    let out = job.run();
    for needle in needles {
        out.assert_failure_containing(needle);
    }
    out.assert_failure_containing("refusing the archive");
    assert_eq!(tree(job.root.path()), before, "the job directory changed");
    out
}

#[test]
fn parent_dir_components() {
    fetch_refused(
        raw_zip(&[RawEntry::stored("a/../../escape.txt", b"x")]),
        &[],
        &["a/../../escape.txt", "climbs out"],
    );
}

#[test]
fn absolute_paths() {
    fetch_refused(
        raw_zip(&[RawEntry::stored("/tmp/fetch-artifact-abs.txt", b"x")]),
        &[],
        &["/tmp/fetch-artifact-abs.txt", "absolute path"],
    );
}

#[test]
fn backslashes_that_climb() {
    fetch_refused(
        raw_zip(&[RawEntry::stored("dir\\..\\..\\escape.txt", b"x")]),
        &[],
        &["climbs out"],
    );
}

#[test]
fn windows_drive_letters() {
    fetch_refused(
        raw_zip(&[RawEntry::stored("C:\\Windows\\evil.dll", b"x")]),
        &[],
        &["drive letter"],
    );
}

#[test]
fn nul_bytes_in_names() {
    fetch_refused(
        raw_zip(&[RawEntry::stored("ok.txt\0../../evil", b"x")]),
        &[],
        &["NUL byte"],
    );
}

#[test]
fn symlinks() {
    fetch_refused(
        raw_zip(&[
            RawEntry::stored("a.txt", b"a"),
            RawEntry::symlink("innocent", "../../../../etc/passwd"),
        ]),
        &[],
        &["`innocent`", "symbolic link"],
    );
}

#[test]
fn special_files() {
    fetch_refused(
        raw_zip(&[RawEntry {
            unix_mode: Some(0o010644), // a FIFO
            ..RawEntry::stored("pipe", b"")
        }]),
        &[],
        &["`pipe`", "special file"],
    );
}

#[test]
fn duplicate_entry_names() {
    fetch_refused(
        raw_zip(&[
            RawEntry::stored("a.txt", b"first"),
            RawEntry::stored("a.txt", b"second"),
        ]),
        &[],
        &["same name"],
    );
    // The same path spelled twice.
    fetch_refused(
        raw_zip(&[
            RawEntry::stored("a.txt", b"first"),
            RawEntry::stored("./a.txt", b"second"),
        ]),
        &[],
        &["appears twice"],
    );
}

#[test]
fn a_file_where_a_directory_must_be() {
    fetch_refused(
        raw_zip(&[
            RawEntry::stored("a", b"file"),
            RawEntry::stored("a/b.txt", b"x"),
        ]),
        &[],
        &["`a/b.txt`", "also a file"],
    );
}

#[test]
fn too_many_entries() {
    let entries: Vec<_> = (0..11)
        .map(|i| RawEntry::stored(&format!("f{i}.txt"), b"x"))
        .collect();
    fetch_refused(
        raw_zip(&entries),
        &[("max-entries", "10")],
        &["11 entries", "limit of 10"],
    );
}

#[test]
fn total_size_over_the_limit() {
    let big = vec![b'a'; 600 << 10];
    fetch_refused(
        raw_zip(&[
            RawEntry::deflated("one.txt", &big),
            RawEntry::deflated("two.txt", &big),
        ]),
        &[("max-uncompressed-size", "1M")],
        &["more than the limit of 1048576 bytes"],
    );
}

#[test]
fn absurd_compression_ratio() {
    // Headers claim 3 GiB from a few bytes: far past anything deflate can do.
    let mut e = RawEntry::deflated("bomb.bin", &[0u8; 1024]);
    e.uncompressed_size = 3 << 30;
    fetch_refused(raw_zip(&[e]), &[], &["`bomb.bin`", "zip bomb"]);
}

#[test]
fn real_size_larger_than_the_header() {
    let content = vec![b'z'; 100_000];
    let mut e = RawEntry::deflated("liar.txt", &content);
    e.uncompressed_size = 10;
    fetch_refused(
        raw_zip(&[RawEntry::stored("ok.txt", b"ok"), e]),
        &[],
        &["`liar.txt`"],
    );
}

#[test]
fn real_size_smaller_than_the_header() {
    let mut e = RawEntry::deflated("short.txt", b"only a little");
    e.uncompressed_size = 1000;
    fetch_refused(raw_zip(&[e]), &[], &["`short.txt`"]);
}

#[test]
fn crc_mismatch() {
    let mut e = RawEntry::deflated("rotten.txt", b"hello hello hello");
    e.crc32 = crc32(b"something else");
    fetch_refused(raw_zip(&[e]), &[], &["`rotten.txt`"]);
}

#[test]
fn encrypted_entries() {
    fetch_refused(
        raw_zip(&[RawEntry {
            flags: 1,
            ..RawEntry::stored("secret.txt", b"xxxxxxxxxxxxxxxxxxxx")
        }]),
        &[],
        &["`secret.txt`", "encrypted"],
    );
}

#[test]
fn unsupported_compression_methods() {
    fetch_refused(
        raw_zip(&[RawEntry {
            method: 12, // bzip2
            ..RawEntry::stored("b.txt", b"BZh9...")
        }]),
        &[],
        &["`b.txt`", "compression method"],
    );
}

#[test]
fn overlapping_entries() {
    // Two central-directory entries pointing at the same local header: the "better zip bomb".
    let mut bytes = raw_zip(&[
        RawEntry::stored("a.txt", b"data"),
        RawEntry::stored("b.txt", b"data"),
    ]);
    // Point the second central entry's local-header offset (last 4 bytes before its name) at 0.
    let name_at = bytes.windows(5).rposition(|w| w == b"b.txt").unwrap();
    bytes[name_at - 4..name_at].copy_from_slice(&0u32.to_le_bytes());
    fetch_refused(bytes, &[], &[]);
}

#[test]
fn not_a_zip_at_all() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    gh.add_artifact(
        REPO,
        run,
        ArtifactSeed::new("dist", b"this is not a zip".to_vec()),
    );
    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run);
    job.run()
        .assert_failure_containing("not a readable zip archive");
    assert!(tree(&job.workspace()).is_empty());
}

#[test]
fn setuid_and_setgid_bits_are_dropped() {
    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    // Hand-made: the zip crate's writer masks these bits itself, which would prove nothing.
    let with_mode = |name: &str, mode: u32| RawEntry {
        unix_mode: Some(mode),
        ..RawEntry::stored(name, b"x")
    };
    let body = raw_zip(&[
        with_mode("suid", 0o104755),
        with_mode("sgid", 0o102755),
        with_mode("sticky", 0o101644),
    ]);
    gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body));
    let job = Job::new(&gh.api_url())
        .input("name", "dist")
        .input("run-id", run);
    job.run().assert_success();
    let mode = |n: &str| {
        fs::metadata(job.workspace().join(n))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("suid"), 0o755);
    assert_eq!(mode("sgid"), 0o755);
    assert_eq!(mode("sticky"), 0o644);
}
