// The only place that calls into Rust. Passphrases go in; nothing secret comes back.
import { invoke } from "@tauri-apps/api/core";
import type { VaultFacts, VaultState } from "./types";

export const vaultState = (): Promise<VaultState> => invoke<VaultState>("vault_state");

export const createVault = (passphrase: string, confirmation: string): Promise<VaultState> =>
  invoke<VaultState>("create_vault", { passphrase, confirmation });

export const unlock = (passphrase: string): Promise<VaultState> =>
  invoke<VaultState>("unlock", { passphrase });

export const lock = (): Promise<VaultState> => invoke<VaultState>("lock");

export const vaultInfo = (): Promise<VaultFacts> => invoke<VaultFacts>("vault_info");
