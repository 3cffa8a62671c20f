//! `init`, `unlock`, `passwd`, `rotate-key`, `status`: the vault itself.

use super::{age, say, Ctx};
use crate::cli::{
    BackupArgs, InitArgs, PasswdArgs, RestoreArgs, RotateKeyArgs, StatusArgs, UnlockArgs,
    UpgradeArgs,
};
use crate::context::Local;
use crate::error::Result;
use crate::passphrase::{self, Sources};
use token_wallet_core::monitor::{self, Thresholds};
use token_wallet_core::{CreateOptions, KdfParams, Profile, VaultInfo};

/// Fails, saying `what_to_do`, if this profile already has a vault (`init`, `restore`).
fn refuse_existing(local: &Local, what_to_do: &str) -> Result {
    if local.vault.exists()? {
        return Err(format!(
            "a vault already exists for profile `{}`; {what_to_do}",
            local.config.profile.name()
        )
        .into());
    }
    Ok(())
}

/// `init`.
pub fn init(cx: &mut Ctx<'_>, a: &InitArgs) -> Result {
    let local = cx.local()?;
    refuse_existing(&local, "unlock it, or use another --profile")?;
    if let Some(t) = &a.unlock {
        let v = local.create_with_transit(t, a.refresher.as_ref())?;
        let info = v.vault().info();
        drop(v);
        let split = match &a.refresher {
            Some(r) => format!(
                "; refresh tokens are sealed for identities that may use Transit key {}/{}",
                r.mount, r.key
            ),
            None => String::new(),
        };
        return cx.say(&format!(
            "created vault {} in the {} keystore (service `{}`); it unlocks with OpenBao Transit key {}/{} and has no passphrase{split}",
            info.vault_id, info.store, info.service, t.mount, t.key
        ));
    }
    let p = passphrase::new(
        a.pass.passphrase_file.as_deref(),
        a.pass.passphrase_stdin,
        &mut cx.input,
        "New passphrase",
    )?;
    let v = local.create(
        &p,
        &CreateOptions {
            kdf: KdfParams {
                m_kib: a.kdf_memory_kib,
                t: a.kdf_iterations,
                p: a.kdf_parallelism,
            },
            allow_weak_kdf: a.insecure_weak_kdf,
        },
    )?;
    let info = v.vault().info();
    drop(v);
    cx.say(&format!(
        "created vault {} in the {} keystore (service `{}`), {}",
        info.vault_id, info.store, info.service, info.kdf
    ))
}

/// `unlock`: checks the passphrase (the vault is locked again when `v` is dropped).
pub fn unlock(cx: &mut Ctx<'_>, a: &UnlockArgs) -> Result {
    let local = cx.local()?;
    let v = local.unlock(&a.pass, &mut cx.input)?;
    let n = v.vault().info().record_count.unwrap_or(0);
    drop(v);
    cx.say(&format!(
        "passphrase OK; vault unlocked ({n} records) and locked again"
    ))
}

/// `passwd`: the current passphrase from `--passphrase-file` (else stdin's first line with
/// `--passphrase-stdin`, else a prompt), the new one from `--new-passphrase-file` (else
/// stdin's next line, else a prompt).
pub fn passwd(cx: &mut Ctx<'_>, a: &PasswdArgs) -> Result {
    let (current_file, new_file) = (
        a.passphrase_file.as_deref(),
        a.new_passphrase_file.as_deref(),
    );
    let (stdin, keep_data_key, input) = (a.passphrase_stdin, a.keep_data_key, &mut cx.input);
    let out = &mut cx.out;
    let local = Local::open(cx.cli)?;
    if local.unlocks_by_identity()? {
        return Err(token_wallet_core::VaultError::NoPassphrase.into());
    }
    let current = Sources {
        file: current_file,
        stdin: stdin && current_file.is_none(),
    };
    let p = passphrase::current(&current, input)?;
    let v = local.unlock_with(&p)?;
    let new = passphrase::new(new_file, stdin, input, "New passphrase")?;
    let info = v.run(|s| s.change_passphrase(&new, keep_data_key))?;
    drop(v);
    if keep_data_key {
        say(out, "passphrase changed (data key kept)")
    } else {
        say(
            out,
            &format!(
                "passphrase changed; data key rotated (generation {})",
                info.generation
            ),
        )
    }
}

