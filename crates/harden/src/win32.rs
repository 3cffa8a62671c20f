//! Windows: who runs a process, a pipe client handle that cannot be impersonated (what
//! the agent's named pipe needs and no well-kept crate offers safely), and surviving a
//! console interrupt meant for a child (`exec`).

use std::ffi::OsString;
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::io::{FromRawHandle, OwnedHandle};
use std::path::Path;
use windows_sys::Win32::Foundation::{
    LocalFree, GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
use windows_sys::Win32::Security::{GetTokenInformation, TokenUser, TOKEN_QUERY, TOKEN_USER};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_OVERLAPPED, OPEN_EXISTING, SECURITY_IDENTIFICATION,
    SECURITY_SQOS_PRESENT,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentThread, OpenProcess, OpenProcessToken, OpenThreadToken,
    QueryFullProcessImageNameW, PROCESS_NAME_WIN32, PROCESS_QUERY_LIMITED_INFORMATION,
};

/// Takes ownership of a handle an API returned, or the error it set.
fn owned(h: HANDLE) -> io::Result<OwnedHandle> {
    if h.is_null() || h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `h` is a valid handle just returned to us, and nothing else owns it.
    #[allow(unsafe_code)]
    Ok(unsafe { OwnedHandle::from_raw_handle(h as _) })
}

/// Opens process `pid` for querying only.
fn open_process(pid: u32) -> io::Result<OwnedHandle> {
    // SAFETY: plain call; the handle is owned below.
    #[allow(unsafe_code)]
    owned(unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) })
}

/// The user SID (`S-1-5-21-…`) that process `pid` runs as, from its access token.
pub fn process_user_sid(pid: u32) -> io::Result<String> {
    use std::os::windows::io::AsRawHandle;
    let process = open_process(pid)?;
    process_token_user_sid(process.as_raw_handle() as _)
}

/// The user SID of the process `process` (a handle with query rights).
fn process_token_user_sid(process: HANDLE) -> io::Result<String> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: `process` is a live handle; `token` receives a new handle owned below.
    #[allow(unsafe_code)]
    let ok = unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    token_user_sid(&owned(token)?)
}

/// The user SID of the token the calling thread impersonates (the client's, inside an
/// `ImpersonateNamedPipeClient` … `RevertToSelf` bracket).
pub fn impersonated_user_sid() -> io::Result<String> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: plain call; `token` receives a new handle owned below. `OpenAsSelf` (1):
    // the check uses the process's own rights, which an identification-level token needs.
    #[allow(unsafe_code)]
    let ok = unsafe { OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, 1, &mut token) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    token_user_sid(&owned(token)?)
}

