//! Links the unwinder (libgcc_eh) into the `token-wallet` binary on Linux/glibc instead of
//! loading `libgcc_s.so` at every start: that shared library costs a tenth of a `token`
//! answer's time (mapping, relocation, and its constructor's CPU feature probing), for
//! code a panic needs. Static builds (`crt-static`) already link it so.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if os == "linux" && env == "gnu" && !features.split(',').any(|f| f == "crt-static") {
        // Before std's `-lgcc_s` on the link line, so the unwinder's symbols resolve here
        // and `--as-needed` drops libgcc_s.
        println!("cargo::rustc-link-lib=static=gcc_eh");
    }
}
