# Token Wallet team vault: a member (a person's app or agent, or a server that refreshes).
# Unlocks the vault by decrypting its data key with the Transit key, reads and writes the
# vault's entries (connect, refresh, disconnect), and wraps a new data key when it rotates
# one. It cannot manage the Transit key or policies. Removing a member: take this policy
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
