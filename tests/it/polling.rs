//! One poll at a time, driven directly: conditional GET and position handling.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use webcare::pipeline::Pipeline;
use webcare::poll::{Poller, StatusBoard};
use webcare::search::writer::{self, CommitPolicy};
use webcare::search::{MentionIndex, SourceCheckpoint};

use crate::fixtures;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_poll_is_conditional_and_changes_nothing() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[("etag", "/etag.xml")]);
    let index = MentionIndex::open(&config.storage.data_dir).unwrap();
    let policy = CommitPolicy {
        max_docs: 100,
        interval: std::time::Duration::from_millis(50),
    };
    let (handle, thread) =
        writer::spawn(&index, policy, tokio::runtime::Handle::current()).unwrap();
    let pipeline = Arc::new(Pipeline::from_config(&config.pipeline).unwrap());
    let poller = Poller::new(&config.poll, pipeline, handle, StatusBoard::default()).unwrap();
    let source = webcare::sources::build(&config.sources[0]).unwrap();

    let mut checkpoint = SourceCheckpoint::default();
    let first = poller
        .poll_once(source.as_ref(), &mut checkpoint)
        .await
        .unwrap();
    assert_eq!(
        (
            first.items_seen,
            first.kept,
            first.dropped,
            first.not_modified
        ),
        (5, 3, 2, false)
    );
    assert_eq!(checkpoint.position["etag"], "\"v1\"");
    assert_eq!(index.checkpoints().unwrap()["etag"], checkpoint);
    assert_eq!(index.num_mentions(), 3);

    let second = poller
        .poll_once(source.as_ref(), &mut checkpoint)
        .await
        .unwrap();
    assert!(second.not_modified);
    assert_eq!((second.items_seen, second.kept), (0, 0));
    assert_eq!(server.log.etag_not_modified.load(SeqCst), 1);
    assert_eq!(index.num_mentions(), 3);

    drop(poller);
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
