//! Per-process limits applied to every worker between fork and exec: its own process
//! group (so a kill takes any children too), RLIMIT_AS, RLIMIT_CPU, no core dumps, death
//! with the parent, a private network namespace where the OS lets us create one, and
//! (Landlock, Linux >= 5.13) no writes outside the worker's own directory.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
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

// Landlock ABI v1 filesystem rights that create, change or remove files.
const LL_WRITE_FILE: u64 = 1 << 1;
const LL_WRITE_ACCESS: u64 = LL_WRITE_FILE
    | (1 << 4) // REMOVE_DIR
    | (1 << 5) // REMOVE_FILE
    | (1 << 6) // MAKE_CHAR
    | (1 << 7) // MAKE_DIR
    | (1 << 8) // MAKE_REG
    | (1 << 9) // MAKE_SOCK
    | (1 << 10) // MAKE_FIFO
    | (1 << 11) // MAKE_BLOCK
    | (1 << 12); // MAKE_SYM
const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
}

#[repr(C, packed)]
struct PathBeneath {
    allowed_access: u64,
    parent_fd: i32,
}

/// Whether the kernel offers Landlock (said once in the log).
pub fn landlock_available() -> bool {
    static ABI: OnceLock<i64> = OnceLock::new();
    let abi = *ABI.get_or_init(|| {
        // SAFETY: the version query takes no pointers.
        let abi = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<RulesetAttr>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        if abi < 1 {
            tracing::warn!(
                "no Landlock in this kernel: CadQuery workers may write anywhere the user can"
            );
        } else {
            tracing::info!(
                abi,
                "CadQuery workers can write only in their own directory (Landlock)"
            );
        }
        abi
    });
    abi >= 1
}

/// Between fork and exec: forbid writes except beneath `dir` (and to devices such as /dev/null).
fn restrict_writes(dir: &CString, dev: &CString) -> std::io::Result<()> {
    let err = std::io::Error::last_os_error;
    let attr = RulesetAttr {
        handled_access_fs: LL_WRITE_ACCESS,
    };
    // SAFETY: raw Landlock syscalls on stack values and fds we own; all async-signal-safe.
    unsafe {
        let ruleset = libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        );
        if ruleset < 0 {
            return Err(err());
        }
        let ruleset = ruleset as libc::c_int;
        for (path, access) in [(dir, LL_WRITE_ACCESS), (dev, LL_WRITE_FILE)] {
            let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(err());
            }
            let rule = PathBeneath {
                allowed_access: access,
                parent_fd: fd,
            };
            let r = libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset,
                LANDLOCK_RULE_PATH_BENEATH,
                &rule as *const PathBeneath,
                0u32,
            );
            libc::close(fd);
            if r != 0 {
                return Err(err());
            }
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) != 0
        {
            return Err(err());
        }
        libc::close(ruleset);
    }
    Ok(())
}

/// Makes `cmd` start its process inside the sandbox; `dir` is the only place it may write.
pub fn confine(cmd: &mut Command, dir: &Path, limits: Limits, net: NetIsolation) {
    let flags = net.flags();
    // allocate before fork: only async-signal-safe work may happen in the child
    let landlock = landlock_available()
        .then(|| CString::new(dir.as_os_str().as_bytes()).ok())
        .flatten()
        .map(|d| (d, CString::new("/dev").expect("no NUL")));
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
            if let Some((dir, dev)) = &landlock {
                restrict_writes(dir, dev)?;
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
