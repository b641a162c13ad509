//! Guest stdout/stderr the way `spin up` handles them: appended to
//! `<log dir>/<component>_stdout.txt` / `_stderr.txt` (Spin's default log dir
//! is `.spin/logs` beside spin.toml), echoed to the host's stderr unless
//! quiet, with no buffering on the host side — and every write counted,
//! because on Spin each one is a host call that costs.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

use crate::stats::Stats;

/// Where component output goes.
#[derive(Debug, Clone, Default)]
pub struct LogSettings {
    /// Spin's `--log-dir`; `None` writes nowhere but the echo.
    pub dir: Option<PathBuf>,
    /// Echo to the host's stderr (`spin up` does unless `--quiet`).
    pub echo: bool,
}

/// The open log files of a process, one per component and stream.
#[derive(Default)]
pub struct LogFiles {
    files: Mutex<HashMap<String, Arc<File>>>,
}

impl LogFiles {
    fn open(&self, dir: &std::path::Path, name: String) -> Option<Arc<File>> {
        let mut files = self.files.lock().ok()?;
        if let Some(f) = files.get(&name) {
            return Some(f.clone());
        }
        std::fs::create_dir_all(dir).ok()?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(&name))
            .ok()?;
        let file = Arc::new(file);
        files.insert(name, file.clone());
        Some(file)
    }
}

/// One component's stdout or stderr.
#[derive(Clone)]
pub struct ComponentOutput {
    file: Option<Arc<File>>,
    echo: bool,
    stats: Arc<crate::runtime::Services>,
}

impl ComponentOutput {
    pub fn new(
        services: &Arc<crate::runtime::Services>,
        component: &str,
        stream: &str,
    ) -> ComponentOutput {
        let settings = &services.logs;
        let file = settings.dir.as_deref().and_then(|dir| {
            // Spin sanitises ids for file names; ours are already plain.
            services
                .log_files
                .open(dir, format!("{component}_{stream}.txt"))
        });
        ComponentOutput {
            file,
            echo: settings.echo,
            stats: services.clone(),
        }
    }

    fn emit(&self, bytes: &[u8]) -> std::io::Result<()> {
        Stats::bump(&self.stats.stats.stdio_writes);
        self.stats
            .stats
            .stdio_bytes
            .fetch_add(bytes.len() as u64, Relaxed);
        if let Some(file) = &self.file {
            (&**file).write_all(bytes)?;
        }
        if self.echo {
            std::io::stderr().write_all(bytes)?;
        }
        Ok(())
    }
}

impl IsTerminal for ComponentOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ComponentOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for ComponentOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for ComponentOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.emit(&bytes)
            .map_err(|e| StreamError::LastOperationFailed(wasmtime::format_err!(e)))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1024 * 1024)
    }
}

impl AsyncWrite for ComponentOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.emit(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
