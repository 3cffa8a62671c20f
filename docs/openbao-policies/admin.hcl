# Token Wallet team vault: the admin. Creates the Transit key, sets up the vault
# (`token-wallet init --store openbao --unlock transit:token-wallet --refresher
# transit:token-wallet-refresher`), rotates its data key (`rotate-key`, after removing a
# member), and everything a member does.
# Mount names: KV v2 at `secret`, Transit at `transit`, entries under `token-wallet/`.

path "secret/data/token-wallet/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "secret/metadata/token-wallet/*" {
  capabilities = ["read", "list", "delete"]
}
path "transit/keys/token-wallet" {
  capabilities = ["create", "read", "update"]
}
path "transit/keys/token-wallet/rotate" {
  capabilities = ["update"]
}
path "transit/encrypt/token-wallet" {
  capabilities = ["update"]
}
path "transit/decrypt/token-wallet" {
  capabilities = ["update"]
}
path "transit/keys/token-wallet-refresher" {
  capabilities = ["create", "read", "update"]
}
path "transit/encrypt/token-wallet-refresher" {
  capabilities = ["update"]
}
path "transit/decrypt/token-wallet-refresher" {
  capabilities = ["update"]
}
