//! The `token-wallet-app` binary: everything lives in the library.
#![forbid(unsafe_code)]
// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    token_wallet_app::run();
}
