//! Where log lines go: stderr. The per-request access lines (target `taxiid::access`) are
//! gathered in a buffer that is written out when it fills, every 200 ms, before any other line
//! (so the order of lines holds) and when the process is done. Every other line is written at
//! once. An access line then costs a copy under a lock rather than a `write(2)` of its own or
//! a writer thread's wake-up: ~12% of a small request's CPU at 20k requests/s (bench/README.md).

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

const ACCESS_TARGET: &str = "taxiid::access";
/// Buffered access lines are written out once they reach this size...
const FLUSH_AT: usize = 64 * 1024;
/// ...or after this long, whichever comes first.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

type Sink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// The `MakeWriter` of the log; cheap to clone.
#[derive(Clone)]
pub struct StderrLog {
    pending: Arc<Mutex<Vec<u8>>>,
    /// Where lines end up: stderr (a failed write drops them: there is nowhere else to say so).
    sink: Sink,
}

impl StderrLog {
    fn new(sink: Sink) -> Self {
        StderrLog {
            pending: Arc::default(),
            sink,
        }
    }

    /// A log whose buffered lines are written out every [`FLUSH_EVERY`] by a thread of its
    /// own, and when the returned guard is dropped.
    pub fn start() -> (StderrLog, FlushOnDrop) {
        let log = StderrLog::new(Arc::new(|bytes: &[u8]| {
            let _ = io::stderr().lock().write_all(bytes);
        }));
        let background = log.clone();
        // Should the thread not start, access lines still go out with the next other line,
        // a full buffer, or at exit.
        let _ = std::thread::Builder::new()
            .name("taxiid-log".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(FLUSH_EVERY);
                    background.flush_pending();
                }
            });
        (log.clone(), FlushOnDrop(log))
    }

    fn flush_pending(&self) {
        let mut pending = self.pending.lock();
        self.write_out(&mut pending);
    }

    fn write_out(&self, pending: &mut Vec<u8>) {
        if !pending.is_empty() {
            (self.sink)(pending);
            pending.clear();
        }
    }
}

/// Writes out the buffered lines when dropped (at the end of `setup::run`).
pub struct FlushOnDrop(StderrLog);

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        self.0.flush_pending();
    }
}

/// One event's writer: `buffered` for access lines.
pub struct LineWriter<'a> {
    log: &'a StderrLog,
    buffered: bool,
}

impl io::Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pending = self.log.pending.lock();
        pending.extend_from_slice(buf);
        if !self.buffered || pending.len() >= FLUSH_AT {
            self.log.write_out(&mut pending);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for StderrLog {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            log: self,
            buffered: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            log: self,
            buffered: meta.target() == ACCESS_TARGET,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_lines_wait_for_a_flush_and_other_lines_take_them_along_in_order() {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let into = Arc::clone(&written);
        let log = StderrLog::new(Arc::new(move |b: &[u8]| into.lock().extend_from_slice(b)));
        let text = || String::from_utf8(written.lock().clone()).unwrap();
        let line = |buffered: bool, s: &str| {
            let mut w = LineWriter {
                log: &log,
                buffered,
            };
            w.write_all(s.as_bytes()).unwrap();
        };
        line(true, "access 1\n");
        line(true, "access 2\n");
        assert_eq!(text(), "");
        line(false, "warning\n");
        assert_eq!(text(), "access 1\naccess 2\nwarning\n");
        line(true, "access 3\n");
        log.flush_pending();
        assert_eq!(text(), "access 1\naccess 2\nwarning\naccess 3\n");
        // A full buffer is written out without waiting.
        let big = "x".repeat(FLUSH_AT);
        line(true, &big);
        assert!(text().ends_with(&big));
        drop(FlushOnDrop(log.clone()));
    }
}
