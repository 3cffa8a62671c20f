#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| token_wallet_core::fuzz::header(data));
