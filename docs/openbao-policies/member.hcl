# Token Wallet team vault: a member, who refreshes (a person's app or agent, or a server).
# Unlocks the vault by decrypting its data key with the Transit key `token-wallet`, reads
# the refresh tokens by decrypting the refresher key with `token-wallet-refresher` (a
# vault made with `--refresher transit:token-wallet-refresher`), reads and writes the
# vault's entries (connect, refresh, disconnect), and wraps a new data key when it rotates
# one. It cannot manage the Transit keys or policies. Removing a member: take this policy
# away from them (and revoke their tokens), then run `token-wallet rotate-key`.

path "secret/data/token-wallet/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/token-wallet/*" {
  capabilities = ["read", "list", "delete"]
}
path "transit/encrypt/token-wallet" {
  capabilities = ["update"]
}
path "transit/decrypt/token-wallet" {
  capabilities = ["update"]
}
path "transit/decrypt/token-wallet-refresher" {
  capabilities = ["update"]
}
