//! Every log line of every app in this test binary, kept in memory (bounded) so a test can
//! check that secrets never reach a log. Installed as the global subscriber before the first
//! app starts; `TEST_LOG` still decides what is printed.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const MAX_BYTES: usize = 32 * 1024 * 1024;

fn buffer() -> &'static Mutex<Vec<u8>> {
    static BUFFER: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    BUFFER.get_or_init(|| Mutex::new(Vec::new()))
}

#[derive(Clone, Copy)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut buffer = buffer().lock().unwrap_or_else(|e| e.into_inner());
        if buffer.len() + data.len() > MAX_BYTES {
            let len = buffer.len();
            buffer.drain(..(len / 2).max(data.len()).min(len));
        }
        buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        Capture
    }
}

/// Installs the capturing subscriber once (info and above are captured, whatever is printed).
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let printed = std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into());
        let _ = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_test_writer().with_filter(EnvFilter::new(printed)))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(Capture)
                    .with_filter(EnvFilter::new("info")),
            )
            .try_init();
    });
}

/// Everything captured so far.
pub fn captured() -> String {
    String::from_utf8_lossy(&buffer().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}
