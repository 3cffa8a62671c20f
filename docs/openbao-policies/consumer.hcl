# Token Wallet team vault: a consumer (a CI job, a tool). Unlocks the vault with the
# Transit key `token-wallet` and reads its entries, so it gets live access tokens
# (`token-wallet token NAME`). It may not decrypt with `token-wallet-refresher`, so in a
# vault made with `--refresher` it never reads a refresh token or client secret, and it
# may not write: it never refreshes (a member's agent or app does, for everyone).

path "secret/data/token-wallet/*" {
  capabilities = ["read"]
}
path "secret/metadata/token-wallet/*" {
  capabilities = ["read", "list"]
}
path "transit/decrypt/token-wallet" {
  capabilities = ["update"]
}
