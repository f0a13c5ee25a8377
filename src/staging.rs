//! The staging area: where a download lands and unpacks before anything reaches the destination,
//! and the move into place once it is verified.
//!
//! The runner mounts its temp dir and the workspace separately, so a `rename()` from one to the
//! other fails with `EXDEV`. Staging therefore lives on the destination's own filesystem: inside
//! the destination when it exists (it may itself be the workspace mount point, whose parent is
//! another filesystem), else beside where it will be created. Dropping a `Staging` removes it,
//! so every early return, error or panic cleans up.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const PREFIX: &str = ".fetch-artifact-staging-";

pub struct Staging {
    root: PathBuf,
    owner: Option<Owner>,
}

impl Staging {
    /// Creates a fresh staging directory for `dest` (which may not exist yet); what it
    /// places will belong to `owner` (when given).
    pub fn create(dest: &Path, owner: Option<Owner>) -> io::Result<Staging> {
        let home = nearest_existing_dir(dest)?;
        let suffix = crate::random::hex(8)?;
        let root = home.join(format!("{PREFIX}{suffix}"));
        fs::create_dir(&root).map_err(|e| annotate(e, "cannot create staging directory", &root))?;
        // Only we need to see half-finished files.
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))?;
        let staging = Staging { root, owner };
        // The tree may become the destination itself by one rename: give it a directory's
        // mode now, whatever the umask.
        fs::create_dir(staging.tree())?;
        fs::set_permissions(staging.tree(), fs::Permissions::from_mode(0o755))?;
        Ok(staging)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the download streams to.
    pub fn download_file(&self) -> PathBuf {
        self.root.join("download.partial")
    }

    /// The tree that will be moved into the destination.
    pub fn tree(&self) -> PathBuf {
        self.root.join("tree")
    }

    /// Finds every conflict `commit` would meet, without changing anything, so several
    /// artifacts can all be checked before the first one moves.
    pub fn check(&self, dest: &Path) -> io::Result<()> {
        plan(&self.tree(), dest).map(drop)
    }

    /// The regular files in the staging tree, relative to it (for "which artifact's file
    /// replaces which" with `merge-multiple`).
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        Ok(walk(&self.tree())?
            .into_iter()
            .filter(|(_, is_dir)| !is_dir)
            .map(|(rel, _)| rel)
            .collect())
    }

    /// Moves everything in the staging tree into `dest`: new files appear, files of the same
    /// path are replaced, everything else in `dest` is left alone. All conflicts are found
    /// before anything moves, and if a move still fails (I/O error), the moves already made are
    /// undone, so `dest` ends either fully updated or as it was.
    pub fn commit(&self, dest: &Path) -> io::Result<()> {
        let tree = self.tree();
        if let Some(owner) = self.owner {
            owner.give(&tree)?;
            for (rel, _) in walk(&tree)? {
                owner.give(&tree.join(rel))?;
            }
        }

        if fs::symlink_metadata(dest).is_err() {
            // Fast path: the destination does not exist, so one rename puts it all in place.
            let mut created = Vec::new();
            let result = create_parents(dest, self.owner, &mut created)
                .and_then(|()| fs::rename(&tree, dest));
            if let Err(e) = result {
                for dir in created.iter().rev() {
                    let _ = fs::remove_dir(dir);
                }
                return Err(annotate(e, "cannot move the artifact into", dest));
            }
            return Ok(());
        }

        let steps = plan(&tree, dest)?;
        let backups = self.root.join("replaced");
        let mut journal: Vec<Done> = Vec::new();
        for step in &steps {
            if let Err(e) = place(&tree, dest, &backups, step, &mut journal) {
                rollback(journal);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Who should own what lands: the workspace's owner, when we run as root (the runner starts
/// container actions as root, and root-owned files in a self-hosted runner's workspace cannot
/// be deleted by the steps that follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    /// The owner of `workspace`, if we are root and it is someone else's; `None` otherwise
    /// (a normal user's files are already theirs).
    pub fn for_workspace(workspace: &Path) -> Option<Owner> {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        let meta = fs::metadata(workspace).ok()?;
        let owner = Owner {
            uid: meta.uid(),
            gid: meta.gid(),
        };
        (owner != Owner { uid: 0, gid: 0 }).then_some(owner)
    }

    fn give(&self, path: &Path) -> io::Result<()> {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| annotate(e, "cannot change the owner of", path))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Replaced files were moved under the staging root; after a successful commit they are
        // garbage, after a rollback they were already moved back.
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// One move of a commit, found (and checked) before any is made.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Nothing is at the target: the entry (a whole subtree, for a directory) moves by one
    /// rename, which is what keeps a 10 000-file artifact from costing 10 000 renames.
    Move(PathBuf),
    /// A file of the same path is replaced (and kept aside until the commit is over).
    Replace(PathBuf),
}

/// The moves that merge `tree` into the existing directory `dest`, or the first conflict:
/// never write through a symlink in the destination (it could point anywhere), never swap a
/// file for a directory or back (the artifact adds and replaces files, it never deletes).
fn plan(tree: &Path, dest: &Path) -> io::Result<Vec<Step>> {
    let Ok(meta) = fs::symlink_metadata(dest) else {
        return Ok(Vec::new()); // a missing destination is created whole
    };
    if !meta.is_dir() {
        return Err(conflict(
            dest,
            "the destination exists and is not a directory",
        ));
    }
    let mut steps = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut children: Vec<_> = fs::read_dir(tree.join(&rel))?.collect::<Result<_, _>>()?;
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let child_rel = rel.join(child.file_name());
            let is_dir = child.file_type()?.is_dir();
            let target = dest.join(&child_rel);
            let existing = match fs::symlink_metadata(&target) {
                Ok(m) => m.file_type(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    steps.push(Step::Move(child_rel));
                    continue;
                }
                Err(e) => return Err(annotate(e, "cannot inspect", &target)),
            };
            match (is_dir, existing.is_dir(), existing.is_symlink()) {
                (true, _, true) => {
                    return Err(conflict(
                        &target,
                        "is a symbolic link in the destination; refusing to write through it",
                    ));
                }
                (true, true, _) => stack.push(child_rel),
                (true, false, _) => {
                    return Err(conflict(
                        &target,
                        "is a file in the destination, but the artifact has a directory there",
                    ));
                }
                (false, true, _) => {
                    return Err(conflict(
                        &target,
                        "is a directory in the destination, but the artifact has a file there",
                    ));
                }
                // A file replaces a file or a link itself (rename never follows a link).
                (false, false, _) => steps.push(Step::Replace(child_rel)),
            }
        }
    }
    Ok(steps)
}

