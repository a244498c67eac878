//! WAL checkpoints off the write path. SQLite's automatic checkpoint runs inside the commit
//! that crosses its threshold, so one envelope in a few paid for copying every earlier one into
//! the database file (a fifth of the writer's time in an ingest). The writer connection turns
//! it off and nudges this thread after each commit instead; the thread checkpoints on its own
//! connection while the writer goes on.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rusqlite::Connection;

use crate::StoreResult;

/// WAL frames (4 KiB pages: 64 MiB) past which the writer finishes the checkpoint itself
/// between two transactions. The thread's checkpoints run while commits keep coming and stay
/// one commit behind, and SQLite starts the WAL file over only when a write transaction
/// begins with every frame copied; without this the WAL grew by every commit of a long ingest.
const SETTLE_FRAMES: i64 = 16_384;

#[derive(Debug)]
pub(super) struct Checkpointer {
    /// "There is something to checkpoint"; dropping it stops the thread.
    nudge: SyncSender<()>,
    /// Frames in the WAL after the last checkpoint.
    frames: Arc<AtomicI64>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> StoreResult<Checkpointer> {
        let conn = super::connect(path)?;
        let (nudge, nudged) = sync_channel(1);
        let frames = Arc::new(AtomicI64::new(0));
        let seen = Arc::clone(&frames);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &nudged, &seen))
            .map_err(|e| crate::StoreError::Backend(format!("cannot start a thread: {e}")))?;
        Ok(Checkpointer { nudge, frames })
    }

    /// After a write transaction, on the writer connection (outside any transaction).
    pub(super) fn after_commit(&self, writer: &Connection) {
        if self.frames.load(Ordering::Relaxed) > SETTLE_FRAMES {
            // Passive: never waits for readers, so the writer never stalls here; a reader on
            // an old snapshot only postpones the restart of the WAL, as in SQLite's own.
            match passive(writer) {
                Ok(frames) => self.frames.store(frames, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "SQLite WAL checkpoint failed"),
            }
        }
        // Full: a nudge is waiting already. Disconnected: the thread is gone (it logged why).
        let _ = self.nudge.try_send(());
    }
}

fn run(conn: &Connection, nudged: &Receiver<()>, frames: &AtomicI64) {
    while nudged.recv().is_ok() {
        match passive(conn) {
            Ok(n) => frames.store(n, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(error = %e, "SQLite WAL checkpoint failed; the next one retries")
            }
        }
    }
}

/// A passive checkpoint; the frames in the WAL (`PRAGMA wal_checkpoint` answers busy, frames
/// in the WAL, frames copied).
fn passive(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
}
