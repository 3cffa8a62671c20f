#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| token_wallet_core::fuzz::chunk_head(data));