/// One step of a commit, remembered so it can be undone.
enum Done {
    MovedIn {
        target: PathBuf,
        from: PathBuf,
    },
    Replaced {
        target: PathBuf,
        backup: PathBuf,
        from: PathBuf,
    },
}

fn place(
    tree: &Path,
    dest: &Path,
    backups: &Path,
    step: &Step,
    journal: &mut Vec<Done>,
) -> io::Result<()> {
    match step {
        Step::Move(rel) => {
            let (from, target) = (tree.join(rel), dest.join(rel));
            fs::rename(&from, &target)
                .map_err(|e| annotate(e, "cannot move into place", &target))?;
            journal.push(Done::MovedIn { target, from });
        }
        Step::Replace(rel) => {
            let (from, target) = (tree.join(rel), dest.join(rel));
            let backup = backups.join(rel);
            if let Some(parent) = backup.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::rename(&target, &backup).map_err(|e| annotate(e, "cannot replace", &target))?;
            if let Err(e) = fs::rename(&from, &target) {
                let _ = fs::rename(&backup, &target);
                return Err(annotate(e, "cannot move into place", &target));
            }
            journal.push(Done::Replaced {
                target,
                backup,
                from,
            });
        }
    }
    Ok(())
}

fn rollback(journal: Vec<Done>) {
    for step in journal.into_iter().rev() {
        match step {
            Done::MovedIn { target, from } => {
                let _ = fs::rename(&target, &from);
            }
            Done::Replaced {
                target,
                backup,
                from,
            } => {
                let _ = fs::rename(&target, &from);
                let _ = fs::rename(&backup, &target);
            }
        }
    }
}

fn conflict(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{} {why}; nothing was changed", path.display()),
    )
}

/// Every path under `root`, parents before children, with whether it is a directory.
fn walk(root: &Path) -> io::Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut children: Vec<_> = fs::read_dir(root.join(&rel))?.collect::<Result<_, _>>()?;
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let child_rel = rel.join(child.file_name());
            let is_dir = child.file_type()?.is_dir();
            out.push((child_rel.clone(), is_dir));
            if is_dir {
                stack.push(child_rel);
            }
        }
    }
    Ok(out)
}

fn nearest_existing_dir(dest: &Path) -> io::Result<PathBuf> {
    for candidate in dest.ancestors() {
        match fs::symlink_metadata(candidate) {
            Ok(m) if m.is_dir() => return Ok(candidate.to_path_buf()),
            // A symlinked destination directory (common: `path: ~/cache`) is fine to stage in.
            Ok(m) if m.file_type().is_symlink() && candidate.is_dir() => {
                return Ok(candidate.to_path_buf());
            }
            Ok(_) => {
                return Err(conflict(candidate, "exists and is not a directory"));
            }
            Err(_) => continue,
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("no existing directory above {}", dest.display()),
    ))
}

