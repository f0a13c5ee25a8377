//! Feeds arbitrary bytes to the extraction step as if they were a verified artifact zip.
//! Whatever the input: no panic, and nothing is ever written outside the staging tree.
#![no_main]

use std::path::Path;

use fetch_artifact::extract::{Limits, extract};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = tempfile::tempdir().expect("tempdir");
    let zip = root.path().join("artifact.zip");
    let tree = root.path().join("tree");
    std::fs::write(&zip, data).expect("write input");
    std::fs::create_dir(&tree).expect("mkdir");
    let limits = Limits {
        max_entries: 1000,
        max_total_bytes: 16 << 20,
        ..Limits::default()
    };
    let _ = extract(&zip, &tree, &limits);
    // Only the input and the tree may exist in the root.
    for entry in std::fs::read_dir(root.path()).expect("read root") {
        let name = entry.expect("entry").file_name();
        assert!(name == "artifact.zip" || name == "tree", "wrote {name:?} outside the tree");
    }
    assert_no_symlinks(&tree);
});

fn assert_no_symlinks(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let ft = entry.file_type().expect("file type");
        assert!(!ft.is_symlink(), "extraction created a symlink: {:?}", entry.path());
        if ft.is_dir() {
            assert_no_symlinks(&entry.path());
        }
    }
}
