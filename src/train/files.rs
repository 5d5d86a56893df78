//! Where `webcare train` writes its models: each place checked before minutes of
//! training, and the models written all or none as far as the file system allows.

use std::path::{Path, PathBuf};

use crate::files::{parent_dir, Draft, Permissions};

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{}: is not a regular file; a model is written to a file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: this is a labeled file to train on ({}); write the model elsewhere", path.display(), input.display())]
    LabeledInput { path: PathBuf, input: PathBuf },
    #[error("{}: holds labeled items; write the model elsewhere", path.display())]
    LabeledData { path: PathBuf },
    #[error("{}: two models would be written to this one file", path.display())]
    SameFile { path: PathBuf },
    #[error("{}: cannot write there: {source}", path.display())]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot keep the model it replaces as {}; nothing was replaced: {source}", path.display(), previous.display())]
    KeepPrevious {
        path: PathBuf,
        previous: PathBuf,
        source: std::io::Error,
    },
}

/// A model written: where, and where the one it replaced is kept, if there was one.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub previous: Option<PathBuf>,
}

/// Checks where each model goes: a regular file or none yet (a link is followed, so that
/// the file it names is replaced and the link stays), not one of the labeled `inputs`
/// nor another file of labeled items, not another model's, and (where `writing`) in a
/// directory this process can write to. Each target is replaced by its real path.
pub fn check_targets(
    targets: &mut [PathBuf],
    inputs: &[PathBuf],
    writing: bool,
) -> Result<(), ModelFileError> {
    for i in 0..targets.len() {
        if let Ok(real) = std::fs::canonicalize(&targets[i]) {
            targets[i] = real;
        }
        let target = &targets[i];
        if target.exists() && !target.is_file() {
            return Err(ModelFileError::NotAFile {
                path: target.clone(),
            });
        }
        if let Some(input) = inputs.iter().find(|f| same_file(f, target)) {
            return Err(ModelFileError::LabeledInput {
                path: target.clone(),
                input: input.clone(),
            });
        }
        if holds_labeled_items(target) {
            return Err(ModelFileError::LabeledData {
                path: target.clone(),
            });
        }
        if targets[..i]
            .iter()
            .any(|t| spelled_out(t) == spelled_out(target))
        {
            return Err(ModelFileError::SameFile {
                path: target.clone(),
            });
        }
        // A file made and removed at once: an interrupted training leaves none behind.
        if writing {
            draft_beside(target)?;
        }
    }
    Ok(())
}

