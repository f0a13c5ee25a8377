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
}

impl Staging {
    /// Creates a fresh staging directory for `dest` (which may not exist yet).
    pub fn create(dest: &Path) -> io::Result<Staging> {
        let home = nearest_existing_dir(dest)?;
        let mut rand = [0u8; 8];
        getrandom::fill(&mut rand).map_err(|e| io::Error::other(e.to_string()))?;
        let suffix: String = rand.iter().map(|b| format!("{b:02x}")).collect();
        let root = home.join(format!("{PREFIX}{suffix}"));
        fs::create_dir(&root).map_err(|e| annotate(e, "cannot create staging directory", &root))?;
        // Only we need to see half-finished files.
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))?;
        let staging = Staging { root };
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
        let Ok(meta) = fs::symlink_metadata(dest) else {
            return Ok(()); // a missing destination is created whole
        };
        if !meta.is_dir() {
            return Err(conflict(
                dest,
                "the destination exists and is not a directory",
            ));
        }
        for (rel, is_dir) in walk(&self.tree())? {
            check_target(dest, &rel, is_dir)?;
        }
        Ok(())
    }

    /// Moves everything in the staging tree into `dest`: new files appear, files of the same
    /// path are replaced, everything else in `dest` is left alone. All conflicts are found
    /// before anything moves, and if a move still fails (I/O error), the moves already made are
    /// undone, so `dest` ends either fully updated or as it was.
    pub fn commit(&self, dest: &Path) -> io::Result<Vec<PathBuf>> {
        let tree = self.tree();
        let entries = walk(&tree)?;
        let placed: Vec<PathBuf> = entries.iter().map(|(rel, _)| dest.join(rel)).collect();

        if fs::symlink_metadata(dest).is_err() {
            // Fast path: the destination does not exist, so one rename puts it all in place.
            let mut created = Vec::new();
            let result = create_parents(dest, &mut created).and_then(|()| fs::rename(&tree, dest));
            if let Err(e) = result {
                for dir in created.iter().rev() {
                    let _ = fs::remove_dir(dir);
                }
                return Err(annotate(e, "cannot move the artifact into", dest));
            }
            return Ok(placed);
        }

        self.check(dest)?;

        let backups = self.root.join("replaced");
        let mut journal: Vec<Done> = Vec::new();
        for (rel, is_dir) in &entries {
            if let Err(e) = place(&tree, dest, &backups, rel, *is_dir, &mut journal) {
                rollback(journal);
                return Err(e);
            }
        }
        Ok(placed)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Replaced files were moved under the staging root; after a successful commit they are
        // garbage, after a rollback they were already moved back.
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// One step of a commit, remembered so it can be undone.
enum Done {
    CreatedDir(PathBuf),
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
    rel: &Path,
    is_dir: bool,
    journal: &mut Vec<Done>,
) -> io::Result<()> {
    let target = dest.join(rel);
    let from = tree.join(rel);
    if is_dir {
        if fs::symlink_metadata(&target).is_err() {
            fs::create_dir(&target).map_err(|e| annotate(e, "cannot create", &target))?;
            let mode = fs::metadata(&from)?.permissions().mode() & 0o777;
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))?;
            journal.push(Done::CreatedDir(target));
        }
        return Ok(());
    }
    if fs::symlink_metadata(&target).is_ok() {
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
    } else {
        fs::rename(&from, &target).map_err(|e| annotate(e, "cannot move into place", &target))?;
        journal.push(Done::MovedIn { target, from });
    }
    Ok(())
}

fn rollback(journal: Vec<Done>) {
    for step in journal.into_iter().rev() {
        match step {
            Done::CreatedDir(dir) => {
                let _ = fs::remove_dir(dir);
            }
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

/// Refuses to write through a symlink already in the destination (it could point anywhere), or
/// to swap a file for a directory or back: the artifact adds and replaces files, never deletes.
fn check_target(dest: &Path, rel: &Path, is_dir: bool) -> io::Result<()> {
    let mut current = dest.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, c) in parts.iter().enumerate() {
        current.push(c);
        let last = i + 1 == parts.len();
        let Ok(meta) = fs::symlink_metadata(&current) else {
            return Ok(()); // does not exist: everything below is new
        };
        let ft = meta.file_type();
        if !last {
            if ft.is_symlink() {
                return Err(conflict(
                    &current,
                    "is a symbolic link in the destination; refusing to write through it",
                ));
            }
            if !ft.is_dir() {
                return Err(conflict(
                    &current,
                    "is a file in the destination, but the artifact needs a directory there",
                ));
            }
        } else if is_dir && !ft.is_dir() {
            return Err(conflict(
                &current,
                "is a file or link in the destination, but the artifact has a directory there",
            ));
        } else if !is_dir && ft.is_dir() {
            return Err(conflict(
                &current,
                "is a directory in the destination, but the artifact has a file there",
            ));
        }
    }
    Ok(())
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

fn create_parents(dest: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let Some(parent) = dest.parent() else {
        return Ok(());
    };
    let missing: Vec<&Path> = parent
        .ancestors()
        .take_while(|p| fs::symlink_metadata(p).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        fs::create_dir(dir).map_err(|e| annotate(e, "cannot create", dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
        created.push(dir.to_path_buf());
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
        let s = Staging::create(dest).unwrap();
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
        let mut journal = Vec::new();
        let backups = s.root().join("replaced");
        place(
            &s.tree(),
            &dest,
            &backups,
            Path::new("a"),
            false,
            &mut journal,
        )
        .unwrap();
        place(
            &s.tree(),
            &dest,
            &backups,
            Path::new("b"),
            false,
            &mut journal,
        )
        .unwrap();
        rollback(journal);
        drop(s);
        assert_eq!(listing(&dest), vec!["a=old"]);
    }
}
