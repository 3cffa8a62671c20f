#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| token_wallet_core::fuzz::providers_toml(data));
