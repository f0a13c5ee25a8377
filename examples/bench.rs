//! Benchmark: fetch-artifact (release build) against the naive pipeline
//! `curl -L -o a.zip && sha256sum a.zip && unzip -q a.zip`, on loopback, no network.
//!
//!     cargo run --release --example bench            # 3 rounds of every workload
//!     cargo run --release --example bench -- 5 big   # 5 rounds, only `big`
//!     cargo run --release --example bench -- 3 big-download   # download + verify only
//!     BENCH_DIR=/dev/shm cargo run --release --example bench   # destinations on tmpfs
//!     BENCH_WRAP="perf record -e cpu-clock -g -o target/perf.data" cargo run --release --example bench -- 1 big
//!
//! Fixtures are generated deterministically (seeded) into `target/bench-fixtures/` once:
//! - big:   one ≈300 MB zip, 192 files, half random bytes, half text, deflate level 6
//! - many:  one ≈22 MB zip of 10 000 small text files
//! - multi: 20 artifacts of ≈8 MB each in one run
//!
//! Each round runs both contenders, alternating, under `/usr/bin/time` for wall time and peak
//! RSS; the table shows medians and the ratio fetch-artifact / pipeline.

#[path = "../tests/support/binary.rs"]
mod binary;
#[path = "../tests/support/fake_github.rs"]
#[allow(dead_code)]
mod fake_github;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use fake_github::{ArtifactSeed, FakeGitHub, RunSeed};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const REPO: &str = "bench/app";
const TOKEN: &str = "bench-token";

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let only: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let want = |w: &str| only.is_empty() || only.contains(&w);

    if cfg!(debug_assertions) {
        eprintln!("note: run with --release for meaningful figures");
    }
    let binary = binary::build_binary()?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
    std::fs::create_dir_all(&fixtures)?;
    // BENCH_DIR=/dev/shm takes the disk out of the comparison: on a VM whose disk is
    // rate-limited, writing 10 000 files costs whoever spends the I/O budget last.
    let scratch_root =
        std::env::var_os("BENCH_DIR").map_or_else(|| fixtures.clone(), PathBuf::from);
    let scratch = tempfile::Builder::new()
        .prefix("fa-bench")
        .tempdir_in(&scratch_root)?;

    let gh = FakeGitHub::start();
    let run = gh.add_run(REPO, RunSeed::default());
    let mut rows = Vec::new();

    if want("big") || want("big-download") {
        let zip = fixture(&fixtures, "big.zip", |p| {
            make_zip(p, 1, 96, 2 << 20, 96, 2 << 20, true)
        })?;
        let id = serve(&gh, run, "big", &zip)?;
        rows.push(compare(
            "big",
            rounds,
            &binary,
            &gh,
            run,
            &scratch,
            &[("name", "big")],
            &[id],
        )?);
        // Only on request: the download and hash alone (the zip kept, not extracted), to see
        // what overlapping extraction with the download could save at most.
        if only.contains(&"big-download") {
            rows.push(compare(
                "big-download",
                rounds,
                &binary,
                &gh,
                run,
                &scratch,
                &[("name", "big"), ("skip-unpack", "true")],
                &[id],
            )?);
        }
    }
    if want("many") {
        let zip = fixture(&fixtures, "many.zip", |p| {
            make_zip(p, 2, 0, 0, 10_000, 6 << 10, false)
        })?;
        let id = serve(&gh, run, "many", &zip)?;
        rows.push(compare(
            "many",
            rounds,
            &binary,
            &gh,
            run,
            &scratch,
            &[("name", "many")],
            &[id],
        )?);
    }
    if want("multi") {
        let mut ids = Vec::new();
        let multi_run = gh.add_run(REPO, RunSeed::default());
        for i in 0..20 {
            let name = format!("part-{i:02}.zip");
            let zip = fixture(&fixtures, &name, |p| {
                make_zip(p, 100 + i, 4, 1 << 20, 4, 3 << 20, false)
            })?;
            ids.push(serve(&gh, multi_run, &format!("part-{i:02}"), &zip)?);
        }
        let inputs = [("pattern", "part-*")];
        rows.push(compare(
            "multi", rounds, &binary, &gh, multi_run, &scratch, &inputs, &ids,
        )?);
        let sequential = [("pattern", "part-*"), ("parallel-downloads", "1")];
        rows.push(compare(
            "multi-1-at-a-time",
            rounds,
            &binary,
            &gh,
            multi_run,
            &scratch,
            &sequential,
            &ids,
        )?);
    }

    println!();
    println!(
        "machine: {} cores; rounds: {rounds}; medians",
        std::thread::available_parallelism()?
    );
    println!(
        "{:<20} {:>14} {:>12} {:>14} {:>12} {:>8}",
        "workload", "fetch-artifact", "peak RSS", "pipeline", "peak RSS", "ratio"
    );
    for r in rows {
        println!(
            "{:<20} {:>13.2}s {:>9.1} MiB {:>13.2}s {:>9.1} MiB {:>7.2}x",
            r.name,
            r.ours.0,
            r.ours.1,
            r.pipeline.0,
            r.pipeline.1,
            r.ours.0 / r.pipeline.0
        );
    }
    Ok(())
}