/// The user SID of an access token, as text.
fn token_user_sid(token: &OwnedHandle) -> io::Result<String> {
    use std::os::windows::io::AsRawHandle;
    // TOKEN_USER holds a pointer into the same buffer (the SID follows it); 256 bytes hold
    // any SID (at most 68 bytes) with room to spare. u64s keep it aligned for TOKEN_USER.
    let mut buf = [0u64; 32];
    let mut len = 0u32;
    // SAFETY: `buf` is writable for the size given; `len` is a local.
    #[allow(unsafe_code)]
    let ok = unsafe {
        GetTokenInformation(
            token.as_raw_handle() as _,
            TokenUser,
            buf.as_mut_ptr().cast(),
            std::mem::size_of_val(&buf) as u32,
            &mut len,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call succeeded, so `buf` starts with an initialised, aligned TOKEN_USER
    // whose SID pointer points into `buf`, which outlives this use.
    #[allow(unsafe_code)]
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` is valid (above); `text` receives a LocalAlloc'd string freed below.
    #[allow(unsafe_code)]
    let s = unsafe {
        if ConvertSidToStringSidW(sid, &mut text) == 0 {
            return Err(io::Error::last_os_error());
        }
        take_local_string(text)
    };
    s.into_string()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a SID that is not text"))
}

/// The user SID this process runs as.
pub fn my_user_sid() -> io::Result<String> {
    // SAFETY: plain call; the pseudo-handle has every right on this process, whatever
    // its DACL (which harden_process narrows), and needs no closing.
    #[allow(unsafe_code)]
    let me = unsafe { GetCurrentProcess() };
    process_token_user_sid(me)
}

/// The full path of process `pid`'s executable, where Windows tells it.
pub fn process_image(pid: u32) -> Option<String> {
    use std::os::windows::io::AsRawHandle;
    let process = open_process(pid).ok()?;
    let mut buf = vec![0u16; 32 * 1024];
    let mut len = buf.len() as u32;
    // SAFETY: `buf` is writable for `len` UTF-16 units; `len` is a local.
    #[allow(unsafe_code)]
    let ok = unsafe {
        QueryFullProcessImageNameW(
            process.as_raw_handle() as _,
            PROCESS_NAME_WIN32,
            buf.as_mut_ptr(),
            &mut len,
        )
    };
    if ok == 0 {
        return None;
    }
    buf.truncate(len as usize);
    Some(OsString::from_wide(&buf).to_string_lossy().into_owned())
}

/// Opens the client end of the named pipe at `path` for reading and writing, overlapped
/// (as the `interprocess` crate's pipe streams expect), at *identification* level only:
/// whoever serves the pipe may learn who we are but can never act as us
/// (`SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION`; Windows' default would let a pipe
/// squatter with `SeImpersonatePrivilege` impersonate the client).
pub fn open_pipe_client(path: &Path) -> io::Result<OwnedHandle> {
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    // SAFETY: `wide` is NUL-terminated and outlives the call; no security attributes or
    // template; the returned handle is owned below.
    #[allow(unsafe_code)]
    let h = unsafe {
        CreateFileW(
            wide.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            0,
            std::ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
            std::ptr::null_mut(),
        )
    };
    owned(h)
}

/// How many bytes wait to be read on the pipe `h`, without reading or blocking
/// (`PeekNamedPipe`). An error when the other end has closed it.
pub fn pipe_bytes_available(h: std::os::windows::io::BorrowedHandle<'_>) -> io::Result<u32> {
    use std::os::windows::io::AsRawHandle;
    let mut avail = 0u32;
    // SAFETY: `h` is a live handle for the call; no buffer is passed (null, 0 bytes), so
    // only the count is written, to a local.
    #[allow(unsafe_code)]
    let ok = unsafe {
        windows_sys::Win32::System::Pipes::PeekNamedPipe(
            h.as_raw_handle() as _,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            &mut avail,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(avail)
}

/// Reads and frees a NUL-terminated UTF-16 string that Windows allocated with LocalAlloc.
///
/// # Safety
/// `text` is such a string, not used after this call.
#[allow(unsafe_code)]
unsafe fn take_local_string(text: *mut u16) -> OsString {
    let mut n = 0;
    // SAFETY (caller): `text` is NUL-terminated, so every unit up to the NUL is readable.
    while unsafe { *text.add(n) } != 0 {
        n += 1;
    }
    // SAFETY (caller): `n` units are initialised and live until the LocalFree below.
    let s = OsString::from_wide(unsafe { std::slice::from_raw_parts(text, n) });
    // SAFETY (caller): LocalAlloc'd, and not used again.
    unsafe { LocalFree(text as _) };
    s
}

/// The DACL of the kernel object `h` (a pipe, a process) in SDDL, e.g.
/// `D:P(A;;FA;;;S-1-5-21-…)`: for tests that check who an object admits.
pub fn dacl_sddl(h: std::os::windows::io::BorrowedHandle<'_>) -> io::Result<String> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Security::Authorization::{
        ConvertSecurityDescriptorToStringSecurityDescriptorW, GetSecurityInfo, SDDL_REVISION_1,
        SE_KERNEL_OBJECT,
    };
    use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR};
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `h` is live for the call; only the descriptor is asked for, which Windows
    // allocates and we free below.
    #[allow(unsafe_code)]
    let r = unsafe {
        GetSecurityInfo(
            h.as_raw_handle() as _,
            SE_KERNEL_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r as i32));
    }
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sd` is the valid descriptor from above, freed after; `text` receives a
    // LocalAlloc'd string that take_local_string frees.
    #[allow(unsafe_code)]
    let s = unsafe {
        let ok = ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &mut text,
            std::ptr::null_mut(),
        );
        let err = io::Error::last_os_error();
        LocalFree(sd as _);
        if ok == 0 {
            return Err(err);
        }
        take_local_string(text)
    };
    Ok(s.to_string_lossy().into_owned())
}

/// Keeps this process alive through Ctrl-C and Ctrl-Break from its console, for as long
/// as it waits for a child (`exec`): the console sends the interrupt to every process
/// attached to it, so the child gets it itself and decides; this process then returns the
/// child's exit code instead of dying first and leaving the child behind (as cargo does
/// for `cargo run`).
pub fn survive_console_interrupts() -> io::Result<()> {
    use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;
    extern "system" fn handled(_event: u32) -> windows_sys::Win32::Foundation::BOOL {
        1
    }
    // SAFETY: registers a handler that touches nothing; it stays registered for the
    // process's life.
    #[allow(unsafe_code)]
    let ok = unsafe { SetConsoleCtrlHandler(Some(handled), 1) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Asks for one secret in the system's credential dialog (CredUI, a generic credential;
/// the user name field is ignored), so the secret is typed into Windows' own secure field
/// and never into the app's web view. `None` when cancelled. The packed answer is wiped
/// before it is freed; the caller wraps the result at once.
#[allow(unsafe_code)]
pub fn prompt_secret(title: &str, message: &str) -> Result<Option<String>, String> {
    use std::ffi::c_void;
    use windows_sys::Win32::Security::Credentials::{
        CredUIPromptForWindowsCredentialsW, CredUnPackAuthenticationBufferW, CREDUIWIN_GENERIC,
        CREDUI_INFOW,
    };
    use windows_sys::Win32::System::Com::CoTaskMemFree;
    const ERROR_CANCELLED: u32 = 1223;
    let wide = |s: &str| -> Vec<u16> { s.encode_utf16().chain(Some(0)).collect() };
    let (title, message) = (wide(title), wide(message));
    let info = CREDUI_INFOW {
        cbSize: std::mem::size_of::<CREDUI_INFOW>() as u32,
        hwndParent: std::ptr::null_mut(),
        pszMessageText: message.as_ptr(),
        pszCaptionText: title.as_ptr(),
        hbmBanner: std::ptr::null_mut(),
    };
    let mut package = 0u32;
    let mut out: *mut c_void = std::ptr::null_mut();
    let mut out_len = 0u32;
    let mut save = 0;
    // SAFETY: every pointer is to a live local of the right type; `out` is allocated by
    // CredUI and freed below with CoTaskMemFree, as its documentation asks.
    let r = unsafe {
        CredUIPromptForWindowsCredentialsW(
            &info,
            0,
            &mut package,
            std::ptr::null(),
            0,
            &mut out,
            &mut out_len,
            &mut save,
            CREDUIWIN_GENERIC,
        )
    };
    if r == ERROR_CANCELLED {
        return Ok(None);
    }
    if r != 0 {
        return Err(format!("the credential dialog failed (error {r})"));
    }
    let mut user = [0u16; 514];
    let mut user_len = user.len() as u32;
    let mut domain = [0u16; 338];
    let mut domain_len = domain.len() as u32;
    let mut pass = vec![0u16; 4096];
    let mut pass_len = pass.len() as u32;
    // SAFETY: `out`/`out_len` are CredUI's answer; the buffers are local and their
    // lengths are passed in characters, as the function expects.
    let ok = unsafe {
        CredUnPackAuthenticationBufferW(
            0,
            out,
            out_len,
            user.as_mut_ptr(),
            &mut user_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            pass.as_mut_ptr(),
            &mut pass_len,
        )
    };
    // SAFETY: `out` holds `out_len` bytes from CredUI; wiped, then freed once.
    unsafe {
        std::ptr::write_bytes(out.cast::<u8>(), 0, out_len as usize);
        CoTaskMemFree(out);
    }
    let text = (ok != 0).then(|| {
        let n = (pass_len as usize).min(pass.len());
        let end = pass[..n].iter().position(|&c| c == 0).unwrap_or(n);
        String::from_utf16_lossy(&pass[..end])
    });
    for c in pass.iter_mut() {
        // SAFETY: a valid, aligned element of a live Vec; volatile so it is not elided.
        unsafe { std::ptr::write_volatile(c, 0) };
    }
    text.map(Some)
        .ok_or_else(|| "could not read the credential dialog's answer".to_string())
}