fn create_parents(dest: &Path, owner: Option<Owner>, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let Some(parent) = dest.parent() else {
        return Ok(());
    };
    let missing: Vec<&Path> = parent
        .ancestors()
        .take_while(|p| fs::symlink_metadata(p).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        fs::create_dir(dir).map_err(|e| annotate(e, "cannot create", dir))?;
        created.push(dir.to_path_buf());
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
        if let Some(o) = owner {
            o.give(dir)?;
        }
    }
    Ok(())
}

fn annotate(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn listing(root: &Path) -> Vec<String> {
        let mut v: Vec<String> = walk(root)
            .unwrap()
            .into_iter()
            .map(|(p, d)| {
                let content = if d {
                    "/".to_string()
                } else {
                    fs::read_to_string(root.join(&p)).unwrap_or_default()
                };
                format!("{}={content}", p.display())
            })
            .collect();
        v.sort();
        v
    }

    fn stage(dest: &Path, files: &[(&str, &str)]) -> Staging {
        let s = Staging::create(dest, None).unwrap();
        for (rel, content) in files {
            let p = s.tree().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        s
    }

    #[test]
    fn commit_into_missing_destination_renames_whole_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("a/b/out");
        let s = stage(&dest, &[("x/y.txt", "1")]);
        assert!(s.root().starts_with(tmp.path()));
        s.commit(&dest).unwrap();
        drop(s);
        assert_eq!(listing(&dest), vec!["x/y.txt=1", "x=/"]);
        // Only the destination appeared beside the staging root.
        assert_eq!(listing(tmp.path()).len(), 5);
    }

    #[test]
    fn commit_merges_and_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path();
        fs::write(dest.join("keep.txt"), "k").unwrap();
        fs::write(dest.join("same.txt"), "old").unwrap();
        let s = stage(dest, &[("same.txt", "new"), ("sub/n.txt", "n")]);
        s.commit(dest).unwrap();
        drop(s);
        assert_eq!(
            listing(dest),
            vec!["keep.txt=k", "same.txt=new", "sub/n.txt=n", "sub=/"]
        );
    }

    #[test]
    fn conflicts_change_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("d");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("a.txt"), "old").unwrap();
        fs::write(dest.join("sub"), "file where a dir goes").unwrap();
        let before = listing(&dest);
        let s = stage(&dest, &[("a.txt", "new"), ("sub/x", "x")]);
        let err = s.commit(&dest).unwrap_err();
        assert!(err.to_string().contains("sub"), "{err}");
        drop(s);
        assert_eq!(listing(&dest), before);
    }

    #[test]
    fn refuses_to_write_through_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let dest = tmp.path().join("d");
        fs::create_dir(&dest).unwrap();
        symlink(&outside, dest.join("link")).unwrap();
        let s = stage(&dest, &[("link/pwned", "x")]);
        assert!(s.commit(&dest).is_err());
        drop(s);
        assert!(fs::read_dir(&outside).unwrap().next().is_none());
    }

    #[test]
    fn rollback_restores_replaced_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("d");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("a"), "old").unwrap();
        let s = stage(&dest, &[("a", "new"), ("b", "b")]);
        let steps = plan(&s.tree(), &dest).unwrap();
        assert_eq!(
            steps,
            vec![Step::Replace("a".into()), Step::Move("b".into())]
        );
        let mut journal = Vec::new();
        let backups = s.root().join("replaced");
        for step in &steps {
            place(&s.tree(), &dest, &backups, step, &mut journal).unwrap();
        }
        rollback(journal);
        drop(s);
        assert_eq!(listing(&dest), vec!["a=old"]);
    }

    #[test]
    fn new_subtrees_move_whole_and_existing_ones_are_descended() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("d");
        fs::create_dir_all(dest.join("old/deep")).unwrap();
        let s = stage(
            &dest,
            &[
                ("new/x/1", "1"),
                ("new/2", "2"),
                ("old/deep/3", "3"),
                ("old/4", "4"),
            ],
        );
        let mut steps = plan(&s.tree(), &dest).unwrap();
        steps.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        assert_eq!(
            steps,
            vec![
                Step::Move("new".into()),
                Step::Move("old/4".into()),
                Step::Move("old/deep/3".into()),
            ]
        );
        s.commit(&dest).unwrap();
        drop(s);
        assert_eq!(
            listing(&dest),
            vec![
                "new/2=2",
                "new/x/1=1",
                "new/x=/",
                "new=/",
                "old/4=4",
                "old/deep/3=3",
                "old/deep=/",
                "old=/"
            ]
        );
    }
}