struct Row {
    name: String,
    /// (median seconds, median peak RSS MiB)
    ours: (f64, f64),
    pipeline: (f64, f64),
}

#[allow(clippy::too_many_arguments)]
fn compare(
    name: &str,
    rounds: usize,
    binary: &Path,
    gh: &FakeGitHub,
    run: u64,
    scratch: &tempfile::TempDir,
    inputs: &[(&str, &str)],
    ids: &[u64],
) -> Res<Row> {
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    // A profiler to run fetch-artifact under, e.g.
    // BENCH_WRAP="perf record -e cpu-clock -g -o target/perf.data" (its figures then include it).
    let wrap = std::env::var("BENCH_WRAP").unwrap_or_default();
    for round in 0..rounds {
        let dir = scratch.path().join(format!("{name}-{round}"));
        std::fs::create_dir_all(&dir)?;

        let ws = dir.join("ours");
        std::fs::create_dir_all(&ws)?;
        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "%e %M", "-o"])
            .arg(dir.join("ours.time"))
            .args(wrap.split_whitespace())
            .arg(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GITHUB_API_URL", gh.api_url())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_WORKSPACE", &ws)
            .env("GITHUB_OUTPUT", dir.join("outputs"))
            .env("INPUT_GITHUB-TOKEN", TOKEN)
            .env("INPUT_RUN-ID", run.to_string())
            .current_dir(&ws);
        for (k, v) in inputs {
            cmd.env(format!("INPUT_{}", k.to_ascii_uppercase()), v);
        }
        // Start each contender with no dirty pages left by the other: writeback of 10 000
        // files otherwise lands on whoever runs next.
        sync()?;
        let out = cmd.output()?;
        if !out.status.success() {
            return Err(format!(
                "fetch-artifact failed: {}",
                String::from_utf8_lossy(&out.stdout)
            )
            .into());
        }
        ours.push(read_time(&dir.join("ours.time"))?);

        let ws = dir.join("pipeline");
        std::fs::create_dir_all(&ws)?;
        let mut script = String::from("set -e\nmkdir -p out\n");
        for id in ids {
            script.push_str(&format!(
                "curl -sS -f -L -H 'Authorization: Bearer {TOKEN}' -o a.zip '{}/repos/{REPO}/actions/artifacts/{id}/zip'\n\
                 sha256sum a.zip > /dev/null\nunzip -q -o a.zip -d out/{id}\nrm a.zip\n",
                gh.api_url()
            ));
        }
        sync()?;
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%e %M", "-o"])
            .arg(dir.join("pipeline.time"))
            .args(["sh", "-c", &script])
            .current_dir(&ws)
            .output()?;
        if !out.status.success() {
            return Err(
                format!("pipeline failed: {}", String::from_utf8_lossy(&out.stderr)).into(),
            );
        }
        theirs.push(read_time(&dir.join("pipeline.time"))?);
        std::fs::remove_dir_all(&dir)?;
        eprintln!(
            "{name} round {}: ours {:?}, pipeline {:?}",
            round + 1,
            ours.last(),
            theirs.last()
        );
    }
    Ok(Row {
        name: name.to_owned(),
        ours: medians(&ours),
        pipeline: medians(&theirs),
    })
}

