//! Files replaced whole: the users file, the list of what was erased, the exports and the
//! models. A reader (the daemon, a colleague's browser, the next run) sees the old file or
//! the new one, never a part; and once the write has returned, the new one is on disk and
//! stays there through a power cut. Every such file goes through [`Draft`], so they all
//! keep the same promise.

use std::io::Write;
use std::path::{Path, PathBuf};

/// What the permissions of a replaced file become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permissions {
    /// Only its owner may read or write it, whatever the file it replaces allowed: it
    /// holds password hashes or the pseudonyms of people who asked to be forgotten.
    Private,
    /// Those of the file it replaces (an administrator who closed a report further, or
    /// opened a model to a daemon running as another user, keeps that); a new file gets
    /// this mode as the umask allows.
    KeepOr(u32),
}

/// A file being written beside the one it will replace: hidden (its name begins with the
/// given prefix), in the same directory (a rename within one file system is atomic), and
/// removed if dropped before [`Draft::put_in_place`].
#[derive(Debug)]
pub struct Draft {
    file: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Draft {
    /// Creates the draft of `target`, with the permissions it will have in place.
    pub fn beside(target: &Path, prefix: &str, permissions: Permissions) -> std::io::Result<Draft> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(prefix);
        #[cfg(unix)]
        if let Permissions::KeepOr(mode) = permissions {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(mode));
        }
        let file = builder.tempfile_in(parent_dir(target))?;
        if let (Permissions::KeepOr(_), Ok(replaced)) = (permissions, std::fs::metadata(target)) {
            file.as_file().set_permissions(replaced.permissions())?;
        }
        Ok(Draft {
            file,
            target: target.to_path_buf(),
        })
    }

    /// The open draft, for what its owner sets beyond the bytes (a time, an owner).
    pub fn as_file(&self) -> &std::fs::File {
        self.file.as_file()
    }

    /// Appends `bytes` to the draft.
    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)
    }

    /// Puts the draft in its target's place: its bytes on disk first, then the rename,
    /// then the directory that records the rename (without that, a power cut can bring
    /// the old file back after the caller was told the new one is there).
    pub fn put_in_place(self) -> std::io::Result<()> {
        self.file.as_file().sync_all()?;
        let dir = parent_dir(&self.target).to_path_buf();
        self.file.persist(&self.target).map_err(|e| e.error)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }
}

/// Replaces `target` with `bytes` through a [`Draft`].
pub fn replace(
    target: &Path,
    prefix: &str,
    bytes: &[u8],
    permissions: Permissions,
) -> std::io::Result<()> {
    let mut draft = Draft::beside(target, prefix, permissions)?;
    draft.write_all(bytes)?;
    draft.put_in_place()
}

/// The directory a file is in ("." for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_is_replaced_whole_and_no_draft_stays_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        std::fs::write(&path, "old").unwrap();
        replace(&path, ".users.", b"new", Permissions::Private).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names_in(dir.path()), ["users.toml"]);
    }

    #[test]
    fn a_draft_dropped_before_it_is_put_in_place_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.tsv");
        std::fs::write(&path, "old").unwrap();
        let mut draft = Draft::beside(&path, ".webcare-", Permissions::KeepOr(0o644)).unwrap();
        draft.write_all(b"new").unwrap();
        assert_eq!(
            names_in(dir.path()).len(),
            2,
            "the draft is beside its target"
        );
        assert!(names_in(dir.path())[0].starts_with(".webcare-"));
        drop(draft);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names_in(dir.path()), ["model.tsv"]);
    }

    #[test]
    fn a_directory_in_the_way_is_an_error_and_the_draft_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("erased.json");
        std::fs::create_dir(&path).unwrap();
        assert!(replace(&path, ".erased.", b"{}", Permissions::Private).is_err());
        assert_eq!(names_in(dir.path()), ["erased.json"]);
        assert!(path.is_dir());
    }

    #[test]
    fn a_bare_name_is_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("users.toml")), Path::new("."));
        assert_eq!(
            parent_dir(Path::new("config/users.toml")),
            Path::new("config")
        );
    }

    #[cfg(unix)]
    mod permissions {
        use super::*;
        use std::os::unix::fs::PermissionsExt;

        fn mode(path: &Path) -> u32 {
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        }

        #[test]
        fn a_private_file_is_its_owners_only_whatever_it_replaces() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("users.toml");
            std::fs::write(&path, "old").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            replace(&path, ".users.", b"new", Permissions::Private).unwrap();
            assert_eq!(mode(&path), 0o600);
        }

        #[test]
        fn a_replaced_file_keeps_its_permissions_from_the_start() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("webcare-2026-W47.html");
            std::fs::write(&path, "old").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            let draft = Draft::beside(&path, ".webcare-export-", Permissions::KeepOr(0o644));
            // Before a byte is written: a report closed to others is never open to them.
            assert_eq!(
                draft
                    .unwrap()
                    .as_file()
                    .metadata()
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o640
            );
            replace(
                &path,
                ".webcare-export-",
                b"new",
                Permissions::KeepOr(0o644),
            )
            .unwrap();
            assert_eq!(mode(&path), 0o640);
        }

        #[test]
        fn a_new_file_gets_the_mode_asked_for_within_the_umask() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("model.tsv");
            replace(&path, ".webcare-", b"new", Permissions::KeepOr(0o644)).unwrap();
            // The tests run with a umask of 022 or 002 (or stricter: never wider).
            assert_eq!(mode(&path) & !0o644, 0, "{:o}", mode(&path));
            assert_eq!(mode(&path) & 0o600, 0o600, "{:o}", mode(&path));
        }
    }
}
