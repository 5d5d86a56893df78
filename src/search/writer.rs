//! The one task that owns the index writer.
//!
//! Pollers send it batches (mentions plus the source's new checkpoint) and wait for the
//! acknowledgement, which comes only after the commit that holds both. Commits are
//! batched: when `commit_max_docs` mentions wait, or `commit_interval` after the first
//! one arrived, whichever comes first. On shutdown (all senders dropped) it commits what
//! it has and stops. Erasures (`forget`, retention) go through here too, because this
//! thread owns the only writer: pending work is committed first, then the erasure is
//! applied and committed at once, and the sender hears how many mentions went.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::{Checkpoints, Erasure, IndexError, MentionIndex, MentionWriter, SourceCheckpoint};
use crate::mention::Mention;

/// Batches that may wait in the channel before pollers are slowed down.
const CHANNEL_CAPACITY: usize = 256;

/// A batch for the writer: mentions of one source and its checkpoint after them.
pub struct Batch {
    pub source: String,
    pub mentions: Vec<Mention>,
    /// `None` for imports, which have no position to save.
    pub checkpoint: Option<SourceCheckpoint>,
}

/// Why a batch did not make it into the index.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("index commit failed: {0}")]
    Commit(String),
    #[error("the index writer has stopped")]
    Stopped,
}

/// What the writer says once a batch is committed: how many of its mentions it did
/// not store because their permalink or author was erased before.
pub type Written = Result<usize, WriteError>;

enum Job {
    Write {
        batch: Batch,
        ack: oneshot::Sender<Written>,
    },
    Erase {
        erasure: Erasure,
        ack: oneshot::Sender<Result<usize, WriteError>>,
    },
    /// Commit what is pending and stop, though handles remain (a connection the server
    /// could not finish still holds one).
    Stop,
}

/// Cheap, cloneable handle for sending batches to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Job>,
    /// Why the last commit failed, until one succeeds (a full disk, a read-only mount).
    commit_failure: Arc<Mutex<Option<String>>>,
}

impl WriterHandle {
    /// Why the last commit failed, while no commit has succeeded since: nothing fetched
    /// is stored meanwhile, whatever the sources do.
    pub fn commit_failure(&self) -> Option<String> {
        self.commit_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether the writer thread still takes work: one that died (a panic, an error it
    /// could not get past) leaves every poller waiting for commits that never come.
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Sends a batch and waits until it is committed (or failed); answers how many of
    /// its mentions were refused as erased before.
    pub async fn write(&self, batch: Batch) -> Written {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Job::Write { batch, ack })
            .await
            .map_err(|_| WriteError::Stopped)?;
        done.await.map_err(|_| WriteError::Stopped)?
    }

    /// Erases what `erasure` matches and commits; answers how many mentions went.
    pub async fn erase(&self, erasure: Erasure) -> Result<usize, WriteError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Job::Erase { erasure, ack })
            .await
            .map_err(|_| WriteError::Stopped)?;
        done.await.map_err(|_| WriteError::Stopped)?
    }

    /// Asks the writer to commit what it holds and stop; later writes get
    /// [`WriteError::Stopped`].
    pub async fn stop(&self) {
        // Already stopped if the channel is closed: nothing to do.
        let _ = self.tx.send(Job::Stop).await;
    }
}

/// How the writer batches commits.
#[derive(Debug, Clone, Copy)]
pub struct CommitPolicy {
    pub max_docs: usize,
    pub interval: Duration,
}

/// Starts the writer on its own thread (tantivy's writes block). Returns the handle for
/// senders and the thread, which ends after every handle is dropped and the final commit.
pub fn spawn(
    index: &MentionIndex,
    policy: CommitPolicy,
    runtime: tokio::runtime::Handle,
) -> Result<
    (
        WriterHandle,
        std::thread::JoinHandle<Result<(), IndexError>>,
    ),
    IndexError,
> {
    let writer = index.writer()?;
    let committed = index.checkpoints()?;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let index = index.clone();
    let commit_failure = Arc::new(Mutex::new(None));
    let writer_loop = WriterLoop::new(writer, committed, policy, index, commit_failure.clone());
    let thread = std::thread::Builder::new()
        .name("index-writer".into())
        .spawn(move || writer_loop.run(rx, runtime))
        .map_err(|e| IndexError::Payload(format!("cannot start the writer thread: {e}")))?;
    Ok((WriterHandle { tx, commit_failure }, thread))
}

