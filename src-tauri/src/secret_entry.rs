//! Secrets typed by a person never enter the web page: the master passphrase, API keys and
//! client secrets are asked for here, in a native dialog of the app's own process (which is
//! not dumpable: another process of the same user cannot read its memory), and go from it
//! to core. WebKit's processes (`WebKitWebProcess`, a separate, dumpable process) see a
//! button and, afterwards, only the outcome.
//!
//! - Linux: a GTK dialog whose entries have visibility off (GTK then wipes the text it
//!   frees). The text is copied out once, into a [`SecretString`], and the entries are
//!   emptied before the dialog closes.
//! - macOS: the system's own dialog with a hidden answer (`osascript`), one field at a
//!   time.
//! - Windows: the system's credential dialog (CredUI), one field at a time.
//!
//! [`ask`] blocks the calling thread (a command's worker) until the person answers; it
//! must not be called on the main thread, which runs the dialog.

use crate::error::Error;
use secrecy::SecretString;
use tauri::{AppHandle, Runtime};

/// What one field holds, which decides its checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// A secret that is checked elsewhere (the current passphrase, an API key).
    Secret(&'static str),
    /// A new passphrase: rated as it is typed, held to core's minimum.
    NewPassphrase(&'static str),
    /// The new passphrase again: must match.
    Confirm(&'static str),
}

#[cfg_attr(test, allow(dead_code))]
impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::Secret(l) | Field::NewPassphrase(l) | Field::Confirm(l) => l,
        }
    }
}

/// A dialog: its window title (which the tests look for), one sentence saying why it asks,
/// the fields, and the accepting button's label.
#[derive(Clone, Debug)]
#[cfg_attr(test, allow(dead_code))]
pub struct Ask {
    /// The window title.
    pub title: &'static str,
    /// Why it asks, in one or two sentences.
    pub intro: String,
    /// The fields, in order.
    pub fields: Vec<Field>,
    /// The accepting button ("Unlock", "Save key"); Windows' credential dialog has its
    /// own.
    #[cfg_attr(windows, allow(dead_code))]
    pub accept: &'static str,
}

/// The secrets entered, in field order; `Err(Error::Cancelled)` when the person cancels or
/// closes the dialog.
pub fn ask<R: Runtime>(app: &AppHandle<R>, ask: Ask) -> Result<Vec<SecretString>, Error> {
    #[cfg(test)]
    let answer = {
        let _ = app;
        tests::answer(&ask)
    };
    #[cfg(not(test))]
    let answer = platform::ask(app, &ask);
    // What reading the fields left in this worker's stack.
    token_wallet_core::crypto::scrub_stack();
    answer?.ok_or(Error::Cancelled)
}

/// Core's rule for a new passphrase, and the two entries agreeing: `Err` says what is
/// wrong, in the dialog's words.
pub fn check_new(new: &str, again: &str) -> Result<(), String> {
    let min = token_wallet_core::ops::MIN_NEW_PASSPHRASE_CHARS;
    if new.chars().count() < min {
        return Err(format!("Use at least {min} characters."));
    }
    if new != again {
        return Err("The two passphrases do not match.".into());
    }
    Ok(())
}

/// The hint under a new passphrase: its strength, and whether the confirmation matches.
/// (The system dialogs of Windows and macOS show no live text.)
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn hint(new: &str, again: &str) -> String {
    let min = token_wallet_core::ops::MIN_NEW_PASSPHRASE_CHARS;
    let s = crate::strength::rate(new, min);
    let mut h = match (s.label, s.advice.as_str()) {
        ("", _) => String::new(),
        (l, "") => format!("Strength: {l}."),
        (l, a) => format!("Strength: {l}. {a}"),
    };
    if !again.is_empty() {
        h.push_str(if new == again {
            "\nThe passphrases match."
        } else {
            "\nThe passphrases do not match yet."
        });
    }
    h
}

/// Where the system's dialog takes one field at a time (Windows, macOS): asks each field
/// with `one` (given the intro and the field's label), then holds a new passphrase to
/// [`check_new`]. `None` when the person cancels any of them.
#[cfg(all(any(windows, target_os = "macos"), not(test)))]
fn field_by_field(
    ask: &Ask,
    mut one: impl FnMut(&str) -> Result<Option<SecretString>, Error>,
) -> Result<Option<Vec<SecretString>>, Error> {
    use secrecy::ExposeSecret;
    let mut out = Vec::new();
    for f in &ask.fields {
        match one(&format!("{}\n\n{}", ask.intro, f.label().replace('_', "")))? {
            Some(s) => out.push(s),
            None => return Ok(None),
        }
    }
    let pos = |k: fn(&Field) -> bool| ask.fields.iter().position(k);
    if let (Some(n), Some(a)) = (
        pos(|f| matches!(f, Field::NewPassphrase(_))),
        pos(|f| matches!(f, Field::Confirm(_))),
    ) {
        check_new(out[n].expose_secret(), out[a].expose_secret()).map_err(Error::Invalid)?;
    }
    Ok(Some(out))
}

