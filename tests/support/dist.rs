//! The usual scene for network tests: one run with one artifact `dist` of about 1 MiB that
//! does not compress (so a cut or a throttle really lands mid-body) and a readme that says
//! which test made it.

use std::fs;

use super::action::{Job, Outcome, REPO, sha256, tree};
use super::fake_github::{ArtifactSeed, FakeGitHub, Host, RecordedRequest, RunSeed};
use super::zips::ZipBuilder;

/// Seeded xorshift bytes: incompressible enough, the same every time.
pub fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

const NOISE_LEN: usize = 1 << 20;

pub struct DistRun {
    pub gh: FakeGitHub,
    pub run: u64,
    pub id: u64,
    pub body: Vec<u8>,
    readme: &'static str,
}

impl DistRun {
    pub fn start(readme: &'static str) -> DistRun {
        let gh = FakeGitHub::start();
        let run = gh.add_run(REPO, RunSeed::default());
        let body = ZipBuilder::new()
            .file("noise.bin", noise(NOISE_LEN))
            .file("readme.txt", readme)
            .build();
        let id = gh.add_artifact(REPO, run, ArtifactSeed::new("dist", body.clone()));
        DistRun {
            gh,
            run,
            id,
            body,
            readme,
        }
    }

    /// Fetch `dist` of the run into `out`.
    pub fn job(&self) -> Job {
        self.job_at(&self.gh.api_url())
    }

    /// The same, through another API URL (a TLS front, a host name).
    pub fn job_at(&self, api_url: &str) -> Job {
        Job::new(api_url)
            .input("name", "dist")
            .input("run-id", self.run)
            .input("path", "out")
    }

    /// Succeeded, verified, every byte in place, and no staging left behind.
    #[track_caller]
    pub fn assert_fetched(&self, job: &Job, out: &Outcome) {
        out.assert_success();
        assert_eq!(out.output("digest"), sha256(&self.body));
        let dest = job.workspace().join("out");
        assert_eq!(
            fs::read_to_string(dest.join("readme.txt")).unwrap(),
            self.readme
        );
        assert_eq!(fs::read(dest.join("noise.bin")).unwrap(), noise(NOISE_LEN));
        let leftovers: Vec<_> = tree(job.root.path())
            .into_keys()
            .filter(|k| k.contains("staging"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    pub fn requests_to(&self, host: Host) -> Vec<RecordedRequest> {
        self.gh
            .requests()
            .into_iter()
            .filter(|r| r.host == host)
            .collect()
    }

    /// How many API requests went to a path ending in `suffix`.
    pub fn api_requests_to(&self, suffix: &str) -> usize {
        self.requests_to(Host::Api)
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .count()
    }
}
