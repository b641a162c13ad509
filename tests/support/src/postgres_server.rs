//! A private PostgreSQL cluster (initdb in a temporary directory) for tests
//! that stop and restart the database. Run as root, the server drops to the
//! `postgres` user, since PostgreSQL refuses to run as root.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{free_port, wait_listening, KillOnDrop};

pub struct PostgresServer {
    pub port: u16,
    data: PathBuf,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    child: Option<KillOnDrop>,
    /// Serves TCP over TLS only (a test CA signed its certificate for `localhost`).
    tls: bool,
}

fn output(cmd: &mut Command) -> io::Result<String> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The server binaries' directory (`pg_config --bindir`, as Debian installs them).
fn bin_dir() -> io::Result<PathBuf> {
    Ok(output(Command::new("pg_config").arg("--bindir"))?.into())
}

/// (uid, gid) of `postgres` when we are root.
fn unprivileged_user() -> io::Result<Option<(u32, u32)>> {
    if output(Command::new("id").arg("-u"))? != "0" {
        return Ok(None);
    }
    let uid = output(Command::new("id").args(["-u", "postgres"]))?;
    let gid = output(Command::new("id").args(["-g", "postgres"]))?;
    let parse = |s: String| s.parse::<u32>().map_err(io::Error::other);
    Ok(Some((parse(uid)?, parse(gid)?)))
}

impl PostgresServer {
    /// A new, empty cluster (trust auth, user `postgres`), running.
    pub fn start() -> io::Result<PostgresServer> {
        Self::start_with(false)
    }

    /// A cluster that accepts TCP clients over TLS only, with a CA-signed
    /// certificate for the name `localhost` only (see [`Self::ca_file`]).
    pub fn start_with_tls() -> io::Result<PostgresServer> {
        Self::start_with(true)
    }

    /// The CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.data.join("ca.crt")
    }

    fn start_with(tls: bool) -> io::Result<PostgresServer> {
        let port = free_port()?;
        let data = std::env::temp_dir().join(format!("pg-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&data)?;
        let mut server = PostgresServer {
            port,
            bin: bin_dir()?,
            run_as: unprivileged_user()?,
            data,
            child: None,
            tls,
        };
        if server.run_as.is_some() {
            output(
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&server.data),
            )?;
        }
        output(
            server
                .command("initdb")
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                    "-D",
                ])
                .arg(&server.data),
        )?;
        if tls {
            server.make_certificate()?;
        }
        server.resume()?;
        Ok(server)
    }

    /// A test CA (`ca.crt`) and `server.crt`/`server.key` it signed for the
    /// name `localhost`, in the data directory, and a pg_hba.conf that
    /// refuses TCP without TLS.
    fn make_certificate(&self) -> io::Result<()> {
        let file = |name: &str| self.data.join(name);
        std::fs::write(
            file("server.ext"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )?;
        let mut ca = self.command("openssl");
        ca.args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=platform-test-ca", "-keyout"])
        .arg(file("ca.key"))
        .arg("-out")
        .arg(file("ca.crt"));
        output(&mut ca)?;
        let mut csr = self.command("openssl");
        csr.args(["req", "-newkey", "rsa:2048", "-nodes"])
            .args(["-subj", "/CN=localhost", "-keyout"])
            .arg(file("server.key"))
            .arg("-out")
            .arg(file("server.csr"));
        output(&mut csr)?;
        let mut sign = self.command("openssl");
        sign.args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
            .arg(file("server.csr"))
            .arg("-CA")
            .arg(file("ca.crt"))
            .arg("-CAkey")
            .arg(file("ca.key"))
            .arg("-extfile")
            .arg(file("server.ext"))
            .arg("-out")
            .arg(file("server.crt"));
        output(&mut sign)?;
        // Postgres refuses a key others can read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file("server.key"), std::fs::Permissions::from_mode(0o600))?;
        std::fs::write(
            file("pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
    }

    fn command(&self, program: &str) -> Command {
        let path = if program == "openssl" {
            PathBuf::from("openssl")
        } else {
            self.bin.join(program)
        };
        let mut cmd = Command::new(path);
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Starts (again) on the same port and data.
    pub fn resume(&mut self) -> io::Result<()> {
        let log = std::fs::File::create(self.data.with_extension("log"))?;
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.data)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(if self.tls { &["-c", "ssl=on"][..] } else { &[] })
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.child = Some(KillOnDrop(child));
        wait_listening(self.port, "postgres", Duration::from_secs(30))?;
        // Listening comes before accepting: crash recovery runs in between.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "postgres never accepted connections",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Immediate shutdown (SIGQUIT): every connection is cut at once and the
    /// next start runs crash recovery, as after a crash. (SIGKILL would leave
    /// the backends holding shared memory and the next start would refuse.)
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let _ = child.0.wait();
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data);
        let _ = std::fs::remove_file(self.data.with_extension("log"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn psql(server: &PostgresServer, sql: &str) -> io::Result<String> {
        output(Command::new("psql").args(["-XAtq", &server.url("postgres"), "-c", sql]))
    }

    #[test]
    fn data_survives_an_immediate_shutdown_and_restart_on_the_same_port() {
        let mut server = PostgresServer::start().unwrap();
        psql(
            &server,
            "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)",
        )
        .unwrap();
        server.stop();
        assert!(psql(&server, "SELECT 1").is_err(), "down while stopped");
        server.resume().unwrap();
        assert_eq!(psql(&server, "SELECT x FROM kept").unwrap(), "7");
    }
}
