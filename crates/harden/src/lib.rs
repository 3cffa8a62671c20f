//! Process hardening, called first thing by every Token Wallet process that holds secrets
//! (the CLI, the agent, the desktop app), before any secret is read:
//!
//! - **Linux**: `PR_SET_DUMPABLE 0` (another process of the same user can no longer read
//!   `/proc/PID/mem`, attach with `ptrace`, or make the kernel write a core; `/proc/PID`
//!   files become root's) and `RLIMIT_CORE 0` (hard limit too, so `prlimit --core` from
//!   outside cannot raise it without `CAP_SYS_RESOURCE`).
//! - **macOS**: `PT_DENY_ATTACH` (no debugger attach) and `RLIMIT_CORE 0`.
//! - **Windows**: a protected process DACL that gives other processes of the user only
//!   query, synchronise and terminate rights, so no `PROCESS_VM_READ`.
//!
//! The same measures as OpenSSH's `platform_disable_tracing()` and KeePassXC's
//! `Bootstrap::disableCoreDumps()`. What they cannot stop: root, and a same-user process
//! that replaces the binary or injects before this runs (`LD_PRELOAD`); see
//! `docs/security.md`.
//!
//! This crate is the project's only FFI, kept apart so that the core crate stays
//! `#![forbid(unsafe_code)]`. Linux needs none: rustix wraps both calls. On Windows it
//! also tells who runs a process, for the agent's named pipe, and keeps `exec` alive
//! through a console interrupt meant for its child ([`win32`]).
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(windows)]
pub mod win32;

/// What hardening could not be applied. The caller logs it and goes on: a process that
/// cannot harden is no weaker than before, and refusing to run would lock the user out.
#[derive(Debug)]
#[non_exhaustive]
pub struct HardenError {
    /// Which measure failed.
    pub what: &'static str,
    /// The OS's reason.
    pub reason: String,
}

impl std::fmt::Display for HardenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not {}: {}", self.what, self.reason)
    }
}

impl std::error::Error for HardenError {}

/// Applies every measure this platform has; returns the ones that failed (empty when all
/// held).
pub fn harden_process() -> Vec<HardenError> {
    let mut failed = Vec::new();
    imp::apply(&mut failed);
    failed
}

/// Whether the kernel currently lets other processes of this user read this one's memory
/// and take its core dump (Linux: the dumpable flag). `None` where the OS has no such flag.
pub fn is_dumpable() -> Option<bool> {
    imp::is_dumpable()
}

