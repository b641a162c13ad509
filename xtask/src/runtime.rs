//! Where the components run, for `up` and `bench` alike: real Spin or the
//! project's wasmtime host (`tests/host`, the `platform-host` binary).

use std::path::PathBuf;

use anyhow::Context;

use crate::env;

/// `--runtime spin|host`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    /// Real Spin: a `spin` binary on PATH.
    Spin,
    /// The project's wasmtime host, which also counts each request's host calls.
    Host,
}

impl Runtime {
    /// `up` without `--runtime`: Spin when it is on PATH (the platform as
    /// deployed), else the host. (`bench` defaults to the host: its counts.)
    pub fn or_detected(choice: Option<Runtime>, spin_on_path: bool) -> Runtime {
        choice.unwrap_or(if spin_on_path {
            Runtime::Spin
        } else {
            Runtime::Host
        })
    }
}

/// The `spin` binary on PATH, refused in the versions that hang.
pub fn spin_binary() -> anyhow::Result<PathBuf> {
    let spin = env::spin_binary().context("`--runtime spin` needs a `spin` binary on PATH")?;
    env::check_spin_version(&spin)?;
    Ok(spin)
}

#[cfg(test)]
mod tests {
    use clap::{Parser, ValueEnum};

    use super::Runtime;
    use crate::{Cli, Task};

    #[test]
    fn parses_spin_and_host_only() {
        assert_eq!(Runtime::from_str("spin", false), Ok(Runtime::Spin));
        assert_eq!(Runtime::from_str("host", false), Ok(Runtime::Host));
        for bad in ["", "Spin", "wasmtime", "project-host"] {
            assert!(Runtime::from_str(bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn up_prefers_spin_on_path_unless_told() {
        assert_eq!(Runtime::or_detected(None, true), Runtime::Spin);
        assert_eq!(Runtime::or_detected(None, false), Runtime::Host);
        let host = Some(Runtime::Host);
        assert_eq!(Runtime::or_detected(host, true), Runtime::Host);
        let spin = Some(Runtime::Spin);
        assert_eq!(Runtime::or_detected(spin, false), Runtime::Spin);
    }

    fn parse(args: &[&str]) -> Result<Task, clap::Error> {
        Cli::try_parse_from(["xtask"].iter().chain(args)).map(|cli| cli.task)
    }

    #[test]
    fn each_command_keeps_its_default() {
        assert!(matches!(parse(&["up"]), Ok(Task::Up { runtime: None, .. })));
        assert!(matches!(
            parse(&["bench"]),
            Ok(Task::Bench {
                runtime: Runtime::Host,
                ..
            })
        ));
        assert!(matches!(
            parse(&["up", "--runtime", "host"]),
            Ok(Task::Up {
                runtime: Some(Runtime::Host),
                ..
            })
        ));
        assert!(matches!(
            parse(&["bench", "--runtime", "spin"]),
            Ok(Task::Bench {
                runtime: Runtime::Spin,
                ..
            })
        ));
        assert!(parse(&["up", "--runtime", "wasmtime"]).is_err());
        assert!(parse(&["bench", "--runtime", "wasmtime"]).is_err());
    }
}
