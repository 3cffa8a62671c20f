//! The `token-wallet-app` binary: everything lives in the library.
#![forbid(unsafe_code)]
// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// Every heap block is zeroed when it is freed (or moved by a reallocation), so a secret
/// that passed through any buffer (a protocol frame, an HTTP body, a parsed token) does not
/// survive in freed memory.
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

fn main() {
    // First, while this is the only thread: it sets environment variables.
    token_wallet_app::renderer_defaults();
    token_wallet_app::run();
}