/// `rotate-key`.
pub fn rotate_key(cx: &mut Ctx<'_>, a: &RotateKeyArgs) -> Result {
    let local = cx.local()?;
    let v = local.unlock(&a.pass, &mut cx.input)?;
    let from = v.vault().info().generation;
    let info = v.run(|s| s.rotate_data_key(|_, _| {}))?;
    drop(v);
    cx.say(&format!(
        "data key rotated: generation {from} -> {}, {} records re-encrypted",
        info.generation,
        info.record_count.unwrap_or(0)
    ))
}

/// `backup FILE`.
pub fn backup(cx: &mut Ctx<'_>, a: &BackupArgs) -> Result {
    let local = cx.local()?;
    let v = local.unlock(&a.pass, &mut cx.input)?;
    let file = &a.file;
    let own = a
        .backup_passphrase_file
        .as_deref()
        .map(|f| passphrase::new(Some(f), false, &mut std::io::empty(), "Backup passphrase"))
        .transpose()?;
    let kdf = v.vault().info().kdf;
    let records = v
        .run(|s| {
            s.backup(own.as_ref().map(|p| (p, kdf)), |b| {
                token_wallet_core::files::write_new_private(file, b)
            })
        })?
        .map_err(|e| e.to_string())?;
    drop(v);
    cx.say(
        &format!(
            "wrote {} connections to {} (sealed under {}); it holds refresh tokens: keep it as you keep the vault, and restore it with `token-wallet restore`",
            records,
            file.display(),
            if own.is_some() {
                "the backup passphrase"
            } else {
                "the vault's passphrase"
            }
        ),
    )
}

/// `restore FILE`.
pub fn restore(cx: &mut Ctx<'_>, a: &RestoreArgs) -> Result {
    let (file, moved, pass, input) = (&a.file, a.moved, &a.pass, &mut cx.input);
    let out = &mut cx.out;
    let local = &Local::open(cx.cli)?;
    refuse_existing(local, "restore into a new --profile (or another --store)")?;
    let bytes = token_wallet_core::vault::read_backup_file(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    token_wallet_core::vault::backup_info(&bytes)?;
    let p = passphrase::current(&Sources::of(pass), input)?;
    let backup = token_wallet_core::vault::open_backup(&bytes, &p)?;
    drop(bytes);
    let from = backup.info.clone();
    // Every record checked before the vault is made: a backup that cannot be restored
    // leaves nothing behind.
    let all = token_wallet_core::ops::restored_connections(&backup, moved)?;
    drop(backup);
    let opts = CreateOptions {
        kdf: from.kdf,
        allow_weak_kdf: !from.kdf.meets_floor(),
    };
    if opts.allow_weak_kdf {
        eprintln!("warning: the backup's passphrase uses KDF settings below RFC 9106's floor (a test setting); the new vault keeps them");
    }
    let v = local.create(&p, &opts)?;
    let restored = v.run(|s| s.restore(all))?;
    let info = v.vault().info();
    drop(v);
    say(
        out,
        &format!(
            "restored {} connections from the backup of vault {} made {} ago into a new vault {} in the {} keystore (service `{}`)",
            restored.len(),
            from.vault_id,
            age(from.created_at),
            info.vault_id,
            info.store,
            info.service
        ),
    )?;
    let copied: Vec<_> = restored
        .iter()
        .filter(|c| c.is_restored_copy())
        .map(|c| c.name.to_string())
        .collect();
    if !copied.is_empty() {
        say(
            out,
            &format!(
                "warning: the refresh tokens of {} are copies: if the vault the backup came from still refreshes them, a refresh here too makes the provider revoke the grant (Pleo does). Use one copy only: `token-wallet reauthorise NAME` gives this vault its own sign-in; `restore --moved` skips this mark when the old vault is gone",
                copied.join(", ")
            ),
        )?;
    }
    Ok(())
}

/// `upgrade`: the vault to the newest format.
pub fn upgrade(cx: &mut Ctx<'_>, a: &UpgradeArgs) -> Result {
    let local = cx.local()?;
    let v = local.unlock(&a.pass, &mut cx.input)?;
    let (from, info) = v.run(|s| s.upgrade_format())?;
    drop(v);
    let out = &mut cx.out;
    if from == info.format {
        return say(
            out,
            &format!("the vault is already in format {from}, the newest this build knows"),
        );
    }
    say(
        out,
        &format!(
            "vault upgraded: format {from} -> {} (data key generation {}, {} records re-encrypted); Token Wallet builds that read only format {from} can no longer open it",
            info.format,
            info.generation,
            info.record_count.unwrap_or(0)
        ),
    )
}

/// `status`. With `--unlock` and a running, unlocked agent (and no passphrase given), the
/// agent answers for the connections: no passphrase is asked for.
pub fn status(cx: &mut Ctx<'_>, a: &StatusArgs) -> Result {
    let (cli, pass, unlock, json) = (cx.cli, &a.pass, a.unlock, a.json);
    let (input, out) = (&mut cx.input, &mut cx.out);
    let t = Thresholds {
        inactive_days: a.inactive_days,
        refresh_failures: a.failures,
        ..Thresholds::default()
    };
    let local = &Local::open(cli)?;
    let given = Sources::of(pass).given();
    // A running, unlocked agent answers without a passphrase, asked or not (as `gh auth
    // status` does): "locked" would be wrong while it holds the vault open.
    let from_agent = if !given {
        crate::source::client(cli)?.and_then(|mut c| c.list().ok())
    } else {
        None
    };
    let via_agent = from_agent.is_some();
    let (info, connections) = if let Some(conns) = from_agent {
        (local.vault.info()?, Some(conns))
    } else if unlock || given {
        let v = local.unlock(pass, input)?;
        let conns = v.run(|s| s.list())?;
        let info = v.vault().info();
        (info, Some(conns))
    } else {
        // Locked: no connections to look at, only the failed unlocks the log shows.
        (local.vault.info()?, None)
    };
    let alerts = monitor::alerts(connections.as_deref().unwrap_or(&[]), &t, Some(&local.log));
    if json {
        let mut v = serde_json::to_value(&info).map_err(|e| e.to_string())?;
        v["profile"] = local.config.profile.name().into();
        v["data_dir"] = local.config.data_dir.display().to_string().into();
        v["connections"] = connections.as_ref().map(Vec::len).into();
        v["accounts"] = connections
            .iter()
            .flatten()
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "provider": c.provider.name,
                    "account": super::connections::account(c),
                    "status": super::connections::status(c),
                })
            })
            .collect::<Vec<_>>()
            .into();
        v["alerts"] = serde_json::to_value(&alerts).map_err(|e| e.to_string())?;
        return say(out, &v.to_string());
    }
    say(
        out,
        &status_text(
            &local.config.profile,
            &local.config.data_dir,
            &info,
            via_agent,
        ),
    )?;
    if let Some(conns) = &connections {
        say(out, &format!("connections: {}", conns.len()))?;
        let rows: Vec<[String; 4]> = conns
            .iter()
            .map(|c| {
                [
                    format!("  {}", c.name),
                    c.provider.display_name.clone(),
                    super::connections::account(c),
                    super::connections::status(c),
                ]
            })
            .collect();
        for line in super::connections::table(&rows) {
            say(out, &line)?;
        }
    }
    for a in &alerts {
        say(out, &format!("ALERT:       {a}"))?;
    }
    Ok(())
}