#[cfg(all(target_os = "linux", not(test)))]
mod platform {
    use super::{check_new, hint, Ask, Field};
    use crate::error::Error;
    use gtk::prelude::*;
    use secrecy::{ExposeSecret, SecretString};
    use std::sync::mpsc;
    use tauri::{AppHandle, Manager, Runtime};

    /// Copies an entry's text out once (GTK lends its own buffer; the copy is a
    /// `SecretString`). The caller scrubs the stack after.
    #[inline(never)]
    fn read(e: &gtk::Entry) -> SecretString {
        SecretString::from(e.text().as_str().to_owned())
    }

    pub fn ask<R: Runtime>(
        app: &AppHandle<R>,
        ask: &Ask,
    ) -> Result<Option<Vec<SecretString>>, Error> {
        let window = app
            .get_webview_window("main")
            .ok_or_else(|| Error::Internal("no main window".into()))?;
        let (tx, rx) = mpsc::channel();
        let ask = ask.clone();
        app.run_on_main_thread(move || match window.gtk_window() {
            Ok(parent) => show(&parent, &ask, tx),
            Err(e) => tracing::error!(error = %e, "no window for the passphrase dialog"),
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        rx.recv()
            .map_err(|_| Error::Internal("the passphrase dialog went away".into()))
    }

    fn show(
        parent: &gtk::ApplicationWindow,
        ask: &Ask,
        tx: mpsc::Sender<Option<Vec<SecretString>>>,
    ) {
        let d = gtk::Dialog::with_buttons(
            Some(ask.title),
            Some(parent),
            gtk::DialogFlags::MODAL | gtk::DialogFlags::DESTROY_WITH_PARENT,
            &[
                ("Cancel", gtk::ResponseType::Cancel),
                (ask.accept, gtk::ResponseType::Accept),
            ],
        );
        d.set_default_response(gtk::ResponseType::Accept);
        d.set_resizable(false);
        let area = d.content_area();
        area.set_spacing(6);
        area.set_margin_start(18);
        area.set_margin_end(18);
        area.set_margin_top(12);
        area.set_margin_bottom(12);
        let intro = gtk::Label::new(Some(&ask.intro));
        intro.set_line_wrap(true);
        intro.set_max_width_chars(48);
        intro.set_xalign(0.0);
        area.add(&intro);
        let entries: Vec<(Field, gtk::Entry)> = ask
            .fields
            .iter()
            .map(|f| {
                let label = gtk::Label::with_mnemonic(f.label());
                label.set_xalign(0.0);
                label.set_margin_top(6);
                let e = gtk::Entry::new();
                e.set_visibility(false);
                e.set_input_purpose(gtk::InputPurpose::Password);
                e.set_width_chars(36);
                label.set_mnemonic_widget(Some(&e));
                area.add(&label);
                area.add(&e);
                (*f, e)
            })
            .collect();
        let hint_label = gtk::Label::new(None);
        hint_label.set_xalign(0.0);
        hint_label.set_line_wrap(true);
        hint_label.set_max_width_chars(48);
        area.add(&hint_label);
        let new = entries
            .iter()
            .find(|(f, _)| matches!(f, Field::NewPassphrase(_)))
            .map(|(_, e)| e.clone());
        let again = entries
            .iter()
            .find(|(f, _)| matches!(f, Field::Confirm(_)))
            .map(|(_, e)| e.clone());
        let ok = d.widget_for_response(gtk::ResponseType::Accept);
        if let (Some(new), Some(again), Some(ok)) = (new, again, ok) {
            ok.set_sensitive(false);
            let update = {
                let (new, again, hint_label, ok) =
                    (new.clone(), again.clone(), hint_label.clone(), ok.clone());
                move || {
                    let (n, a) = (read(&new), read(&again));
                    hint_label.set_text(&hint(n.expose_secret(), a.expose_secret()));
                    ok.set_sensitive(check_new(n.expose_secret(), a.expose_secret()).is_ok());
                    drop((n, a));
                    token_wallet_core::crypto::scrub_stack();
                }
            };
            let u = update.clone();
            new.connect_changed(move |_| u());
            again.connect_changed(move |_| update());
        }
        // Enter in a field answers at once, as the default button would if it may: GTK 3
        // activating that button from the keyboard first shows it pressed for 250 ms.
        let accept = d.widget_for_response(gtk::ResponseType::Accept);
        for (_, e) in &entries {
            let (d, accept) = (d.downgrade(), accept.clone());
            e.connect_activate(move |_| {
                if let Some(d) = d.upgrade() {
                    if accept.as_ref().is_none_or(|b| b.is_sensitive()) {
                        d.response(gtk::ResponseType::Accept);
                    }
                }
            });
        }
        let tx = std::cell::RefCell::new(Some(tx));
        d.connect_response(move |d, r| {
            // One answer per dialog (closing it answers again).
            let Some(tx) = tx.borrow_mut().take() else {
                return;
            };
            let out = (r == gtk::ResponseType::Accept)
                .then(|| entries.iter().map(|(_, e)| read(e)).collect::<Vec<_>>());
            for (_, e) in &entries {
                e.set_text("");
            }
            token_wallet_core::crypto::scrub_stack();
            let _ = tx.send(out);
            // Hidden, its entries empty; GTK frees it with the main window.
            d.hide();
        });
        d.show_all();
        if let Some(first) = d
            .content_area()
            .children()
            .into_iter()
            .find_map(|w| w.downcast::<gtk::Entry>().ok())
        {
            first.grab_focus();
        }
        d.present();
    }
}

#[cfg(target_os = "macos")]
#[cfg(not(test))]
mod platform {
    use super::Ask;
    use crate::error::Error;
    use secrecy::SecretString;
    use tauri::{AppHandle, Runtime};

    /// One field through the system's dialog with a hidden answer; `None` when cancelled.
    fn one(title: &str, text: &str, accept: &str) -> Result<Option<SecretString>, Error> {
        let script = "on run argv\n display dialog (item 2 of argv) with title (item 1 of argv) default answer \"\" with hidden answer buttons {\"Cancel\", (item 3 of argv)} default button 2 cancel button 1\n return text returned of result\nend run";
        let o = std::process::Command::new("/usr/bin/osascript")
            .args(["-e", script, title, text, accept])
            .stderr(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::Internal(format!("the passphrase dialog: {e}")))?;
        if !o.status.success() {
            return Ok(None);
        }
        let mut s = zeroize::Zeroizing::new(o.stdout);
        while s.last() == Some(&b'\n') {
            s.pop();
        }
        Ok(Some(SecretString::from(
            String::from_utf8_lossy(&s).into_owned(),
        )))
    }

    pub fn ask<R: Runtime>(
        _app: &AppHandle<R>,
        ask: &Ask,
    ) -> Result<Option<Vec<SecretString>>, Error> {
        super::field_by_field(ask, |text| one(ask.title, text, ask.accept))
    }
}

#[cfg(windows)]
#[cfg(not(test))]
mod platform {
    use super::Ask;
    use crate::error::Error;
    use secrecy::SecretString;
    use tauri::{AppHandle, Runtime};

    pub fn ask<R: Runtime>(
        _app: &AppHandle<R>,
        ask: &Ask,
    ) -> Result<Option<Vec<SecretString>>, Error> {
        super::field_by_field(ask, |text| {
            token_wallet_harden::win32::prompt_secret(ask.title, text)
                .map(|s| s.map(SecretString::from))
                .map_err(Error::Internal)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::Ask;
    use crate::error::Error;
    use secrecy::SecretString;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// The answers the unit tests give the next dialogs (`None`: cancelled), in order.
    static ANSWERS: Mutex<VecDeque<Option<Vec<String>>>> = Mutex::new(VecDeque::new());
    /// Held by a test that answers dialogs, so tests running at once do not take each
    /// other's answers.
    static EXCLUSIVE: Mutex<()> = Mutex::new(());

    /// The dialogs are this test's until the guard goes.
    pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
        let g = EXCLUSIVE.lock().unwrap_or_else(|p| p.into_inner());
        ANSWERS.lock().unwrap().clear();
        g
    }

    /// Queues what the next dialog answers.
    pub fn will_answer(a: Option<&[&str]>) {
        ANSWERS
            .lock()
            .unwrap()
            .push_back(a.map(|v| v.iter().map(|s| s.to_string()).collect()));
    }

    pub(super) fn answer(ask: &Ask) -> Result<Option<Vec<SecretString>>, Error> {
        let a = ANSWERS
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| panic!("no answer queued for the dialog “{}”", ask.title));
        Ok(a.map(|a| {
            assert_eq!(a.len(), ask.fields.len(), "answers for “{}”", ask.title);
            a.into_iter().map(SecretString::from).collect()
        }))
    }

    #[test]
    fn a_new_passphrase_must_be_long_enough_and_typed_twice_alike() {
        assert!(super::check_new("short", "short").is_err());
        assert!(super::check_new("long enough one", "long enough two").is_err());
        assert!(super::check_new("long enough one", "long enough one").is_ok());
        assert!(super::hint(
            "correct horse battery staple",
            "correct horse battery staple"
        )
        .contains("Strong"));
        assert!(super::hint("correct horse battery staple", "x").contains("do not match"));
    }
}
