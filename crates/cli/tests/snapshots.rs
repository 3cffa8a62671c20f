//! CLI behaviour pinned by snapshots (trycmd): help texts and errors that need no
//! keystore. Regenerate with `TRYCMD=overwrite cargo test -p token-wallet-cli --test snapshots`.

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new()
        .env("TOKEN_WALLET_LOG", "off")
        .case("tests/cmd/*.md");
}