fn sync() -> Res<()> {
    Command::new("sync").status()?;
    Ok(())
}

/// `/usr/bin/time -f "%e %M"`: elapsed seconds and peak RSS in KiB (the largest process).
fn read_time(path: &Path) -> Res<(f64, f64)> {
    let text = std::fs::read_to_string(path)?;
    let last = text.lines().last().ok_or("empty time output")?;
    let mut it = last.split_whitespace();
    let secs: f64 = it.next().ok_or("no time")?.parse()?;
    let kib: f64 = it.next().ok_or("no rss")?.parse()?;
    Ok((secs, kib / 1024.0))
}

fn medians(samples: &[(f64, f64)]) -> (f64, f64) {
    let med = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    (
        med(samples.iter().map(|s| s.0).collect()),
        med(samples.iter().map(|s| s.1).collect()),
    )
}

fn serve(gh: &FakeGitHub, run: u64, name: &str, zip: &Path) -> Res<u64> {
    let body = std::fs::read(zip)?;
    Ok(gh.add_artifact(REPO, run, ArtifactSeed::new(name, body)))
}

fn fixture(dir: &Path, name: &str, make: impl FnOnce(&Path) -> Res<()>) -> Res<PathBuf> {
    let path = dir.join(name);
    if !path.exists() {
        let tmp = dir.join(format!("{name}.tmp"));
        let started = Instant::now();
        make(&tmp)?;
        std::fs::rename(&tmp, &path)?;
        eprintln!(
            "generated {} ({:.1} MB) in {:.1}s",
            path.display(),
            std::fs::metadata(&path)?.len() as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(path)
}

/// A zip like upload-artifact makes (deflate level 6): `random` files of random bytes and
/// `text` files of text, sizes fixed, content from a seeded generator.
fn make_zip(
    path: &Path,
    seed: u64,
    random: usize,
    random_size: usize,
    text: usize,
    text_size: usize,
    noisy: bool,
) -> Res<()> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut w = ZipWriter::new(BufWriter::new(File::create(path)?));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .large_file(false);
    let mut buf = Vec::new();
    for i in 0..random {
        buf.clear();
        buf.resize(random_size, 0);
        rng.fill(&mut buf);
        w.start_file(format!("bin/blob-{i:04}.bin"), opts)?;
        w.write_all(&buf)?;
    }
    for i in 0..text {
        buf.clear();
        rng.text(&mut buf, text_size, noisy);
        w.start_file(format!("src/dir-{:03}/file-{i:05}.txt", i % 100), opts)?;
        w.write_all(&buf)?;
    }
    w.finish()?.flush()?;
    Ok(())
}

/// xorshift64*: deterministic and fast; quality is irrelevant here.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// Source-code-like text: words from a small vocabulary, lines of varying length. `noisy`
    /// suffixes every word with a random hex id, which brings deflate's ratio from about 0.23
    /// to about 0.5, like the mixed build output the 294 MB / 385 MB artifact holds.
    fn text(&mut self, out: &mut Vec<u8>, size: usize, noisy: bool) {
        const WORDS: &[&str] = &[
            "fn", "let", "mut", "self", "return", "match", "if", "else", "for", "in", "while",
            "struct", "impl", "pub", "use", "crate", "artifact", "digest", "download", "extract",
            "verify", "stream", "buffer", "error", "result", "value", "index", "count", "name",
            "path", "file", "entry", "=", "{", "}", "(", ")", ";", "->", "&", "0", "1", "42",
        ];
        while out.len() < size {
            let words = 3 + (self.next() % 10) as usize;
            for _ in 0..(self.next() % 4) {
                out.extend_from_slice(b"    ");
            }
            for _ in 0..words {
                out.extend_from_slice(
                    WORDS[(self.next() % WORDS.len() as u64) as usize].as_bytes(),
                );
                if noisy {
                    out.extend_from_slice(format!("_{:x}", self.next()).as_bytes());
                }
                out.push(b' ');
            }
            out.push(b'\n');
        }
        out.truncate(size);
    }
}
