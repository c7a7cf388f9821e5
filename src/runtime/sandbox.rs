//! Per-process limits applied to every worker between fork and exec: its own process
//! group (so a kill takes any children too), RLIMIT_AS, RLIMIT_CPU, no core dumps, death
//! with the parent, and a private network namespace where the OS lets us create one.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Limits for one worker process.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// RLIMIT_AS in bytes (0 = none).
    pub memory_bytes: u64,
    /// Initial RLIMIT_CPU soft limit in seconds; the worker raises it per job (see worker.py).
    pub cpu_seconds: u64,
}

/// How the workers are cut off from the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetIsolation {
    /// A new network namespace (root or CAP_SYS_ADMIN).
    NetNamespace,
    /// A new user namespace holding a new network namespace (unprivileged).
    UserAndNetNamespace,
    /// The OS refused both; scripts can reach the network.
    None,
}

impl NetIsolation {
    fn flags(self) -> Option<libc::c_int> {
        match self {
            NetIsolation::NetNamespace => Some(libc::CLONE_NEWNET),
            NetIsolation::UserAndNetNamespace => Some(libc::CLONE_NEWUSER | libc::CLONE_NEWNET),
            NetIsolation::None => None,
        }
    }
}

/// Which isolation this machine allows, found once per process by trying it on a tiny
/// child (`python -S -c pass`) and said once in the log.
pub fn net_isolation(python: &Path) -> NetIsolation {
    static MODE: OnceLock<NetIsolation> = OnceLock::new();
    *MODE.get_or_init(|| {
        for mode in [
            NetIsolation::NetNamespace,
            NetIsolation::UserAndNetNamespace,
        ] {
            let mut cmd = Command::new(python);
            cmd.args(["-S", "-c", "pass"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let flags = mode.flags().expect("a namespace mode");
            // SAFETY: unshare is async-signal-safe; the child does nothing else before exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::unshare(flags) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            if cmd.status().is_ok_and(|s| s.success()) {
                tracing::info!(?mode, "CadQuery workers run without network access");
                return mode;
            }
        }
        tracing::warn!(
            "this OS does not let cadquery-lsp create a network namespace (unshare refused): \
             CadQuery workers can reach the network"
        );
        NetIsolation::None
    })
}

fn rlimit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: plain syscall on a stack value.
    if unsafe { libc::setrlimit(resource, &lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `cmd` start its process inside the sandbox.
pub fn confine(cmd: &mut Command, limits: Limits, net: NetIsolation) {
    let flags = net.flags();
    // SAFETY: only async-signal-safe syscalls run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if limits.memory_bytes > 0 {
                rlimit(libc::RLIMIT_AS, limits.memory_bytes, limits.memory_bytes)?;
            }
            rlimit(libc::RLIMIT_CPU, limits.cpu_seconds, libc::RLIM_INFINITY)?;
            rlimit(libc::RLIMIT_CORE, 0, 0)?;
            if let Some(flags) = flags {
                if libc::unshare(flags) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Kills a worker and everything it started (it leads its own process group).
pub fn kill_group(pid: u32) {
    // SAFETY: signalling a process group we created.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
}
