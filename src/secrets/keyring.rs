//! The operating system's keyring: on Linux the Secret Service (GNOME Keyring, KWallet, KeePassXC) on
//! the session bus, on macOS the login Keychain. Items are generic passwords of service `modelauth`,
//! account = the profile id (Secret Service attributes `service`/`account`, plus `application`).
//!
//! A locked collection is reported, never unlocked: an unlock prompt has no one to answer it in a
//! daemon, and waiting for one would hang the request.

use super::vault::VaultError;
use crate::store::Secret;

/// The service name every item of modelauth carries.
pub const SERVICE: &str = "modelauth";
/// How errors name this store.
const STORE: &str = "the OS keyring";

fn unavailable(why: impl Into<String>) -> VaultError {
    VaultError::Unavailable {
        store: STORE,
        why: why.into(),
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::HashMap;

    use secret_service::EncryptionType;
    use secret_service::blocking::{Collection, SecretService};

    use super::{SERVICE, STORE, unavailable};
    use crate::secrets::vault::VaultError;
    use crate::store::Secret;

    const LOCKED: &str = "its collection is locked: unlock it (log in to the desktop session, or \
                          `gnome-keyring-daemon --unlock` with the keyring's password on stdin) and \
                          try again";

    fn attributes(account: &str) -> HashMap<&str, &str> {
        HashMap::from([
            ("service", SERVICE),
            ("account", account),
            ("application", SERVICE),
        ])
    }

    fn failed(account: &str, e: secret_service::Error) -> VaultError {
        match e {
            secret_service::Error::Locked => unavailable(LOCKED),
            secret_service::Error::Unavailable => unavailable(NO_BUS),
            other => VaultError::Failed {
                store: STORE,
                name: account.to_owned(),
                why: other.to_string(),
            },
        }
    }

    const NO_BUS: &str = "no Secret Service on the session bus (is DBUS_SESSION_BUS_ADDRESS set, \
                          and a keyring daemon such as gnome-keyring-daemon running?); on a server \
                          without a desktop session use --to systemd";

    fn connect() -> Result<SecretService<'static>, VaultError> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
            && std::env::var_os("XDG_RUNTIME_DIR").is_none()
        {
            return Err(unavailable(NO_BUS));
        }
        SecretService::connect(EncryptionType::Dh).map_err(|e| match e {
            secret_service::Error::Zbus(z) => unavailable(format!("{NO_BUS} ({z})")),
            other => failed("", other),
        })
    }

    /// The process's connection to the Secret Service (its session negotiated once: a new one costs
    /// milliseconds, a call on it a D-Bus round trip). One caller at a time.
    static SERVICE_CONN: std::sync::Mutex<Option<SecretService<'static>>> =
        std::sync::Mutex::new(None);

    /// Runs `call` on the shared connection within the keyring's time bound
    /// (`MODELAUTH_KEYRING_TIMEOUT`, default 10 s): a daemon that does not answer (hung, or holding
    /// the call for a prompt) is an error naming it, and the caller goes on; the call itself ends on a
    /// thread of its own whenever the daemon answers.
    fn with_service<T: Send + 'static>(
        call: impl Fn(&SecretService<'static>) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, VaultError> {
        let limit = std::env::var("MODELAUTH_KEYRING_TIMEOUT")
            .ok()
            .and_then(|t| humantime::parse_duration(&t).ok())
            .unwrap_or(std::time::Duration::from_secs(10));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(on_connection(call));
        });
        rx.recv_timeout(limit).unwrap_or_else(|_| {
            Err(unavailable(format!(
                "it did not answer within {} (is its daemon hung, or waiting for an unlock prompt?)",
                humantime::format_duration(limit)
            )))
        })
    }

    /// Runs `call` on the shared connection, connecting first when there is none; a call that fails
    /// on a connection that went away (the daemon restarted) runs once more on a new one.
    fn on_connection<T>(
        call: impl Fn(&SecretService<'static>) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let mut slot = SERVICE_CONN.lock().unwrap_or_else(|p| p.into_inner());
        let reused = slot.is_some();
        if slot.is_none() {
            *slot = Some(connect()?);
        }
        let result = call(slot.as_ref().expect("connected above"));
        match result {
            Err(VaultError::Failed { .. }) if reused => {
                *slot = Some(connect()?);
                call(slot.as_ref().expect("connected above"))
            }
            other => other,
        }
    }

    /// The secret of `account`, `Ok(None)` when the keyring has none.
    pub fn read(account: &str) -> Result<Option<Secret>, VaultError> {
        let account = account.to_owned();
        with_service(move |ss| read_on(ss, &account))
    }

    fn read_on(ss: &SecretService<'static>, account: &str) -> Result<Option<Secret>, VaultError> {
        let found = ss
            .search_items(attributes(account))
            .map_err(|e| failed(account, e))?;
        let Some(item) = found.unlocked.first() else {
            return match found.locked.is_empty() {
                true => Ok(None),
                false => Err(unavailable(LOCKED)),
            };
        };
        let bytes = zeroize::Zeroizing::new(item.get_secret().map_err(|e| failed(account, e))?);
        let text = std::str::from_utf8(&bytes).map_err(|_| VaultError::Failed {
            store: STORE,
            name: account.to_owned(),
            why: "the item's secret is not UTF-8 text".into(),
        })?;
        Ok(Some(Secret::new(text)))
    }

    fn default_collection<'a>(ss: &'a SecretService<'a>) -> Result<Collection<'a>, VaultError> {
        let c = ss.get_default_collection().map_err(|e| match e {
            secret_service::Error::NoResult | secret_service::Error::ZbusFdo(_) => unavailable(
                "the keyring has no default collection: create one (e.g. with seahorse, or \
                 by unlocking gnome-keyring-daemon once with a password)",
            ),
            other => failed("", other),
        })?;
        if c.is_locked().map_err(|e| failed("", e))? {
            return Err(unavailable(LOCKED));
        }
        Ok(c)
    }

    /// Stores `secret` for `account` in the default collection, replacing an older one.
    pub fn write(account: &str, secret: &Secret) -> Result<(), VaultError> {
        let (account, secret) = (account.to_owned(), secret.clone());
        with_service(move |ss| write_on(ss, &account, &secret))
    }

    fn write_on(
        ss: &SecretService<'static>,
        account: &str,
        secret: &Secret,
    ) -> Result<(), VaultError> {
        let collection = default_collection(ss)?;
        let label = format!("modelauth: {account}");
        collection
            .create_item(
                &label,
                attributes(account),
                secret.expose_secret().as_bytes(),
                true,
                "text/plain",
            )
            .map_err(|e| failed(account, e))?;
        Ok(())
    }

    /// Removes the item of `account`; false when there was none.
    pub fn delete(account: &str) -> Result<bool, VaultError> {
        let account = account.to_owned();
        with_service(move |ss| delete_on(ss, &account))
    }

    fn delete_on(ss: &SecretService<'static>, account: &str) -> Result<bool, VaultError> {
        let found = ss
            .search_items(attributes(account))
            .map_err(|e| failed(account, e))?;
        if !found.locked.is_empty() {
            return Err(unavailable(LOCKED));
        }
        for item in &found.unlocked {
            item.delete().map_err(|e| failed(account, e))?;
        }
        Ok(!found.unlocked.is_empty())
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use security_framework::passwords;

    use super::{SERVICE, STORE, unavailable};
    use crate::secrets::vault::VaultError;
    use crate::store::Secret;

    const NOT_FOUND: i32 = -25300;
    const INTERACTION_NOT_ALLOWED: i32 = -25308;

    fn failed(account: &str, e: security_framework::base::Error) -> VaultError {
        if e.code() == INTERACTION_NOT_ALLOWED {
            return unavailable("the login Keychain is locked: unlock it and try again");
        }
        VaultError::Failed {
            store: STORE,
            name: account.to_owned(),
            why: e.message().unwrap_or_else(|| format!("error {}", e.code())),
        }
    }

    /// The secret of `account`, `Ok(None)` when the Keychain has none.
    pub fn read(account: &str) -> Result<Option<Secret>, VaultError> {
        match passwords::get_generic_password(SERVICE, account) {
            Ok(bytes) => {
                let bytes = zeroize::Zeroizing::new(bytes);
                match std::str::from_utf8(&bytes) {
                    Ok(t) => Ok(Some(Secret::new(t))),
                    Err(_) => Err(VaultError::Failed {
                        store: STORE,
                        name: account.to_owned(),
                        why: "the item's secret is not UTF-8 text".into(),
                    }),
                }
            }
            Err(e) if e.code() == NOT_FOUND => Ok(None),
            Err(e) => Err(failed(account, e)),
        }
    }

    /// Stores `secret` for `account`, replacing an older one.
    pub fn write(account: &str, secret: &Secret) -> Result<(), VaultError> {
        passwords::set_generic_password(SERVICE, account, secret.expose_secret().as_bytes())
            .map_err(|e| failed(account, e))
    }

    /// Removes the item of `account`; false when there was none.
    pub fn delete(account: &str) -> Result<bool, VaultError> {
        match passwords::delete_generic_password(SERVICE, account) {
            Ok(()) => Ok(true),
            Err(e) if e.code() == NOT_FOUND => Ok(false),
            Err(e) => Err(failed(account, e)),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    use super::unavailable;
    use crate::secrets::vault::VaultError;
    use crate::store::Secret;

    const NONE: &str = "this system has no keyring modelauth can use (Linux Secret Service, macOS \
                        Keychain); use --to file or an exec provider";

    pub fn read(_: &str) -> Result<Option<Secret>, VaultError> {
        Err(unavailable(NONE))
    }
    pub fn write(_: &str, _: &Secret) -> Result<(), VaultError> {
        Err(unavailable(NONE))
    }
    pub fn delete(_: &str) -> Result<bool, VaultError> {
        Err(unavailable(NONE))
    }
}

/// The secret of `account` in the keyring; `Ok(None)` when it holds none.
pub fn read(account: &str) -> Result<Option<Secret>, VaultError> {
    imp::read(account)
}

/// Stores `secret` for `account` in the keyring, replacing an older one.
pub fn write(account: &str, secret: &Secret) -> Result<(), VaultError> {
    imp::write(account, secret)
}

/// Removes the keyring item of `account`; false when there was none.
pub fn delete(account: &str) -> Result<bool, VaultError> {
    imp::delete(account)
}