struct WriterLoop {
    /// `None` once a failed rollback left it without its lock: it must not be used
    /// again (tantivy would panic at its next rollback, ending this thread), and its
    /// segments must be let go before a new writer clears the index of what the failed
    /// commit wrote.
    writer: Option<MentionWriter>,
    committed: Checkpoints,
    pending_checkpoints: Checkpoints,
    /// Each waiting sender, with how many of its batch's mentions were refused.
    pending_acks: Vec<(oneshot::Sender<Written>, usize)>,
    pending_docs: usize,
    first_pending: Option<Instant>,
    policy: CommitPolicy,
    /// For counting what an erasure matches.
    index: MentionIndex,
    /// Shared with the handles: why the last commit failed, if it did.
    commit_failure: Arc<Mutex<Option<String>>>,
}

impl WriterLoop {
    fn new(
        writer: MentionWriter,
        committed: Checkpoints,
        policy: CommitPolicy,
        index: MentionIndex,
        commit_failure: Arc<Mutex<Option<String>>>,
    ) -> WriterLoop {
        WriterLoop {
            writer: Some(writer),
            committed,
            pending_checkpoints: Checkpoints::new(),
            pending_acks: Vec::new(),
            pending_docs: 0,
            first_pending: None,
            policy,
            index,
            commit_failure,
        }
    }

    /// The writer, opening a new one where a failed rollback left none.
    fn usable(&mut self) -> Result<&mut MentionWriter, IndexError> {
        if self.writer.is_none() {
            self.writer = Some(self.index.writer()?);
            tracing::info!("index writer opened again");
        }
        Ok(self.writer.as_mut().expect("opened above"))
    }