fn status_text(
    profile: &Profile,
    data_dir: &std::path::Path,
    i: &VaultInfo,
    via_agent: bool,
) -> String {
    let floor = if i.kdf_below_floor {
        " (BELOW RFC 9106 floor: test setting)"
    } else {
        ""
    };
    let records = match i.record_count {
        Some(n) => n.to_string(),
        None if via_agent => "(the running agent holds the vault unlocked)".to_string(),
        None => "(locked; pass --unlock to count)".to_string(),
    };
    // Format 1's index is uncompressed: worth an upgrade. Format 2 differs from 3 only in
    // what a Transit vault's header may say, so it stays as it is.
    let format = if i.format < 2 {
        format!(
            "{} (older; `token-wallet upgrade` brings it to {})",
            i.format,
            token_wallet_core::vault::FORMAT_VERSION
        )
    } else {
        i.format.to_string()
    };
    let refresher = match (&i.refresher_key, i.consume_only) {
        (Some(k), true) => format!("\nrefresh:     this identity may only consume (no access to {k}); a refresher keeps tokens fresh"),
        (Some(k), false) => format!("\nrefresh:     refresh tokens sealed for refreshers ({k})"),
        (None, _) => String::new(),
    };
    let unlock = match i.unlock.strip_prefix("transit:") {
        Some(key) => format!(
            "unlock:      by OpenBao identity (Transit key {key}); no passphrase{refresher}"
        ),
        None => format!(
            "kdf:         {}{floor}\npassphrase:  set {} ago",
            i.kdf,
            age(i.passphrase_changed_at)
        ),
    };
    format!(
        "profile:     {}\ndata dir:    {}\nstore:       {} (service `{}`)\nvault id:    {}\nformat:      {format}\n{unlock}\ndata key:    generation {}, {} old\nrecords:     {records}",
        profile.name(),
        data_dir.display(),
        i.store,
        i.service,
        i.vault_id,
        i.generation,
        age(i.dek_created_at),
    )
}
