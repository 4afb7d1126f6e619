//! The four calls of libpam a password check needs (`pam_start`, `pam_authenticate`,
//! `pam_acct_mgmt`, `pam_end`), declared by hand. Why not a crate: the maintained bindings
//! (`pam`, `pam-client`) generate theirs with an old bindgen at build time, which fails in this
//! workspace (another crate switches clang-sys to loading libclang at run time, which that
//! bindgen never does); PAM's application API is small and has been stable since 1997.
#![allow(unsafe_code)]

use std::ffi::{CString, c_char, c_int, c_void};
use std::ptr;

const PAM_SUCCESS: c_int = 0;
const PAM_BUF_ERR: c_int = 5;
const PAM_CONV_ERR: c_int = 19;
/// Message styles of a conversation (pam_appl.h).
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
/// Refuse accounts whose password is empty.
const PAM_DISALLOW_NULL_AUTHTOK: c_int = 0x1;

#[repr(C)]
struct PamHandle {
    _opaque: [u8; 0],
}

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConversationFn = unsafe extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int;

#[repr(C)]
struct PamConv {
    conv: ConversationFn,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_start(service: *const c_char, user: *const c_char, conv: *const PamConv, handle: *mut *mut PamHandle) -> c_int;
    fn pam_authenticate(handle: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_acct_mgmt(handle: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_end(handle: *mut PamHandle, status: c_int) -> c_int;
}

/// Why a check failed.
#[derive(Debug)]
pub(super) enum Refusal {
    /// PAM said no (its return code: wrong password, unknown user, account locked or expired…).
    Denied(c_int),
    /// PAM could not be asked.
    CannotStart(String),
}

/// What the conversation answers with.
struct Credentials {
    user: CString,
    password: CString,
}

/// The conversation PAM calls for each prompt: the password where it is not echoed, the user
/// name where it is, nothing for notices. The replies are allocated with `malloc`, as PAM frees
/// them with `free`.
unsafe extern "C" fn converse(count: c_int, messages: *mut *const PamMessage, replies: *mut *mut PamResponse, data: *mut c_void) -> c_int {
    if count <= 0 || messages.is_null() || replies.is_null() || data.is_null() {
        return PAM_CONV_ERR;
    }
    let count = count as usize;
    // SAFETY: PAM passes the `Credentials` given to pam_start as `appdata_ptr`, alive for the
    // whole transaction.
    let credentials = unsafe { &*(data as *const Credentials) };
    // SAFETY: calloc of `count` zeroed replies; checked for null below.
    let answers = unsafe { libc::calloc(count, std::mem::size_of::<PamResponse>()) as *mut PamResponse };
    if answers.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..count {
        // SAFETY: Linux-PAM passes an array of `count` message pointers (its documented layout).
        let message = unsafe { *messages.add(i) };
        if message.is_null() {
            continue;
        }
        // SAFETY: a non-null message from PAM.
        let text = match unsafe { (*message).msg_style } {
            PAM_PROMPT_ECHO_OFF => Some(&credentials.password),
            PAM_PROMPT_ECHO_ON => Some(&credentials.user),
            _ => None,
        };
        if let Some(text) = text {
            // SAFETY: strdup of a NUL-terminated string; `answers` has `count` slots.
            unsafe { (*answers.add(i)).resp = libc::strdup(text.as_ptr()) };
        }
    }
    // SAFETY: `replies` is PAM's out-pointer; it takes ownership of the array and its strings.
    unsafe { *replies = answers };
    PAM_SUCCESS
}

/// Authenticate `user` with `password` by the PAM `service`, then run its account checks.
pub(super) fn authenticate(service: &str, user: &str, password: &str) -> Result<(), Refusal> {
    let cstring = |s: &str| CString::new(s).map_err(|_| Refusal::Denied(PAM_CONV_ERR));
    let service = CString::new(service).map_err(|_| Refusal::CannotStart("a service name with a NUL byte".into()))?;
    let credentials = Box::new(Credentials { user: cstring(user)?, password: cstring(password)? });
    let conversation = PamConv { conv: converse, appdata_ptr: &*credentials as *const Credentials as *mut c_void };
    let mut handle: *mut PamHandle = ptr::null_mut();
    // SAFETY: valid NUL-terminated strings and a conversation that outlive the transaction
    // (ended below, before `credentials` and `conversation` are dropped).
    let started = unsafe { pam_start(service.as_ptr(), credentials.user.as_ptr(), &conversation, &mut handle) };
    if started != PAM_SUCCESS || handle.is_null() {
        return Err(Refusal::CannotStart(format!("pam_start failed with code {started}")));
    }
    // SAFETY: `handle` is the live transaction pam_start made.
    let mut status = unsafe { pam_authenticate(handle, PAM_DISALLOW_NULL_AUTHTOK) };
    if status == PAM_SUCCESS {
        // SAFETY: as above.
        status = unsafe { pam_acct_mgmt(handle, PAM_DISALLOW_NULL_AUTHTOK) };
    }
    // SAFETY: ends the transaction once; `handle` is not used after.
    unsafe { pam_end(handle, status) };
    drop(credentials);
    match status {
        PAM_SUCCESS => Ok(()),
        code => Err(Refusal::Denied(code)),
    }
}