    /// Drops what was not committed. tantivy's rollback opens a new writer, which reads
    /// the index's list of segments; where that fails too (the list unreadable), the old
    /// writer is left without its lock, and a new one is opened in its place (now, or
    /// before the next write).
    fn roll_back(&mut self) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        match writer.rollback() {
            // What the failed commit wrote goes: its retry would write files of the
            // same names, and fail for them.
            Ok(()) => {
                if let Err(e) = writer.collect_garbage() {
                    tracing::warn!(error = %e, "cannot delete the files of the failed commit");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "index rollback failed; opening the index writer again");
                self.writer = None;
                if let Err(e) = self.usable() {
                    tracing::error!(error = %e, "cannot open the index writer again; trying at the next write");
                }
            }
        }
    }

    fn run(
        mut self,
        mut rx: mpsc::Receiver<Job>,
        runtime: tokio::runtime::Handle,
    ) -> Result<(), IndexError> {
        // Timers need the runtime's context on this thread.
        let _context = runtime.enter();
        loop {
            let wait = self
                .first_pending
                .map(|t| self.policy.interval.saturating_sub(t.elapsed()));
            let job = match wait {
                None => runtime.block_on(rx.recv()),
                Some(wait) => match runtime.block_on(tokio::time::timeout(wait, rx.recv())) {
                    Ok(job) => job,
                    Err(_elapsed) => {
                        self.commit();
                        continue;
                    }
                },
            };
            match job {
                None | Some(Job::Stop) => break,
                Some(Job::Write { batch, ack }) => {
                    self.add(batch, ack);
                    if self.pending_docs >= self.policy.max_docs {
                        self.commit();
                    }
                }
                Some(Job::Erase { erasure, ack }) => {
                    let _ = ack.send(self.erase(&erasure));
                }
            }
        }
        self.commit();
        match self.writer {
            Some(writer) => writer.finish(),
            None => Ok(()),
        }
    }

    fn add(&mut self, batch: Batch, ack: oneshot::Sender<Written>) {
        let mut refused = 0;
        // A writer that fails (a full disk) fails every mention alike: one line a batch.
        let (mut failed, mut first_error) = (0, None);
        // A writer that cannot be opened again: its commit fails too, nothing of the
        // batch is stored, and it is fetched again.
        match self.usable() {
            Ok(writer) => {
                for mention in &batch.mentions {
                    match writer.upsert(mention) {
                        Ok(true) => {}
                        Ok(false) => refused += 1,
                        Err(e) => {
                            failed += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
            }
            Err(e) => {
                failed = batch.mentions.len();
                first_error = Some(e);
            }
        }
        if let Some(e) = first_error {
            tracing::error!(source = %batch.source, mentions = failed, error = %e, "cannot add mentions to the index; rolling back");
            let error =
                WriteError::Commit(format!("cannot add {failed} mentions to the index: {e}"));
            self.note_failure(Some(error.to_string()));
            // Its position must not be committed without them: the source hears now,
            // keeps its old position and fetches the batch again. A writer that fails
            // so has most often lost its indexing threads (a full disk ends them): what
            // it holds cannot be committed, and only a rollback gives it new ones. The
            // batches waiting for the commit hear the same, and are fetched again too.
            let _ = ack.send(Err(error.clone()));
            self.pending_checkpoints.clear();
            self.answer_pending(Err(error));
            self.roll_back();
            return;
        }
        if refused > 0 {
            tracing::info!(source = %batch.source, mentions = refused, "not stored: erased before (permalink or author)");
        }
        self.pending_docs += batch.mentions.len() - refused;
        if let Some(mut checkpoint) = batch.checkpoint {
            // The source counted them as kept; they are not.
            checkpoint.items_kept = checkpoint.items_kept.saturating_sub(refused as u64);
            self.pending_checkpoints.insert(batch.source, checkpoint);
        }
        self.pending_acks.push((ack, refused));
        self.first_pending.get_or_insert_with(Instant::now);
    }

    /// Commits what is pending, then deletes what `erasure` matches and commits again.
    fn erase(&mut self, erasure: &Erasure) -> Result<usize, WriteError> {
        self.commit();
        let failed = |e: IndexError| WriteError::Commit(e.to_string());
        // Counted before the writer is (re)opened: a writer opened again after a failed
        // commit applies the erasures on record (this one's first attempt among them)
        // as it opens, and this request is what erased them.
        let matching = self
            .index
            .preview_erasure(erasure, 0)
            .map_err(failed)?
            .matching;
        let committed = self.committed.clone();
        let writer = self.usable().map_err(failed)?;
        // Remembered even when nothing matches yet; a commit only when something goes.
        writer.erase(erasure).map_err(failed)?;
        if matching == 0 {
            return Ok(0);
        }
        let result = writer.commit(&committed);
        self.note_commit(&result);
        if let Err(e) = result {
            tracing::error!(error = %e, erasure = %erasure.summary(), "erasure commit failed; rolling back");
            self.roll_back();
            return Err(failed(e));
        }
        tracing::info!(erasure = %erasure.summary(), mentions = matching, "erased");
        // Searches, the alerts and the clean-up of copies must not see them any more:
        // a reader that did not reload after the commit is told again, and failing that
        // the erasure is answered as failed (its retry finds them gone, and cleans).
        if let Err(e) = self.index.reload() {
            return Err(WriteError::Commit(format!(
                "erased {matching} mentions, but searches still show them: {e}"
            )));
        }
        // Deleted now; the text leaves the disk with the merge.
        if let Err(e) = self.usable().and_then(MentionWriter::expunge) {
            tracing::error!(error = %e, erasure = %erasure.summary(), "erased, but the old segment files are not yet rewritten; the next merge does it");
        }
        Ok(matching)
    }

    /// Tells the handles (and so `/healthz`) whether the index can be written.
    fn note_commit(&self, result: &Result<(), IndexError>) {
        self.note_failure(result.as_ref().err().map(ToString::to_string));
    }

    fn note_failure(&self, failure: Option<String>) {
        *self
            .commit_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = failure;
    }

    /// Commits pending mentions with the merged checkpoints and answers every waiting
    /// sender. On failure the uncommitted work is rolled back and senders hear why, so
    /// they keep their old positions and fetch again.
    fn commit(&mut self) {
        if self.pending_acks.is_empty() {
            return;
        }
        let mut next = self.committed.clone();
        next.extend(std::mem::take(&mut self.pending_checkpoints));
        let started = Instant::now();
        let result = self.usable().and_then(|writer| writer.commit(&next));
        self.note_commit(&result);
        let outcome = match result {
            Ok(()) => {
                tracing::debug!(
                    mentions = self.pending_docs,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "index commit"
                );
                self.committed = next;
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, mentions = self.pending_docs, "index commit failed; rolling back");
                self.roll_back();
                Err(WriteError::Commit(e.to_string()))
            }
        };
        self.answer_pending(outcome);
    }

    /// Answers every sender waiting for a commit with `outcome`; nothing is pending then.
    fn answer_pending(&mut self, outcome: Result<(), WriteError>) {
        for (ack, refused) in self.pending_acks.drain(..) {
            let _ = ack.send(outcome.clone().map(|()| refused));
        }
        self.pending_docs = 0;
        self.first_pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_knows_when_its_writer_has_stopped() {
        let (tx, rx) = mpsc::channel(1);
        let handle = WriterHandle {
            tx,
            commit_failure: Arc::default(),
        };
        assert!(handle.is_running());
        drop(rx);
        assert!(!handle.is_running());
    }
}