/// Whether `path` is a file whose first line is a labeled item (which has no
/// `complaint_score`, as every line of `webcare eval`'s predictions has): labeled data,
/// not to be written over by a model or by predictions.
pub fn holds_labeled_items(path: &Path) -> bool {
    use std::io::BufRead;
    if !path.is_file() {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    if std::io::BufReader::new(file).read_line(&mut first).is_err() {
        return false;
    }
    serde_json::from_str::<serde_json::Value>(&first).is_ok_and(|v| {
        v.get("complaint_score").is_none() && crate::eval::Labeled::parse(first.trim()).is_ok()
    })
}

/// Writes each text to its target, all or none as far as the file system allows: each
/// is written whole beside its place (readable as the one it replaces, or as the umask
/// allows: a daemon running as another user reads them), every replaced one is kept as
/// [`previous_model`], and only then do the new ones take their places. One text for
/// each target, which the types hold to.
pub fn write_all_or_none<const N: usize>(
    targets: &[PathBuf; N],
    texts: &[String; N],
) -> Result<Vec<Written>, ModelFileError> {
    let mut drafts = Vec::new();
    for (target, text) in targets.iter().zip(texts) {
        // The mode of the model it replaces, whatever the umask (a daemon running as
        // another user reads what it read before); a new one as the umask allows.
        let mut draft = draft_beside(target)?;
        draft
            .write_all(text.as_bytes())
            .map_err(|source| ModelFileError::Write {
                path: target.clone(),
                source,
            })?;
        drafts.push(draft);
    }
    let mut previous = Vec::new();
    for target in targets {
        let kept = target.exists().then(|| previous_model(target));
        if let Some(kept) = &kept {
            std::fs::copy(target, kept).map_err(|source| ModelFileError::KeepPrevious {
                path: target.clone(),
                previous: kept.clone(),
                source,
            })?;
        }
        previous.push(kept);
    }
    let mut written = Vec::new();
    for ((target, draft), previous) in targets.iter().zip(drafts).zip(previous) {
        draft
            .put_in_place()
            .map_err(|source| ModelFileError::Write {
                path: target.clone(),
                source,
            })?;
        written.push(Written {
            path: target.clone(),
            previous,
        });
    }
    Ok(written)
}

/// Where the model a training replaces is kept: `model.tsv.previous`.
pub fn previous_model(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(".previous");
    PathBuf::from(name)
}

/// Whether `a` and `b` name one existing file (the same path, a symbolic link to it, or
/// another spelling of it).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A hidden draft of `target` in its directory ([`crate::files`]).
fn draft_beside(target: &Path) -> Result<Draft, ModelFileError> {
    Draft::beside(target, ".webcare-", Permissions::KeepOr(0o644)).map_err(|source| {
        ModelFileError::NotWritable {
            path: target.to_path_buf(),
            source,
        }
    })
}

/// `path` with its directory spelled out in full (it need not exist yet itself).
fn spelled_out(path: &Path) -> PathBuf {
    match (std::fs::canonicalize(parent_dir(path)), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(a: &str, b: &str) -> [String; 2] {
        [a.to_string(), b.to_string()]
    }

    #[test]
    fn a_replaced_model_is_kept_as_previous_and_a_new_one_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("model.tsv");
        let new = dir.path().join("aspects.tsv");
        std::fs::write(&old, "old model").unwrap();
        let targets = [old.clone(), new.clone()];
        let written = write_all_or_none(&targets, &texts("first", "second")).unwrap();
        assert_eq!(
            written,
            vec![
                Written {
                    path: old.clone(),
                    previous: Some(dir.path().join("model.tsv.previous")),
                },
                Written {
                    path: new.clone(),
                    previous: None,
                },
            ]
        );
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "first");
        assert_eq!(std::fs::read_to_string(&new).unwrap(), "second");
        assert_eq!(
            std::fs::read_to_string(previous_model(&old)).unwrap(),
            "old model"
        );
        // No draft is left beside them.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".webcare-")),
            "{names:?}"
        );
    }

    #[test]
    fn nothing_is_replaced_when_one_target_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("model.tsv");
        std::fs::write(&old, "old model").unwrap();
        let nowhere = dir.path().join("missing-dir").join("aspects.tsv");
        let error =
            write_all_or_none(&[old.clone(), nowhere], &texts("first", "second")).unwrap_err();
        assert!(
            matches!(error, ModelFileError::NotWritable { .. }),
            "{error}"
        );
        assert!(error
            .to_string()
            .contains("aspects.tsv: cannot write there"));
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "old model");
        assert!(!previous_model(&old).exists());
    }

    #[test]
    fn targets_that_are_inputs_directories_or_one_file_twice_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let labeled = dir.path().join("labeled.jsonl");
        std::fs::write(&labeled, "{}").unwrap();
        let model = dir.path().join("model.tsv");

        let mut targets = [model.clone(), labeled.clone()];
        let error = check_targets(&mut targets, std::slice::from_ref(&labeled), true).unwrap_err();
        assert!(
            matches!(error, ModelFileError::LabeledInput { .. }),
            "{error}"
        );

        let mut targets = [dir.path().to_path_buf()];
        let error = check_targets(&mut targets, &[], true).unwrap_err();
        assert!(matches!(error, ModelFileError::NotAFile { .. }), "{error}");

        // The same file spelled two ways, before it exists.
        let mut targets = [model.clone(), dir.path().join(".").join("model.tsv")];
        let error = check_targets(&mut targets, &[], true).unwrap_err();
        assert!(matches!(error, ModelFileError::SameFile { .. }), "{error}");

        let mut targets = [model.clone(), dir.path().join("aspects.tsv")];
        check_targets(&mut targets, &[], true).unwrap();
        assert!(!model.exists(), "checking makes no file");

        // Labeled items that are not among the inputs, in a dry run too: the run that
        // follows writes there.
        let other = dir.path().join("dev.jsonl");
        std::fs::write(
            &other,
            r#"{"id":"a","lang":"nl","text":"t","relevant":false,"complaint":false,"aspects":[],"pii":[],"dup_group":null}"#,
        )
        .unwrap();
        for writing in [true, false] {
            let mut targets = [model.clone(), other.clone()];
            let error = check_targets(&mut targets, &[], writing).unwrap_err();
            assert!(
                matches!(error, ModelFileError::LabeledData { .. }),
                "{error}"
            );
        }
    }
}