/// Locks the pages holding `secret` in RAM, so the kernel never writes them to swap
/// (Unix `mlock`, Windows `VirtualLock`). Returns whether it held (it fails past
/// `RLIMIT_MEMLOCK`, 8 MiB by default on Linux: far more than a few keys need). Pages are
/// never unlocked again: they may hold other keys too, and `munlock` is not counted.
pub fn lock_in_memory(secret: &[u8]) -> bool {
    if secret.is_empty() {
        return true;
    }
    #[cfg(unix)]
    {
        // SAFETY: mlock only reads the address range of a live borrowed slice; it does
        // not access the memory.
        #[allow(unsafe_code)]
        let r = unsafe { libc::mlock(secret.as_ptr().cast(), secret.len()) };
        r == 0
    }
    #[cfg(windows)]
    {
        // SAFETY: as for mlock: the range of a live borrowed slice.
        #[allow(unsafe_code)]
        let r = unsafe {
            windows_sys::Win32::System::Memory::VirtualLock(
                secret.as_ptr() as *const core::ffi::c_void,
                secret.len(),
            )
        };
        r != 0
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

#[cfg(unix)]
fn no_core_dumps(failed: &mut Vec<HardenError>) {
    use rustix::process::{setrlimit, Resource, Rlimit};
    let zero = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    if let Err(e) = setrlimit(Resource::Core, zero) {
        failed.push(HardenError {
            what: "disable core dumps (RLIMIT_CORE 0)",
            reason: e.to_string(),
        });
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use super::HardenError;
    use rustix::process::{dumpable_behavior, set_dumpable_behavior, DumpableBehavior};

    pub fn apply(failed: &mut Vec<HardenError>) {
        if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
            failed.push(HardenError {
                what: "make the process non-dumpable (PR_SET_DUMPABLE 0)",
                reason: e.to_string(),
            });
        }
        super::no_core_dumps(failed);
    }

    pub fn is_dumpable() -> Option<bool> {
        dumpable_behavior()
            .ok()
            .map(|b| b != DumpableBehavior::NotDumpable)
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use super::HardenError;

    /// `PT_DENY_ATTACH` from `<sys/ptrace.h>`.
    const PT_DENY_ATTACH: libc::c_int = 31;

    pub fn apply(failed: &mut Vec<HardenError>) {
        // SAFETY: ptrace(PT_DENY_ATTACH, 0, NULL, 0) takes no pointers it dereferences
        // and only sets a flag on this process.
        #[allow(unsafe_code)]
        let r = unsafe { libc::ptrace(PT_DENY_ATTACH, 0, std::ptr::null_mut(), 0) };
        if r != 0 {
            failed.push(HardenError {
                what: "deny debugger attach (PT_DENY_ATTACH)",
                reason: std::io::Error::last_os_error().to_string(),
            });
        }
        super::no_core_dumps(failed);
    }

    pub fn is_dumpable() -> Option<bool> {
        None
    }
}

#[cfg(windows)]
mod imp {
    use super::HardenError;
    use windows_sys::Win32::Foundation::{LocalFree, ERROR_SUCCESS};
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SetSecurityInfo, SDDL_REVISION_1,
        SE_KERNEL_OBJECT,
    };
    use windows_sys::Win32::Security::{
        GetSecurityDescriptorDacl, ACL, DACL_SECURITY_INFORMATION,
        PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };
    use windows_sys::Win32::System::Threading::GetCurrentProcess;

    /// A protected DACL: SYSTEM gets everything; the owner (and so every process of this
    /// user) only SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_TERMINATE
    /// (0x00101001): no PROCESS_VM_READ, VM_WRITE, VM_OPERATION, CREATE_THREAD or
    /// DUP_HANDLE. Owner Rights (`OW`) also removes the owner's implicit WRITE_DAC, so the
    /// DACL cannot simply be put back. The same limited rights go to the user's SID by
    /// name too: the same effect on Windows, and what Wine (which does not apply Owner
    /// Rights) needs to let the agent's clients read which user runs it.
    fn sddl() -> String {
        const BASE: &str = "D:P(A;;GA;;;SY)(A;;0x00101001;;;OW)";
        match crate::win32::my_user_sid() {
            Ok(sid) => format!("{BASE}(A;;0x00101001;;;{sid})"),
            Err(_) => BASE.to_string(),
        }
    }

    pub fn apply(failed: &mut Vec<HardenError>) {
        let wide: Vec<u16> = sddl().encode_utf16().chain(std::iter::once(0)).collect();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated and outlives the call; `sd` receives a
        // LocalAlloc'd descriptor that is freed below.
        #[allow(unsafe_code)]
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            failed.push(HardenError {
                what: "build the process DACL",
                reason: std::io::Error::last_os_error().to_string(),
            });
            return;
        }
        let mut present = 0;
        let mut defaulted = 0;
        let mut dacl: *mut ACL = std::ptr::null_mut();
        // SAFETY: `sd` is a valid descriptor from the call above; the out pointers are
        // locals. The DACL points into `sd`, which lives until LocalFree below.
        #[allow(unsafe_code)]
        let r = unsafe {
            let got = GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted);
            let r = if got == 0 {
                std::io::Error::last_os_error().raw_os_error().unwrap_or(-1) as u32
            } else {
                SetSecurityInfo(
                    GetCurrentProcess(),
                    SE_KERNEL_OBJECT,
                    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    dacl,
                    std::ptr::null(),
                )
            };
            LocalFree(sd as _);
            r
        };
        if r != ERROR_SUCCESS {
            failed.push(HardenError {
                what: "deny other processes PROCESS_VM_READ (process DACL)",
                reason: std::io::Error::from_raw_os_error(r as i32).to_string(),
            });
        }
    }

    pub fn is_dumpable() -> Option<bool> {
        None
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    windows
)))]
mod imp {
    use super::HardenError;

    pub fn apply(failed: &mut Vec<HardenError>) {
        #[cfg(unix)]
        super::no_core_dumps(failed);
        #[cfg(not(unix))]
        let _ = failed;
    }

    pub fn is_dumpable() -> Option<bool> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_locked_in_memory() {
        let key = Box::new([7u8; 32]);
        assert!(lock_in_memory(&key[..]));
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let locked = status
            .lines()
            .find(|l| l.starts_with("VmLck:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap();
        assert!(locked >= 4, "VmLck {locked} kB");
    }

    #[test]
    fn after_hardening_the_process_is_not_dumpable_and_has_no_core_limit() {
        assert!(harden_process().is_empty());
        assert_eq!(is_dumpable(), Some(false));
        let l = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!(l.current, Some(0));
        assert_eq!(l.maximum, Some(0));
    }
}
